import { z } from 'zod';

/**
 * A decimal amount as text (`"199.00"`, `"0.30"`), never a binary float: money and energy in a
 * plan are parsed into scaled integers where they are used.
 */
const decimalText = (what: string, maxDecimals: number) =>
  z
    .string()
    .regex(new RegExp(`^\\d{1,9}(\\.\\d{1,${maxDecimals}})?$`), `${what} must be a non-negative decimal string with at most ${maxDecimals} decimals, such as "12.5"`);

/**
 * How a fleet account pays for its vehicles' sessions.
 * - `per_session`: every session is billed at the price it was priced at (the fleet's prices come
 *   from the tariff's `voltledger.fleet_accounts` entry or the idTags' own tariff).
 * - `monthly`: a fixed fee per period that includes `includedEnergyKwh`; energy above it is billed
 *   at `overagePerKwh` (excl. VAT). Sessions are listed for reporting, at their priced amount, but
 *   not billed one by one.
 */
export const FleetPlanSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ kind: z.literal('per_session') }),
    z.strictObject({
      kind: z.literal('monthly'),
      /** Excl. VAT, in the account's currency. */
      fixedFee: decimalText('fixedFee', 2),
      includedEnergyKwh: decimalText('includedEnergyKwh', 3),
      /** Excl. VAT, per kWh above the included energy. */
      overagePerKwh: decimalText('overagePerKwh', 6),
    }),
  ],
  { error: 'kind must be per_session or monthly' },
);
export type FleetPlan = z.infer<typeof FleetPlanSchema>;

/**
 * Tax on a statement: VAT at `vatPercent` on the subtotal (one rounding, half up), unless the
 * supply is `reverse_charge` (B2B across an EU border: the customer accounts for VAT) or `exempt`;
 * then the statement shows 0 tax and says why.
 */
export const TaxDetailsSchema = z.strictObject({
  /** The customer's VAT number, printed on the statement (`DE123456789`). */
  taxId: z.string().min(2).max(32).optional(),
  /** ISO 3166-1 alpha-2 of the customer's establishment. */
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as DE').optional(),
  vatPercent: decimalText('vatPercent', 2).refine((v) => Number(v) <= 100, 'vatPercent must be at most 100'),
  treatment: z.enum(['standard', 'reverse_charge', 'exempt']).default('standard'),
});
export type TaxDetails = z.infer<typeof TaxDetailsSchema>;

/**
 * How the Stripe invoice is collected: emailed with a due date (`send_invoice`), or charged to the
 * customer's default payment method when issued (`charge_automatically`).
 */
export const InvoiceCollectionSchema = z.discriminatedUnion(
  'method',
  [
    z.strictObject({ method: z.literal('send_invoice'), daysUntilDue: z.number().int().min(0).max(365) }),
    z.strictObject({ method: z.literal('charge_automatically') }),
  ],
  { error: 'method must be send_invoice or charge_automatically' },
);
export type InvoiceCollection = z.infer<typeof InvoiceCollectionSchema>;

/** The billing settings of a fleet account, as the statement needs them. */
export interface FleetBillingSettings {
  accountId: string;
  name: string;
  currency: string;
  plan: FleetPlan;
  /** Required to compute a statement. */
  tax?: TaxDetails;
  /** IANA zone in which periods (calendar months) and line dates are read. */
  timeZone: string;
  collection: InvoiceCollection;
  stripeCustomerId?: string;
}

/** Defaults for an account saved without them: per-session billing, invoices emailed and due in 30 days. */
export const DEFAULT_PLAN: FleetPlan = { kind: 'per_session' };
export const DEFAULT_COLLECTION: InvoiceCollection = { method: 'send_invoice', daysUntilDue: 30 };
