import { CLOCK_POLICY, correctWithSkew, decideSessionTimes, flagsFor, judgeTimestamp, type JudgedTimestamp, type SessionClock } from './clock-skew.ts';
import type { MeterSample, SessionRecord } from './model.ts';
import type { SessionPort, StartKey } from './ports.ts';

/**
 * The clock policy (clock-skew.ts, docs/clocks.md) applied to StartTransaction, MeterValues and
 * StopTransaction: what the session stores as its start and stop, its samples' times, and its flags.
 */

/** A retried StartTransaction arrives within this of the first (its answer was lost): the same session. */
export const START_RETRY_WINDOW_MS = 10 * 60_000;
/** How many sessions may share one (charge point, connector, idTag, timestamp) before a start is refused. */
const MAX_START_GENERATIONS = 1000;

/**
 * The StartTransaction de-duplication: a start is a retry of a stored one when it has the same key
 * (charge point, connector, idTag, reported timestamp) and the same meterStart, and the stored
 * session is still open or was created within START_RETRY_WINDOW_MS. Otherwise it is a new session
 * whose clock repeats an earlier one (a dead real-time clock after a reboot): it gets the next free
 * key generation, so a retry of it is idempotent too.
 */
export async function resolveStart(
  sessions: Pick<SessionPort, 'findStart' | 'getSession'>,
  base: StartKey,
  meterStart: number,
  now: string,
): Promise<{ key: StartKey; knownTransactionId?: number; stored?: SessionRecord }> {
  for (let generation = 0; generation < MAX_START_GENERATIONS; generation++) {
    const key: StartKey = generation === 0 ? base : { ...base, generation };
    const transactionId = await sessions.findStart(key);
    if (transactionId === undefined) return { key };
    const stored = await sessions.getSession(transactionId);
    // Claimed but not yet written: a concurrent or crashed first attempt; finish it.
    if (!stored) return { key, knownTransactionId: transactionId };
    if (isRetryOf(stored, meterStart, now)) return { key, knownTransactionId: transactionId, stored };
  }
  throw new Error(`more than ${MAX_START_GENERATIONS} sessions share the start key ${JSON.stringify(base)}`);
}

export function isRetryOf(stored: Pick<SessionRecord, 'meterStartWh' | 'state' | 'createdAt'>, meterStart: number, now: string): boolean {
  if (stored.meterStartWh !== meterStart) return false;
  return stored.state === 'started' || Date.parse(now) - Date.parse(stored.createdAt) <= START_RETRY_WINDOW_MS;
}

/** The start as the session stores it: the corrected time, the judgement, its flags and a review hold. */
export function startClock(reported: string, receivedAt: string): { startedAt: string; clock: SessionClock; flags: string[]; judged: JudgedTimestamp } {
  const judged = judgeTimestamp(reported, receivedAt);
  const notes: string[] = [];
  if (judged.rule === 'ahead-corrected') notes.push(`StartTransaction stamped ${reported}, ${Math.round(judged.offsetMs / 1000)} s ahead of its receipt: the clock is fast; corrected by that skew`);
  if (judged.implausible) notes.push(`StartTransaction stamped ${reported} (${judged.rule}): the receipt stands in, and the session is held for review`);
  if (judged.leapSecond) notes.push(`StartTransaction stamped with a leap second (${reported}): read as 23:59:59.999`);
  return {
    startedAt: judged.corrected,
    clock: { start: judged, notes, ...(judged.implausible ? { review: `clock: StartTransaction timestamp ${reported} is implausible (${judged.rule}); held for review` } : {}) },
    flags: [...flagsFor('start', judged), ...(judged.implausible ? ['clock:held-for-review'] : [])],
    judged,
  };
}

/**
 * The stop as the session stores it, decided with all the evidence in (the start's judgement, the
 * samples): the billed start and stop, the session's clock record, the new flags.
 */
export function stopClock(
  session: Pick<SessionRecord, 'startedAt' | 'createdAt' | 'clock' | 'flags'>,
  stop: JudgedTimestamp,
  sampleTimes: string[],
): { startedAt: string; stoppedAt: string; clock: SessionClock; flags: string[] } {
  // A session stored before the clock policy: its start as stored, judged against its creation.
  const start = session.clock?.start ?? judgeTimestamp(session.startedAt, session.createdAt);
  const decided = decideSessionTimes({ start, stop, sampleTimes });
  const notes = [...(session.clock?.notes ?? [])];
  if (stop.rule === 'ahead-corrected') notes.push(`StopTransaction stamped ${stop.reported}, ${Math.round(stop.offsetMs / 1000)} s ahead of its receipt: corrected by that skew`);
  if (stop.leapSecond) notes.push(`StopTransaction stamped with a leap second (${stop.reported}): read as 23:59:59.999`);
  for (const note of decided.notes) if (!notes.includes(note)) notes.push(note);
  const flags = [...flagsFor('stop', stop), ...decided.flags].filter((f) => !session.flags.includes(f));
  return {
    startedAt: decided.startedAt,
    stoppedAt: decided.stoppedAt,
    clock: { start, stop, notes, ...(decided.review ? { review: decided.review } : {}) },
    flags: [...new Set(flags)],
  };
}

/**
 * Meter samples with their times corrected: shifted by the skew the message measured (`skewMs`, or
 * measured from the message's latest sample when not given), never later than the receipt.
 */
export function correctedSamples(
  meterValues: Array<{ timestamp: string; sampledValue: Array<Record<string, string>> }>,
  source: MeterSample['source'],
  receivedAt: string,
  skewMs?: number,
): MeterSample[] {
  let skew = skewMs;
  if (skew === undefined) {
    const latest = meterValues.map((mv) => judgeTimestamp(mv.timestamp, receivedAt)).sort((a, b) => b.offsetMs - a.offsetMs)[0];
    skew = latest && latest.rule === 'ahead-corrected' ? latest.skewMs : 0;
  }
  return meterValues.map((mv) => {
    const corrected = correctWithSkew(mv.timestamp, skew, receivedAt);
    return {
      timestamp: corrected.at,
      sampledValue: mv.sampledValue,
      source,
      ...(corrected.changed || corrected.leapSecond ? { reportedTimestamp: mv.timestamp } : {}),
    };
  });
}

export { CLOCK_POLICY };
