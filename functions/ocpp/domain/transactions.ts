import { billingProfileAtStart, paidByCard } from '../../../events/billing.ts';
import { decideAuthorization, type ConcurrencyPolicy } from './authorization.ts';
import type { Authorizer } from './authorize.ts';
import type { Completion } from './completion.ts';
import { OcppCallError } from './framing.ts';
import { normalizeTimestamp, sessionIdFor, type IdTagInfo, type SessionRecord } from './model.ts';
import type {
  MeterValuesRequest,
  MeterValuesResponse,
  StartTransactionRequest,
  StartTransactionResponse,
  StopTransactionRequest,
  StopTransactionResponse,
} from './ocpp16-messages.generated.ts';
import { judgeTimestamp, measurementOf } from './clock-skew.ts';
import { correctedSamples, resolveStart, startClock, stopClock } from './clock-transactions.ts';
import { LOST_TRANSACTION_ID, MATCHED_LOST_ID_FLAG, type OpenSessions } from './open-sessions.ts';
import type { OcppPorts, StartKey } from './ports.ts';
import { sessionEvents } from './session-events-loader.ts';
import { transition } from './session-lifecycle.ts';
import { WarmCache } from './warm-cache.ts';

/**
 * StartTransaction, MeterValues and StopTransaction: sessions started and stopped as the session
 * lifecycle decides. Each stores before it publishes and publishes before it answers, and every
 * write is idempotent, so a charge point retrying after a failure loses nothing and changes nothing.
 */
