import { DEFAULT_MAX_OPEN_SESSION_HOURS, type CentralSystemConfig } from './config.ts';
import { idTagKey, normalizeTimestamp, type ClosedWithoutStop, type MeterSample, type SessionRecord } from './model.ts';
import type { OcppPorts } from './ports.ts';
import { sessionEvents } from './session-events-loader.ts';
import { transition, type CompletedBy } from './session-lifecycle.ts';

/**
 * Sessions that would never end (docs/sessions.md): a new start on a busy connector closes the
 * earlier session, a `transactionId = -1` (OCPP 1.6 errata 3.18) is matched to the open session it
 * belongs to, and the sweep closes sessions open past SESSION_MAX_OPEN_HOURS. A session closed
 * without a stop is stopped from its last energy register reading (never a guess beyond it),
 * flagged, and completed at that reading, so it is priced and settled like any other.
 */

/** The OCPP 1.6 transactionId a charge point sends when it never got the StartTransaction answer (errata 3.18). */
export const LOST_TRANSACTION_ID = -1;

export const SUPERSEDED_FLAG = 'superseded-by-new-start';
export const CLOSED_WITHOUT_STOP_FLAG = 'closed-without-stop';
/** On a session whose StopTransaction (or MeterValues) came with `-1` and was matched to it. */
export const MATCHED_LOST_ID_FLAG = 'matched-lost-transaction-id';
/** The stop reason given to a session VoltLedger closed (OCPP 1.6 Reason `Other`; the flag says why). */
export const CLOSED_STOP_REASON = 'Other';

const ENERGY_REGISTER = 'Energy.Active.Import.Register';
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** An energy register value in whole Wh (rounded down: never bill more than was read); undefined when not one. */
export function registerWh(value: Record<string, string>): number | undefined {
  if ((value.measurand ?? ENERGY_REGISTER) !== ENERGY_REGISTER || value.phase !== undefined) return undefined;
  const unit = value.unit ?? 'Wh';
  const match = DECIMAL.exec(value.value ?? '');
  if (!match) return undefined;
  const [, whole = '0', fraction = ''] = match;
  if (unit === 'Wh') return Number(whole);
  if (unit === 'kWh') return Number(whole + fraction.padEnd(3, '0').slice(0, 3));
  return undefined;
}

/**
 * Where a session without a stop ends: its latest energy register reading taken at or after the
 * start (and at or before `notAfter`, the server's now: a reading from the future is no evidence),
 * else the start itself with no energy.
 */
export function lastReading(
  session: Pick<SessionRecord, 'startedAt' | 'meterStartWh'>,
  samples: MeterSample[],
  notAfter: string,
): { at: string; wh: number; from: ClosedWithoutStop['stopFrom'] } {
  let best: { at: string; wh: number } | undefined;
  for (const sample of samples) {
    if (sample.timestamp < session.startedAt || sample.timestamp > notAfter) continue;
    for (const value of sample.sampledValue) {
      const wh = registerWh(value);
      if (wh === undefined) continue;
      if (!best || sample.timestamp > best.at || (sample.timestamp === best.at && wh > best.wh)) best = { at: sample.timestamp, wh };
    }
  }
  return best ? { ...best, from: 'last-meter-reading' } : { at: session.startedAt, wh: session.meterStartWh, from: 'meter-start' };
}

/**
 * The one open session a `-1` message belongs to: same charge point (and connector when the
 * message names one), same idTag when it names one, started at or before the message, with a meter
 * start at or below its reading. `candidates` lists every session that fits.
 */
export function matchLostTransaction(
  open: SessionRecord[],
  message: { idTag?: string; at: string; meterWh?: number },
): { session: SessionRecord | undefined; candidates: number[] } {
  const fits = open.filter(
    (s) =>
      s.state === 'started' &&
      s.startedAt <= message.at &&
      (message.idTag === undefined || idTagKey(message.idTag) === idTagKey(s.idTag)) &&
      (message.meterWh === undefined || message.meterWh >= s.meterStartWh),
  );
  return { session: fits.length === 1 ? fits[0] : undefined, candidates: fits.map((s) => s.transactionId) };
}

