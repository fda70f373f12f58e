import { buildEvent } from '../../../events/contract.ts';
import { SessionCompleted, SessionMeterValues, SessionStarted, SessionStopped } from '../../../events/session-events.ts';
import { sessionIdFor, type SessionRecord } from './model.ts';

/**
 * The session events the OCPP domain publishes, built and validated against their contracts.
 * Loaded on the first publish (a dynamic import, session-events-loader.ts): Authorize, Heartbeat
 * and BootNotification never publish, so a cold start answering them does not evaluate the contracts.
 */
export function startedEvent(session: SessionRecord) {
  return buildEvent(
    SessionStarted,
    {
      sessionId: session.sessionId,
      transactionId: session.transactionId,
      chargePointId: session.chargePointId,
      connectorId: session.connectorId,
      idTag: session.idTag,
      ...(session.parentIdTag ? { parentIdTag: session.parentIdTag } : {}),
      authorizationStatus: session.authorizationStatus,
      startedAt: session.startedAt,
      meterStartWh: session.meterStartWh,
      ...(session.reservationId !== undefined ? { reservationId: session.reservationId } : {}),
      timeZone: session.timeZone,
      ...(session.siteId ? { siteId: session.siteId } : {}),
      tariff: session.tariff,
      billingProfile: session.billingProfile,
    },
    { id: `SessionStarted:${session.sessionId}`, occurredAt: new Date(session.startedAt), correlationId: session.sessionId },
  );
}

export function stoppedEvent(session: SessionRecord) {
  return buildEvent(
    SessionStopped,
    {
      sessionId: session.sessionId,
      transactionId: session.transactionId,
      chargePointId: session.chargePointId,
      connectorId: session.connectorId,
      idTag: session.idTag,
      stoppedAt: session.stoppedAt!,
      meterStopWh: session.meterStopWh!,
      energyWh: session.energyWh!,
      ...(session.stopReason ? { reason: session.stopReason } : {}),
      flags: session.flags,
    },
    { id: `SessionStopped:${session.sessionId}`, occurredAt: new Date(session.stoppedAt!), correlationId: session.sessionId },
  );
}

export function completedEvent(session: SessionRecord, completedAt: string, completedBy: NonNullable<SessionRecord['completedBy']>) {
  return buildEvent(
    SessionCompleted,
    {
      sessionId: session.sessionId,
      transactionId: session.transactionId,
      chargePointId: session.chargePointId,
      connectorId: session.connectorId,
      stoppedAt: session.stoppedAt!,
      completedAt,
      completedBy,
    },
    { id: `SessionCompleted:${session.sessionId}`, occurredAt: new Date(completedAt), correlationId: session.sessionId },
  );
}

export function meterValuesEvent(input: { transactionId: number; chargePointId: string; connectorId: number; sampledAt: string; samples: number; messageId: string }) {
  const sessionId = sessionIdFor(input.transactionId);
  return buildEvent(
    SessionMeterValues,
    { sessionId, transactionId: input.transactionId, chargePointId: input.chargePointId, connectorId: input.connectorId, sampledAt: input.sampledAt, samples: input.samples },
    { id: `SessionMeterValues:${input.chargePointId}:${input.messageId}`, occurredAt: new Date(input.sampledAt), correlationId: sessionId },
  );
}
