// Shifts this process's wall clock (and its children's) so tests can prove they pass on any date.
//
//   VOLTLEDGER_SHIFT_DATE=2027-02-28T23:59:57Z node --import ./test/support/shift-date.mjs ...
//
// `Date.now()` and `new Date()` start at that instant when the first process loads this file and
// run at real speed from there. The offset is handed to child processes (vitest's workers, the
// stack's dynalite, the simulator) through VOLTLEDGER_SHIFT_OFFSET_MS, so a whole process tree
// shares one timeline. Dates built from a value (`new Date(ms)`, `Date.parse`) are untouched, and
// so are the monotonic timers (performance.now, setTimeout). Not loaded unless asked for.
const target = process.env.VOLTLEDGER_SHIFT_DATE;
if (target) {
  const RealDate = globalThis.Date;
  const inherited = process.env.VOLTLEDGER_SHIFT_OFFSET_MS;
  let offset;
  if (inherited !== undefined && inherited !== '') {
    offset = Number(inherited);
  } else {
    const wanted = RealDate.parse(target);
    if (Number.isNaN(wanted)) throw new RangeError(`VOLTLEDGER_SHIFT_DATE is not an instant: ${target}`);
    offset = wanted - RealDate.now();
    process.env.VOLTLEDGER_SHIFT_OFFSET_MS = String(offset);
  }
  if (!Number.isFinite(offset)) throw new RangeError(`VOLTLEDGER_SHIFT_OFFSET_MS is not a number: ${inherited}`);

  function ShiftedDate(...args) {
    if (!new.target) return new RealDate(RealDate.now() + offset).toString();
    const date = args.length === 0 ? new RealDate(RealDate.now() + offset) : new RealDate(...args);
    // `class X extends Date` (and Reflect.construct) keep their own prototype.
    if (new.target !== ShiftedDate) Object.setPrototypeOf(date, new.target.prototype);
    return date;
  }
  ShiftedDate.prototype = RealDate.prototype;
  Object.setPrototypeOf(ShiftedDate, RealDate);
  ShiftedDate.now = () => RealDate.now() + offset;
  ShiftedDate.parse = RealDate.parse;
  ShiftedDate.UTC = RealDate.UTC;
  Object.defineProperty(ShiftedDate, 'name', { value: 'Date' });
  globalThis.Date = ShiftedDate;
}
