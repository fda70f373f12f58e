/**
 * The charge point clock policy (docs/clocks.md): which charge point timestamps VoltLedger trusts,
 * when it corrects or clamps them, and when it holds a session for review instead of billing it.
 *
 * Pure: no I/O, no clock. Every rule compares a timestamp a charge point wrote with the server time
 * the message was received at (the injected Clock); BootNotification.conf and Heartbeat.conf carry
 * the server's time, so a charge point that follows OCPP 1.6 is in sync after either.
 *
 * - offset = reported - received. A message can be late (queued offline), never early: an offset
 *   beyond +tolerance is a fast clock, measured exactly by that message (minus network latency).
 * - Fast (tolerance < offset <= maxAheadMs): corrected = reported - offset (the receive time for
 *   the message's own timestamp; meter samples of the message shift by the same skew).
 * - Implausible (before the floor, or ahead by more than maxAheadMs): the receive time stands in,
 *   and a transaction timestamp holds the session for review (pricing refuses it, published).
 * - In the past (offset < -tolerance): a queued message or a slow clock; trusted, except that a
 *   session whose start lies before its receipt with no evidence in between, and whose later
 *   messages are live, is billed from the start's receipt (`start-time-unverified`).
 */
import { OcppCallError } from './framing.ts';

export const CLOCK_POLICY = {
  /** Network latency and clock jitter: offsets within this are "in sync". */
  toleranceMs: 60_000,
  /** Nothing a charge point did for VoltLedger happened before this (dead real-time clocks say 1970 or 2000). */
  floor: '2010-01-01T00:00:00.000Z',
  /** A clock ahead by more than this is not a skew to correct but a broken clock (2099). */
  maxAheadMs: 24 * 3600_000,
  /** A session longer than this (after correction) is absurd: held for review, never priced. */
  maxSessionMs: 7 * 24 * 3600_000,
} as const;
export type ClockPolicy = typeof CLOCK_POLICY;

