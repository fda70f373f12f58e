import { ValidationError } from '../../shared/errors.ts';
import { instantsAtWallTime, wallTime } from '../../shared/time-zone.ts';

/** A billing period: a calendar month, `YYYY-MM`. */
export type Period = string;

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** @throws ValidationError unless `text` is `YYYY-MM`. */
export function parsePeriod(text: string, field = 'period'): Period {
  if (!PERIOD.test(text)) throw new ValidationError(`${field} must be a month, YYYY-MM (got "${text}")`, field);
  return text;
}

/** The period an instant falls in, on the calendar of `timeZone`. */
export function periodOf(instant: string, timeZone: string): Period {
  const wall = new Date(wallTime(timeZone, Date.parse(instant)));
  return `${wall.getUTCFullYear()}-${String(wall.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** The local calendar date (`YYYY-MM-DD`) of an instant in `timeZone`. */
export function localDateOf(instant: string, timeZone: string): string {
  return new Date(wallTime(timeZone, Date.parse(instant))).toISOString().slice(0, 10);
}

export function nextPeriod(period: Period): Period {
  const [year, month] = period.split('-').map(Number) as [number, number];
  return month === 12 ? `${year + 1}-01` : `${year}-${String(month + 1).padStart(2, '0')}`;
}

/** The instant local midnight of the period's first day, in `timeZone` (the earlier one if DST repeats it). */
function startInstant(period: Period, timeZone: string): number {
  const [year, month] = period.split('-').map(Number) as [number, number];
  const wall = Date.UTC(year, month - 1, 1);
  const instants = instantsAtWallTime(timeZone, wall);
  // Midnight skipped by a DST change: the first instant after it.
  return instants[0] ?? instantsAtWallTime(timeZone, wall + 3_600_000)[0]! - 3_600_000;
}

/** `[start, end)` of a period as ISO instants in `timeZone`. */
export function periodBounds(period: Period, timeZone: string): { start: string; end: string } {
  return { start: new Date(startInstant(period, timeZone)).toISOString(), end: new Date(startInstant(nextPeriod(period), timeZone)).toISOString() };
}
