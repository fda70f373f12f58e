import type { BillingProfile, SessionPricingInput, Tariff } from './domain/index.ts';
import type { ConnectorStatusReport, SessionSample, SessionToPrice } from './domain/ports.ts';

/**
 * Rebuilds the OCPP messages of one transaction from what the gateway stored, in the shape the
 * pricing engine (and `voltledger price --session`) reads. `completedAt` ends parking: a session
 * completed because the idle limit passed is priced as if the car was unplugged at that moment
 * (a synthetic Available status), because no charge point said otherwise.
 */
export function sessionPricingInput(input: {
  session: SessionToPrice;
  samples: SessionSample[];
  statusTimeline: ConnectorStatusReport[];
  tariff: Tariff;
  billingProfile: BillingProfile | undefined;
  completedAt: string;
  /** The charge point's rated power: readings rising faster are not billed (docs/meters.md). */
  maxPowerKw?: number | undefined;
  /** `closed-without-stop` ends like `idle-limit`: no charge point said when the car left (docs/sessions.md). */
  completedBy: 'unplugged' | 'idle-limit' | 'closed-without-stop';
}): SessionPricingInput {
  const { session } = input;
  const statusNotifications = input.statusTimeline
    .filter((s) => s.connectorId === session.connectorId && s.timestamp <= input.completedAt)
    .map((s) => ({ connectorId: s.connectorId, errorCode: s.errorCode, status: s.status, timestamp: s.timestamp }));
  if (input.completedBy !== 'unplugged') {
    statusNotifications.push({ connectorId: session.connectorId, errorCode: 'NoError', status: 'Available', timestamp: input.completedAt });
  }
  return {
    tariff: input.tariff,
    timeZone: session.timeZone,
    ...(input.billingProfile ? { billingProfile: input.billingProfile } : {}),
    connectorId: session.connectorId,
    ...(input.maxPowerKw !== undefined ? { maxPowerKw: input.maxPowerKw } : {}),
    startTransaction: {
      connectorId: session.connectorId,
      idTag: session.idTag,
      meterStart: session.meterStartWh,
      timestamp: session.startedAt,
      ...(session.reservationId !== undefined ? { reservationId: session.reservationId } : {}),
    },
    meterValues: [
      {
        connectorId: session.connectorId,
        transactionId: session.transactionId,
        meterValue: input.samples.map((s) => ({ timestamp: s.timestamp, sampledValue: s.sampledValue as never })),
      },
    ],
    statusNotifications,
    stopTransaction: {
      transactionId: session.transactionId,
      meterStop: session.meterStopWh ?? session.meterStartWh,
      timestamp: session.stoppedAt ?? input.completedAt,
      ...(session.stopIdTag ? { idTag: session.stopIdTag } : {}),
      ...(session.stopReason ? { reason: session.stopReason } : {}),
    },
  };
}