export function createOpenSessions(
  { sessions, entitlements, events, clock, log }: Pick<OcppPorts, 'sessions' | 'entitlements' | 'events' | 'clock' | 'log'>,
  config: Pick<CentralSystemConfig, 'maxOpenSessionHours' | 'singleSessionPerIdTag'>,
) {
  /**
   * Closes a started session that will get no StopTransaction: started -> stopped (from its last
   * reading, flagged) -> completed at that reading, each move decided by the lifecycle. Returns
   * the completed session, or undefined when a real stop got there first.
   */
  async function close(session: SessionRecord, cause: ClosedWithoutStop['cause'], supersededBy?: number): Promise<SessionRecord | undefined> {
    const decision = transition(session, { kind: 'ClosedWithoutStop', cause });
    if (decision.outcome !== 'moved') return undefined;
    const now = clock.now().toISOString();
    const reading = lastReading(session, await sessions.samples(session.transactionId), now);
    const flags = [cause === 'superseded' ? SUPERSEDED_FLAG : CLOSED_WITHOUT_STOP_FLAG];
    let energyWh = reading.wh - session.meterStartWh;
    if (energyWh < 0) {
      flags.push('meter-stop-below-start');
      energyWh = 0;
    }
    const written = await sessions.stopSession(session, {
      stoppedAt: reading.at,
      stopRecordedAt: now,
      meterStopWh: reading.wh,
      energyWh,
      stopReason: CLOSED_STOP_REASON,
      closedWithoutStop: { cause, closedAt: now, stopFrom: reading.from, ...(supersededBy !== undefined ? { supersededBy } : {}) },
      flags,
    });
    if (!written.changed) return undefined;
    const stopped = written.session;
    log.warn('session closed without a StopTransaction', { sessionId: stopped.sessionId, cause, stoppedAt: stopped.stoppedAt, energyWh, ...(supersededBy !== undefined ? { supersededBy } : {}) });
    if (config.singleSessionPerIdTag) await entitlements.releaseActiveSession(stopped.idTag, stopped.transactionId, now);
    await events.publish([(await sessionEvents()).stoppedEvent(stopped)]);
    await complete(stopped, cause);
    return stopped;
  }

  /** stopped -> completed at the stop (publish, then write, as every completion). */
  async function complete(stopped: SessionRecord, cause: ClosedWithoutStop['cause']): Promise<boolean> {
    const decision = transition(stopped, { kind: 'ClosedWithoutStop', cause });
    if (decision.outcome !== 'moved' || decision.write !== 'complete') return false;
    const { completedAt, completedBy } = decision.completion as { completedAt: string; completedBy: CompletedBy };
    await events.publish([(await sessionEvents()).completedEvent(stopped, completedAt, completedBy)]);
    return sessions.completeSession(stopped.transactionId, completedAt, completedBy);
  }

  return {
    /**
     * A new StartTransaction on a connector: every other session still started there, begun at or
     * before the new start, is closed as superseded (the charge point lost it: a reboot, a lost stop).
     * A session begun after the new start's timestamp is left for its own stop or the sweep.
     */
    async supersedeOpenSessions(chargePointId: string, connectorId: number, newTransactionId: number, newStartedAt: string): Promise<number[]> {
      const closed: number[] = [];
      for (const open of await sessions.openSessions(chargePointId, connectorId)) {
        if (open.transactionId === newTransactionId || open.startedAt > newStartedAt) continue;
        if (await close(open, 'superseded', newTransactionId)) closed.push(open.transactionId);
      }
      return closed;
    },

    /** The open session a `-1` StopTransaction or MeterValues belongs to, if exactly one fits. */
    async matchLost(chargePointId: string, message: { connectorId?: number; idTag?: string; timestamp: string; meterWh?: number }) {
      const open = await sessions.openSessions(chargePointId, message.connectorId);
      return matchLostTransaction(open, {
        at: normalizeTimestamp(message.timestamp),
        ...(message.idTag !== undefined ? { idTag: message.idTag } : {}),
        ...(message.meterWh !== undefined ? { meterWh: message.meterWh } : {}),
      });
    },

    /**
     * The sweep: closes every session stored more than SESSION_MAX_OPEN_HOURS ago that has had no
     * StopTransaction and no meter reading within that time (server clock for the age; a reading
     * dated in the future keeps nothing open). Returns how many it closed.
     */
    async closeStaleSessions(): Promise<number> {
      const now = clock.now();
      const limitMs = (config.maxOpenSessionHours ?? DEFAULT_MAX_OPEN_SESSION_HOURS) * 3_600_000;
      const cutoff = new Date(now.getTime() - limitMs).toISOString();
      const nowIso = now.toISOString();
      let closed = 0;
      for (const session of await sessions.openSessionsCreatedBefore(cutoff)) {
        const samples = await sessions.samples(session.transactionId);
        const alive = samples.some((s) => s.timestamp > cutoff && s.timestamp <= nowIso);
        if (alive) continue;
        if (await close(session, 'no-stop')) closed += 1;
      }
      return closed;
    },

    /**
     * Finishes a close interrupted between its stop and its completion (the idle sweep also would,
     * after the idle limit); true when it completed the session now.
     */
    completeClosed: (session: SessionRecord) => (session.closedWithoutStop ? complete(session, session.closedWithoutStop.cause) : Promise.resolve(false)),
  };
}

export type OpenSessions = ReturnType<typeof createOpenSessions>;
