import { z } from 'zod';
import { defineEvent } from './contract.ts';
import { TariffRef } from './session-events.ts';

/** Source of every event the pricing function publishes. */
export const PRICING_SOURCE = 'voltledger.pricing';

const money = z.strictObject({ excl_vat: z.string(), incl_vat: z.string() });

/**
 * A completed session was priced and the price stored (once: a re-delivered SessionCompleted
 * republishes the stored price under the same id). Payments capture `totalMinor`; accounting books
 * the totals. Event id: `SessionPriced:<sessionId>`.
 */
export const SessionPriced = defineEvent({
  source: PRICING_SOURCE,
  detailType: 'SessionPriced',
  version: 1,
  data: z.strictObject({
    sessionId: z.string().min(1),
    transactionId: z.number().int().positive(),
    chargePointId: z.string().min(1),
    connectorId: z.number().int().nonnegative(),
    idTag: z.string().min(1),
    siteId: z.string().optional(),
    billingProfile: z.record(z.string(), z.unknown()).nullable(),
    tariff: TariffRef,
    currency: z.string().length(3),
    /** total_cost incl. VAT in integer minor units. */
    totalMinor: z.number().int().nonnegative(),
    total_cost: money,
    total_energy_cost: money,
    total_time_cost: money,
    total_parking_cost: money,
    total_fixed_cost: money,
    total_energy: z.string(),
    total_time: z.string(),
    total_parking_time: z.string(),
    startedAt: z.iso.datetime({ offset: true }),
    completedAt: z.iso.datetime({ offset: true }),
    pricedAt: z.iso.datetime({ offset: true }),
    warnings: z.array(z.string()),
  }),
});

/**
 * A completed session could not be priced (no tariff snapshot, the tariff version is gone, the
 * data cannot be priced). Never a silent zero: the session waits for a person. Event id:
 * `SessionPricingFailed:<sessionId>`.
 */
export const SessionPricingFailed = defineEvent({
  source: PRICING_SOURCE,
  detailType: 'SessionPricingFailed',
  version: 1,
  data: z.strictObject({
    sessionId: z.string().min(1),
    transactionId: z.number().int().positive(),
    chargePointId: z.string().min(1),
    reason: z.string().min(1),
    failedAt: z.iso.datetime({ offset: true }),
  }),
});
