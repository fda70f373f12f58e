import { ValidationError } from './errors.ts';

/**
 * Local wall time in an IANA time zone, DST included, from the platform's Intl data (no
 * dependency). Offsets are cached per zone and UTC day: a day whose offset is the same at both
 * ends is taken as uniform; otherwise its one transition instant is found by bisection and kept.
 * This assumes at most one offset change per UTC day, true of every zone's rules in use today.
 */

export const MS_PER_MINUTE = 60_000;
export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;

interface DayOffsets {
  /** Offset (local minus UTC, ms) at the start of the UTC day. */
  start: number;
  /** Offset from `transitionAt` on; equals `start` when the day has no transition. */
  end: number;
  transitionAt: number | null;
}

interface ZoneCache {
  format: Intl.DateTimeFormat;
  days: Map<number, DayOffsets>;
}

const zones = new Map<string, ZoneCache>();

function zoneCache(timeZone: string): ZoneCache {
  let cache = zones.get(timeZone);
  if (!cache) {
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch (error) {
      throw new ValidationError(`unknown time zone "${timeZone}" (expected an IANA name such as Europe/Berlin)`, 'timeZone', { cause: error });
    }
    cache = { format, days: new Map() };
    zones.set(timeZone, cache);
  }
  return cache;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The number in `text[from, from + count)` if those are all ASCII digits, else -1. */
function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const code = text.charCodeAt(i) - 48;
    if (code < 0 || code > 9) return -1;
    value = value * 10 + code;
  }
  return value;
}

/**
 * Milliseconds since the epoch of an RFC 3339 date-time, `YYYY-MM-DDTHH:MM:SS[.fraction][Z|+hh:mm]`
 * (OCPP and OCPI timestamps; without a zone designator it is UTC, as OCPI says), or null when the
 * text is not one or names no real date. Hand-written: it runs once per meter sample.
 */
export function instantOf(text: string): number | null {
  if (typeof text !== 'string' || text.length < 19) return null;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return null;
  if (text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') return null;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && !leap ? 28 : DAYS_IN_MONTH[month - 1]!)) return null;
  let at = 19;
  let millis = 0;
  if (text[at] === '.') {
    let digits = 0;
    at++;
    while (at < text.length && text.charCodeAt(at) >= 48 && text.charCodeAt(at) <= 57) {
      if (digits < 3) millis = millis * 10 + (text.charCodeAt(at) - 48);
      digits++;
      at++;
    }
    if (digits === 0 || digits > 9) return null;
    for (let i = digits; i < 3; i++) millis *= 10;
  }
  let offsetMinutes = 0;
  if (at < text.length) {
    const sign = text[at];
    if ((sign === 'Z' || sign === 'z') && at + 1 === text.length) {
      // UTC
    } else if ((sign === '+' || sign === '-') && at + 6 === text.length && text[at + 3] === ':') {
      const hours = digitsAt(text, at + 1, 2);
      const minutes = digitsAt(text, at + 4, 2);
      if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return null;
      offsetMinutes = (sign === '-' ? -1 : 1) * (hours * 60 + minutes);
    } else {
      return null;
    }
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * MS_PER_MINUTE;
}

/** Throws ValidationError unless `timeZone` is an IANA zone this platform knows. */
export function assertTimeZone(timeZone: string): void {
  zoneCache(timeZone);
}

/** Whether `timeZone` is an IANA zone this runtime knows (such as Europe/Berlin). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

function slowOffset(format: Intl.DateTimeFormat, at: number): number {
  const fields: Record<string, number> = {};
  for (const part of format.formatToParts(at)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const wall = Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!);
  // formatToParts drops milliseconds; compare against the instant truncated to the second.
  return wall - Math.floor(at / 1000) * 1000;
}

function dayOffsets(cache: ZoneCache, day: number): DayOffsets {
  let offsets = cache.days.get(day);
  if (!offsets) {
    const from = day * MS_PER_DAY;
    const to = from + MS_PER_DAY;
    const start = slowOffset(cache.format, from);
    const end = slowOffset(cache.format, to);
    let transitionAt: number | null = null;
    if (start !== end) {
      // Bisection to the second: transitions happen on whole seconds.
      let low = from / 1000;
      let high = to / 1000;
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (slowOffset(cache.format, middle * 1000) === start) low = middle;
        else high = middle;
      }
      transitionAt = high * 1000;
    }
    offsets = { start, end, transitionAt };
    cache.days.set(day, offsets);
  }
  return offsets;
}

/** Offset of local time from UTC (ms) at instant `at` (ms since the epoch). */
export function offsetAt(timeZone: string, at: number): number {
  const offsets = dayOffsets(zoneCache(timeZone), Math.floor(at / MS_PER_DAY));
  return offsets.transitionAt !== null && at >= offsets.transitionAt ? offsets.end : offsets.start;
}

/** Local wall-clock time at `at`, as ms since 1970-01-01T00:00 local. */
export function wallTime(timeZone: string, at: number): number {
  return at + offsetAt(timeZone, at);
}

/** The instants in [from, to) at which the zone's UTC offset changes (DST transitions). */
export function transitionsBetween(timeZone: string, from: number, to: number): number[] {
  const cache = zoneCache(timeZone);
  const result: number[] = [];
  for (let day = Math.floor(from / MS_PER_DAY); day * MS_PER_DAY < to; day++) {
    const at = dayOffsets(cache, day).transitionAt;
    if (at !== null && at >= from && at < to) result.push(at);
  }
  return result;
}

/**
 * Every instant whose local wall time is exactly `wall`: none in a spring-forward gap, two in a
 * fall-back overlap, one otherwise.
 */
export function instantsAtWallTime(timeZone: string, wall: number): number[] {
  const candidates = new Set([offsetAt(timeZone, wall - MS_PER_DAY), offsetAt(timeZone, wall), offsetAt(timeZone, wall + MS_PER_DAY)]);
  const result: number[] = [];
  for (const offset of candidates) {
    const at = wall - offset;
    if (offsetAt(timeZone, at) === offset && !result.includes(at)) result.push(at);
  }
  return result.sort((a, b) => a - b);
}

/** Local day number (days since 1970-01-01 local) of a wall time. */
export function dayOfWall(wall: number): number {
  return Math.floor(wall / MS_PER_DAY);
}

/** 0 = Monday ... 6 = Sunday, the order of OCPI's DayOfWeek list. */
export function weekdayOfDay(day: number): number {
  // 1970-01-01 was a Thursday (3 in this numbering).
  return (((day + 3) % 7) + 7) % 7;
}

/** `YYYY-MM-DD` to its day number. */
export function dayOfDate(date: string): number {
  return Math.floor(Date.parse(`${date}T00:00:00Z`) / MS_PER_DAY);
}