const LEAP_SECOND = /^(\d{4}-\d{2}-\d{2}T23:59:)60(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Parses an OCPP date-time to normalized UTC ISO (the form keys and comparisons use). A leap second
 * (`23:59:60`, valid RFC 3339 that JavaScript's Date cannot read) becomes 23:59:59.999 of the same
 * day, `leapSecond` true. Throws a FormationViolation (never an InternalError) when unreadable.
 */
export function parseOcppTimestamp(text: string): { at: string; leapSecond: boolean } {
  const leap = LEAP_SECOND.exec(text);
  const readable = leap ? `${leap[1]}59.999${leap[3]}` : text;
  const ms = Date.parse(readable);
  if (Number.isNaN(ms)) throw new OcppCallError('FormationViolation', `timestamp ${JSON.stringify(text)} is not a readable date-time`);
  return { at: new Date(ms).toISOString(), leapSecond: leap !== null };
}

export type TimestampRule = 'in-sync' | 'ahead-corrected' | 'delayed' | 'before-floor' | 'far-future';

/** What the policy made of one timestamp: kept on the session (and the status) for the record. */
export interface JudgedTimestamp {
  /** As the charge point sent it. */
  reported: string;
  /** Server time of receipt. */
  receivedAt: string;
  /** reported - receivedAt, ms (positive: the charge point's clock is ahead). */
  offsetMs: number;
  /** What VoltLedger uses (pricing, completion). */
  corrected: string;
  rule: TimestampRule;
  /** The skew this message measured (the offset of a fast clock; 0 otherwise): its samples shift by it. */
  skewMs: number;
  leapSecond: boolean;
  /** True when the timestamp cannot be billed on (before the floor, or far in the future). */
  implausible: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function judgeTimestamp(reported: string, receivedAt: string, policy: ClockPolicy = CLOCK_POLICY): JudgedTimestamp {
  const { at, leapSecond } = parseOcppTimestamp(reported);
  const atMs = Date.parse(at);
  const receivedMs = Date.parse(receivedAt);
  const offsetMs = atMs - receivedMs;
  const base = { reported, receivedAt, offsetMs, leapSecond };
  if (at < policy.floor) return { ...base, corrected: receivedAt, rule: 'before-floor', skewMs: 0, implausible: true };
  if (offsetMs > policy.maxAheadMs) return { ...base, corrected: receivedAt, rule: 'far-future', skewMs: 0, implausible: true };
  if (offsetMs > policy.toleranceMs) return { ...base, corrected: iso(atMs - offsetMs), rule: 'ahead-corrected', skewMs: offsetMs, implausible: false };
  if (offsetMs < -policy.toleranceMs) return { ...base, corrected: at, rule: 'delayed', skewMs: 0, implausible: false };
  // In sync: never later than the receipt.
  return { ...base, corrected: atMs > receivedMs ? receivedAt : at, rule: 'in-sync', skewMs: 0, implausible: false };
}

/**
 * A timestamp inside a message (a meter sample) shifted by the skew that message measured, never
 * later than the receipt and never before the floor (then the receipt stands in).
 */
export function correctWithSkew(reported: string, skewMs: number, receivedAt: string, policy: ClockPolicy = CLOCK_POLICY): { at: string; leapSecond: boolean; changed: boolean } {
  const { at, leapSecond } = parseOcppTimestamp(reported);
  let ms = Date.parse(at) - skewMs;
  const receivedMs = Date.parse(receivedAt);
  if (ms > receivedMs + policy.toleranceMs || iso(ms) < policy.floor) ms = receivedMs;
  else if (ms > receivedMs) ms = receivedMs;
  const corrected = iso(ms);
  return { at: corrected, leapSecond, changed: corrected !== at };
}

/** The flags a judged timestamp puts on a session or a status (`<what>` names the message). */
export function flagsFor(what: string, judged: JudgedTimestamp): string[] {
  const flags: string[] = [];
  if (judged.leapSecond) flags.push(`clock:${what}-leap-second`);
  if (judged.rule === 'ahead-corrected') flags.push(`clock:${what}-ahead-corrected`);
  if (judged.rule === 'before-floor' || judged.rule === 'far-future') flags.push(`clock:${what}-${judged.rule}`);
  return flags;
}

/** The charge point's clock as last measured (kept on the charge point record in the Registry). */
export interface ClockMeasurement {
  /** reported - received of the latest timestamped message, ms. */
  offsetMs: number;
  /** in-sync, ahead (fast clock, exact), behind-or-delayed (slow clock or queued: ambiguous), implausible. */
  state: 'in-sync' | 'ahead' | 'behind-or-delayed' | 'implausible';
  measuredAt: string;
  measuredBy: string;
  reported: string;
}

export function measurementOf(judged: JudgedTimestamp, measuredBy: string): ClockMeasurement {
  const state =
    judged.implausible ? 'implausible' : judged.rule === 'ahead-corrected' ? 'ahead' : judged.rule === 'delayed' ? 'behind-or-delayed' : 'in-sync';
  return { offsetMs: judged.offsetMs, state, measuredAt: judged.receivedAt, measuredBy, reported: judged.reported };
}

/** What the clock policy recorded on a session: each transaction timestamp judged, and a review hold. */
export interface SessionClock {
  start?: JudgedTimestamp;
  stop?: JudgedTimestamp;
  /** Why the session is held for review instead of priced (pricing publishes SessionPricingFailed with it). */
  review?: string;
  /** What was done, in words, for the session view. */
  notes: string[];
}

/**
 * The billed start and stop of a session, decided once the stop is in (all evidence stored):
 * - a timestamp judged implausible, or a duration over maxSessionMs, holds the session for review;
 * - a start reported before its receipt (beyond the tolerance) with no meter sample between the two,
 *   on a session whose stop is live (at or after the start's receipt), is billed from the receipt:
 *   the server cannot vouch for that time (a slow clock, corrected by a later sync);
 * - a stop before the start (a clock corrected backwards in between): both from their receive times.
 */
export function decideSessionTimes(
  input: { start: JudgedTimestamp; stop: JudgedTimestamp; sampleTimes: string[] },
  policy: ClockPolicy = CLOCK_POLICY,
): { startedAt: string; stoppedAt: string; flags: string[]; notes: string[]; review?: string } {
  const { start, stop } = input;
  const flags: string[] = [];
  const notes: string[] = [];
  let startedAt = start.corrected;
  let stoppedAt = stop.corrected;
  const startReceivedMs = Date.parse(start.receivedAt);
  if (start.rule === 'delayed' && !start.implausible && Date.parse(stoppedAt) >= startReceivedMs - policy.toleranceMs) {
    const evidence = input.sampleTimes.some((t) => t > start.corrected && Date.parse(t) < startReceivedMs - policy.toleranceMs);
    if (!evidence) {
      startedAt = start.receivedAt;
      flags.push('clock:start-time-unverified');
      notes.push(
        `StartTransaction was stamped ${start.reported} but received ${start.receivedAt}, with no meter reading in between while the stop is live: billed from the receipt`,
      );
    }
  }
  if (stoppedAt < startedAt) {
    flags.push('clock:stop-before-start');
    notes.push(`the stop (${stoppedAt}) is before the start (${startedAt}): the clock was corrected backwards; both are taken from their receive times`);
    startedAt = start.receivedAt;
    stoppedAt = stop.receivedAt;
  }
  let review: string | undefined;
  if (start.implausible || stop.implausible) {
    const which = start.implausible ? `StartTransaction timestamp ${start.reported}` : `StopTransaction timestamp ${stop.reported}`;
    review = `clock: ${which} is implausible (${(start.implausible ? start : stop).rule}); held for review`;
  } else if (Date.parse(stoppedAt) - Date.parse(startedAt) > policy.maxSessionMs) {
    review = `clock: the session lasts ${Math.round((Date.parse(stoppedAt) - Date.parse(startedAt)) / 3600_000)} h (over ${policy.maxSessionMs / 3600_000} h); held for review`;
  }
  if (review) {
    flags.push('clock:held-for-review');
    notes.push(review);
  }
  return { startedAt, stoppedAt, flags, notes, ...(review ? { review } : {}) };
}

/**
 * A StatusNotification's timestamp: a future one (beyond the tolerance) or one before the floor
 * becomes the receive time, so a status can never complete a later session with a time in the future.
 */
export function judgeStatusTime(reported: string | undefined, receivedAt: string, policy: ClockPolicy = CLOCK_POLICY): { timestamp: string; judged?: JudgedTimestamp; flags: string[] } {
  if (reported === undefined) return { timestamp: receivedAt, flags: [] };
  const judged = judgeTimestamp(reported, receivedAt, policy);
  return { timestamp: judged.corrected, judged, flags: flagsFor('status', judged) };
}
