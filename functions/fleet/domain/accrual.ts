import type { EventData } from '../../../events/contract.ts';
import type { SessionPriced } from '../../../events/pricing-events.ts';
import { periodOf } from './period.ts';
import { decimalToMinor, type FleetAccrual } from './statement.ts';

/** The fleet account a priced session bills to, or null when its billing profile is not a fleet one. */
export function fleetAccountOf(data: EventData<typeof SessionPriced>): string | null {
  const profile = data.billingProfile;
  return profile && profile.kind === 'fleet' && typeof profile.accountId === 'string' ? profile.accountId : null;
}

/**
 * The accrual of a priced fleet session: the statement line's facts, taken from SessionPriced as
 * priced (amounts to minor units of the session's currency, exactly; energy as its exact kWh text).
 */
export function accrualFromPricedSession(data: EventData<typeof SessionPriced>, accountId: string, timeZone: string, accruedAt: string): FleetAccrual {
  const startMs = Date.parse(data.startedAt);
  const endMs = Date.parse(data.completedAt);
  return {
    accountId,
    sessionId: data.sessionId,
    transactionId: data.transactionId,
    chargePointId: data.chargePointId,
    connectorId: data.connectorId,
    ...(data.siteId ? { siteId: data.siteId } : {}),
    idTag: data.idTag,
    startedAt: data.startedAt,
    completedAt: data.completedAt,
    currency: data.currency,
    energyKwh: data.total_energy,
    durationSeconds: Math.max(0, Math.round((endMs - startMs) / 1000)),
    amountExclVatMinor: Number(decimalToMinor(data.total_cost.excl_vat, data.currency, 'total_cost.excl_vat')),
    amountInclVatMinor: Number(decimalToMinor(data.total_cost.incl_vat, data.currency, 'total_cost.incl_vat')),
    tariff: { tariffId: data.tariff.tariffId, version: data.tariff.version },
    naturalPeriod: periodOf(data.startedAt, timeZone),
    accruedAt,
  };
}
