import { z } from 'zod';
import { defineEvent } from './contract.ts';

/** Source of every event the OCPP gateway publishes. */
export const OCPP_SOURCE = 'voltledger.ocpp';

const isoTimestamp = z.iso.datetime({ offset: true });
const sessionRef = {
  sessionId: z.string().min(1),
  transactionId: z.number().int().positive(),
  chargePointId: z.string().min(1),
  connectorId: z.number().int().nonnegative(),
};

/** A versioned tariff reference snapshotted into the session at start. */
export const TariffRef = z.strictObject({ tariffId: z.string().min(1), version: z.number().int().positive() });

/**
 * A session began: StartTransaction was accepted and stored. `billingProfile` and `tariff` are the
 * snapshot taken at start (a later change does not reprice this session).
 * Event id: `SessionStarted:<sessionId>`.
 */
export const SessionStarted = defineEvent({
  source: OCPP_SOURCE,
  detailType: 'SessionStarted',
  version: 1,
  data: z.strictObject({
    ...sessionRef,
    idTag: z.string().min(1),
    parentIdTag: z.string().optional(),
    authorizationStatus: z.enum(['Accepted', 'Blocked', 'Expired', 'Invalid', 'ConcurrentTx']),
    startedAt: isoTimestamp,
    meterStartWh: z.number().int(),
    reservationId: z.number().int().optional(),
    timeZone: z.string().min(1),
    siteId: z.string().optional(),
    tariff: TariffRef.nullable(),
    billingProfile: z.record(z.string(), z.unknown()).nullable(),
  }),
});

/**
 * StopTransaction was stored. The session is not complete yet: idle time after the stop is billable
 * until the connector is Available again. Event id: `SessionStopped:<sessionId>`.
 */
export const SessionStopped = defineEvent({
  source: OCPP_SOURCE,
  detailType: 'SessionStopped',
  version: 1,
  data: z.strictObject({
    ...sessionRef,
    idTag: z.string().min(1),
    stoppedAt: isoTimestamp,
    meterStopWh: z.number().int(),
    energyWh: z.number().int().nonnegative(),
    reason: z.string().optional(),
    /** Anomalies found at stop, e.g. `meter-stop-below-start` (then energyWh is 0, never negative). */
    flags: z.array(z.string()),
  }),
});

/**
 * The session is over for billing: the connector became Available (unplugged) or the idle limit
 * passed. Pricing starts from this event. Event id: `SessionCompleted:<sessionId>`.
 */
export const SessionCompleted = defineEvent({
  source: OCPP_SOURCE,
  detailType: 'SessionCompleted',
  version: 1,
  data: z.strictObject({
    ...sessionRef,
    stoppedAt: isoTimestamp,
    completedAt: isoTimestamp,
    completedBy: z.enum(['unplugged', 'idle-limit', 'closed-without-stop']),
  }),
});

/**
 * MeterValues arrived for a running session (stored before this is published). Payments keeps a
 * running cost from it and raises a card hold before the session outgrows it. Losing one is
 * harmless (the next one carries the whole picture; pricing reads the stored samples).
 * Event id: `SessionMeterValues:<chargePointId>:<messageId>`.
 */
export const SessionMeterValues = defineEvent({
  source: OCPP_SOURCE,
  detailType: 'SessionMeterValues',
  version: 1,
  data: z.strictObject({
    ...sessionRef,
    /** The latest sample's timestamp in this message. */
    sampledAt: isoTimestamp,
    samples: z.number().int().positive(),
  }),
});