export function createTransactions(
  { registry, entitlements, tariffs, sessions, events, clock }: Pick<OcppPorts, 'registry' | 'entitlements' | 'tariffs' | 'sessions' | 'events' | 'clock'>,
  concurrency: ConcurrencyPolicy,
  authorizer: Pick<Authorizer, 'idTagInfo'>,
  completion: Pick<Completion, 'stopped' | 'nextStart'>,
  openSessions: Pick<OpenSessions, 'supersedeOpenSessions' | 'matchLost'>,
) {
  /** A transaction belongs to one charge point forever. */
  const transactionOwner = new WarmCache<number, string>();
  /**
   * Whether a transaction's MeterValues matter to payments (a running cost against a card hold):
   * only sessions a card pays for (billing profile retail or member). Unknown (a cold process that
   * has not read the session) counts as yes, so nothing a hold needs is ever skipped.
   */
  const runningCostWanted = new WarmCache<number, boolean>();

  function remember(session: SessionRecord): void {
    transactionOwner.set(session.transactionId, session.chargePointId);
    runningCostWanted.set(session.transactionId, paidByCard(session.billingProfile));
  }

  /** Whether the transaction is this charge point's; one read the first time, none after. */
  async function ownsTransaction(chargePointId: string, transactionId: number): Promise<boolean> {
    const owner = transactionOwner.get(transactionId);
    if (owner !== undefined) return owner === chargePointId;
    return (await ownSession(chargePointId, transactionId)) !== undefined;
  }

  /** The transaction's session if it is this charge point's (the lifecycle's `absent` otherwise). */
  async function ownSession(chargePointId: string, transactionId: number | undefined): Promise<SessionRecord | undefined> {
    if (transactionId === undefined) return undefined;
    const owner = transactionOwner.get(transactionId);
    if (owner !== undefined && owner !== chargePointId) return undefined;
    const session = await sessions.getSession(transactionId);
    if (!session) return undefined;
    remember(session);
    return session.chargePointId === chargePointId ? session : undefined;
  }

  /** absent -> started: the session snapshots the idTag's authorization, billing profile and tariff. */
  async function startSession(chargePointId: string, req: StartTransactionRequest, key: StartKey, knownTransactionId: number | undefined): Promise<SessionRecord> {
    // A charge point may have authorized locally while offline: re-check the idTag now.
    const [entitlement, chargePoint] = await Promise.all([entitlements.get(req.idTag), registry.getChargePoint(chargePointId)]);
    if (!chargePoint) throw new OcppCallError('SecurityError', 'unknown charge point');
    // The single-session check happens below, atomically, once the transactionId is known.
    const idTagInfo = decideAuthorization(entitlement, clock.now(), { ...concurrency, rejectConcurrent: false });
    const billing = entitlement?.billing ?? null;
    const tariffId = entitlement?.tariffId ?? chargePoint.tariffId;
    const tariff = tariffId ? ((await tariffs.currentVersion(tariffId)) ?? null) : null;
    // The clock policy (docs/clocks.md): the start as billed, judged against its receipt.
    const started = startClock(req.timestamp, clock.now().toISOString());
    await registry.recordClock(chargePointId, measurementOf(started.judged, 'StartTransaction'));
    const transactionId = knownTransactionId ?? (await sessions.claimStart(key, await sessions.allocateTransactionId()));
    // A new start on a busy connector closes the sessions the charge point lost there (docs/sessions.md),
    // before the idTag is claimed, so the driver's own lost session does not block this one.
    await openSessions.supersedeOpenSessions(chargePointId, req.connectorId, transactionId, started.startedAt);
    // ...and ends the stopped ones there still waiting for their unplug: the connector was free again.
    await completion.nextStart(chargePointId, req.connectorId, started.startedAt);
    if (concurrency.rejectConcurrent && idTagInfo.status === 'Accepted') {
      const now = clock.now();
      const claimed = await entitlements.claimActiveSession(
        req.idTag,
        { transactionId, chargePointId, since: now.toISOString() },
        new Date(now.getTime() - concurrency.activeSessionMaxAgeMs).toISOString(),
      );
      if (!claimed) idTagInfo.status = 'ConcurrentTx';
    }
    return sessions.createSession({
      sessionId: sessionIdFor(transactionId),
      transactionId,
      chargePointId,
      connectorId: req.connectorId,
      idTag: req.idTag,
      ...(idTagInfo.parentIdTag ? { parentIdTag: idTagInfo.parentIdTag } : {}),
      authorizationStatus: idTagInfo.status,
      startedAt: started.startedAt,
      clock: started.clock,
      meterStartWh: req.meterStart,
      ...(req.reservationId !== undefined ? { reservationId: req.reservationId } : {}),
      timeZone: chargePoint.timeZone,
      ...(chargePoint.siteId ? { siteId: chargePoint.siteId } : {}),
      tariff,
      billingProfile: billingProfileAtStart(idTagInfo.status, billing),
      state: 'started',
      flags: [...(tariff ? [] : ['no-tariff']), ...started.flags],
      createdAt: started.judged.receivedAt,
    });
  }

  return {
    async StartTransaction(chargePointId: string, req: StartTransactionRequest): Promise<StartTransactionResponse> {
      if (req.connectorId < 1) {
        throw new OcppCallError('PropertyConstraintViolation', 'connectorId must be 1 or more for a transaction');
      }
      const baseKey: StartKey = { chargePointId, connectorId: req.connectorId, idTag: req.idTag, timestamp: normalizeTimestamp(req.timestamp) };
      // A retry has the same key and meterStart; a dead clock repeating a timestamp is a new session.
      const { key, knownTransactionId, stored } = await resolveStart(sessions, baseKey, req.meterStart, clock.now().toISOString());
      // The lifecycle: absent -> started (create, then publish); a stored session, in any state, is a
      // retried start (a replay): nothing is written and SessionStarted is published again.
      const session = stored ?? (await startSession(chargePointId, req, key, knownTransactionId));
      remember(session);
      await events.publish([(await sessionEvents()).startedEvent(session)]);
      const idTagInfo: IdTagInfo = { status: session.authorizationStatus };
      if (session.parentIdTag) idTagInfo.parentIdTag = session.parentIdTag;
      return { transactionId: session.transactionId, idTagInfo };
    },

    async MeterValues(chargePointId: string, req: MeterValuesRequest, messageId: string): Promise<MeterValuesResponse> {
      const receivedAt = clock.now().toISOString();
      if (req.transactionId === undefined) {
        await registry.recordNotification(chargePointId, 'MeterValues', req, receivedAt, messageId);
        return {};
      }
      let transactionId = req.transactionId;
      if (!(await ownsTransaction(chargePointId, transactionId))) {
        // Errata 3.18: `-1` is a start whose answer was lost; it belongs to the one open session that fits.
        const at = req.meterValue.map((mv) => normalizeTimestamp(mv.timestamp)).sort()[0] ?? receivedAt;
        const match = transactionId === LOST_TRANSACTION_ID ? await openSessions.matchLost(chargePointId, { connectorId: req.connectorId, timestamp: at }) : undefined;
        if (!match?.session) {
          // OCPP requires an answer; keep the data for review without touching anyone's session.
          await registry.recordNotification(chargePointId, 'MeterValues.unknownTransaction', req, receivedAt, messageId);
          await sessions.recordUnmatched({
            kind: 'MeterValues', chargePointId, connectorId: req.connectorId, transactionId, receivedAt, messageId, payload: req,
            reason: !match ? 'unknown-transaction' : match.candidates.length > 1 ? 'ambiguous-match' : 'no-open-session',
            ...(match && match.candidates.length > 1 ? { candidates: match.candidates } : {}),
          });
          return {};
        }
        remember(match.session);
        transactionId = match.session.transactionId;
      }
      // Times corrected by the skew this message measured (docs/clocks.md); the reported ones are kept.
      const samples = correctedSamples(req.meterValue, 'MeterValues', receivedAt);
      await sessions.addSamples(transactionId, samples);
      if (samples.length > 0 && runningCostWanted.get(transactionId) !== false) {
        // Payments keeps a running cost from this (card sessions only); published after the
        // samples are stored so a consumer that reads them finds them.
        const sampledAt = samples.map((s) => s.timestamp).sort().at(-1)!;
        const { meterValuesEvent } = await sessionEvents();
        await events.publish([meterValuesEvent({ transactionId, chargePointId, connectorId: req.connectorId, sampledAt, samples: samples.length, messageId })]);
      }
      return {};
    },

    async StopTransaction(chargePointId: string, req: StopTransactionRequest, messageId = ''): Promise<StopTransactionResponse> {
      // The idTag stopping this session is, of course, charging here: no ConcurrentTx for it.
      const idTagInfo = req.idTag ? await authorizer.idTagInfo(req.idTag, { ...concurrency, rejectConcurrent: false }) : undefined;
      const answer: StopTransactionResponse = idTagInfo ? { idTagInfo } : {};
      const flags: string[] = [];
      let session = await ownSession(chargePointId, req.transactionId);
      const receivedAt = clock.now().toISOString();
      // Errata 3.18: `-1` is a start whose answer was lost; the stop belongs to the one open session that fits.
      const match = !session && req.transactionId === LOST_TRANSACTION_ID
        ? await openSessions.matchLost(chargePointId, { timestamp: req.timestamp, meterWh: req.meterStop, ...(req.idTag ? { idTag: req.idTag } : {}) })
        : undefined;
      if (match?.session) {
        session = match.session;
        remember(session);
        flags.push(MATCHED_LOST_ID_FLAG);
      }
      if (!session) {
        // absent (the lifecycle refuses it as an unknown transaction): no session of this charge
        // point has this transaction; answered, and kept for review.
        await sessions.recordUnmatched({
          kind: 'StopTransaction', chargePointId, transactionId: req.transactionId, receivedAt, messageId, payload: req,
          reason: !match ? 'unknown-transaction' : match.candidates.length > 1 ? 'ambiguous-match' : 'no-open-session',
          ...(match && match.candidates.length > 1 ? { candidates: match.candidates } : {}),
        });
        return answer;
      }
      if (session.closedWithoutStop) {
        // The session was already closed (superseded, or open past the limit) and billed from its
        // last reading: this late stop changes nothing silently; it is kept for review.
        await sessions.recordUnmatched({ kind: 'StopTransaction', chargePointId, transactionId: req.transactionId, receivedAt, messageId, payload: req, reason: 'after-close-without-stop', candidates: [session.transactionId] });
        return answer;
      }
      // started -> stopped, or a retry of a stored stop (whose answer was lost): samples and the
      // idTag release are idempotent, and the stored stop is published again either way.
      const decision = transition(session, { kind: 'StopTransaction' });
      // The clock policy (docs/clocks.md): the stop judged against its receipt; transactionData shifts by its skew.
      const stopJudged = judgeTimestamp(req.timestamp, receivedAt);
      if (req.transactionData?.length) {
        await sessions.addSamples(session.transactionId, correctedSamples(req.transactionData, 'StopTransaction', receivedAt, stopJudged.skewMs));
      }
      const times = decision.outcome === 'moved' ? stopClock(session, stopJudged, (await sessions.samples(session.transactionId)).map((s) => s.timestamp)) : undefined;
      if (decision.outcome === 'moved') await registry.recordClock(chargePointId, measurementOf(stopJudged, 'StopTransaction'));
      const stoppedAt = times?.stoppedAt ?? stopJudged.corrected;
      if (times) flags.push(...times.flags);
      let energyWh = req.meterStop - session.meterStartWh;
      if (energyWh < 0) {
        flags.push('meter-stop-below-start');
        energyWh = 0;
      }
      let stopped = session;
      let checkConnector = decision.outcome !== 'refused' && decision.checkConnector;
      if (decision.outcome === 'moved') {
        const written = await sessions.stopSession(session, {
          stoppedAt,
          ...(times && times.startedAt !== session.startedAt ? { startedAt: times.startedAt } : {}),
          ...(times ? { clock: times.clock } : {}),
          stopRecordedAt: clock.now().toISOString(),
          meterStopWh: req.meterStop,
          energyWh,
          // OCPP 1.6 §6.49: a StopTransaction without a reason was stopped locally.
          stopReason: req.reason ?? 'Local',
          ...(req.idTag ? { stopIdTag: req.idTag } : {}),
          flags,
        });
        stopped = written.session;
        if (!written.changed) {
          // A concurrent retry stored its stop first: this one is a replay of that.
          const replayed = transition(stopped, { kind: 'StopTransaction' });
          checkConnector = replayed.outcome !== 'refused' && replayed.checkConnector;
        }
      }
      if (concurrency.rejectConcurrent) {
        await entitlements.releaseActiveSession(stopped.idTag, stopped.transactionId, clock.now().toISOString());
      }
      await events.publish([(await sessionEvents()).stoppedEvent(stopped)]);
      if (checkConnector) await completion.stopped(stopped);
      return answer;
    },
  };
}

