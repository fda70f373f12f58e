import { z } from 'zod';
import { ValidationError } from '../../shared/errors.ts';
import { validationErrorFrom } from '../../shared/errors.ts';

const minor = (what: string) => z.number().int(`${what} must be a whole number of minor units`).min(0, `${what} must be >= 0`);
const percent = (what: string, max = 100) => z.number().int(`${what} must be a whole percent`).min(1, `${what} must be >= 1`).max(max, `${what} must be <= ${max}`);

/**
 * How much to hold when a card session starts: a fixed amount, or an estimate of the most the
 * session could cost (max power x max duration at the tariff's highest rates, incl. VAT), capped.
 */
export const HoldAmountSchema = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({ mode: z.literal('fixed'), amountMinor: minor('amountMinor') }),
    z.strictObject({
      mode: z.literal('estimate'),
      /** The charger's rating is used when it has one; this when it does not (or is lower). */
      maxPowerKw: z.number().positive('maxPowerKw must be > 0').max(1000).optional(),
      maxDurationMinutes: z.number().int().min(1, 'maxDurationMinutes must be >= 1').max(7 * 24 * 60),
      capMinor: minor('capMinor'),
      /** Never hold less than this (and never less than the currency's minimum charge). */
      floorMinor: minor('floorMinor').optional(),
    }),
  ],
  { error: 'mode must be fixed or estimate' },
);

/**
 * A site's or charger's payment policy. Amounts are in the tariff's currency, incl. VAT.
 *
 * - `incrementAtPercent`: when the running cost reaches this share of the hold, raise it;
 * - the new hold is `running cost x (100 + incrementHeadroomPercent)%`, at least the old hold plus
 *   `incrementMinStepMinor`, at most `maxHoldMinor` (a hold already at the maximum is not raised);
 * - `onIncrementUnavailable`: `stop` the session, or `continue` and collect the rest after;
 * - `smallAmount`: below the currency's minimum charge, `waive` it or `carry` it to the driver's
 *   next session (reader payments have no next session: they are always waived);
 * - `readerMatchWindowSeconds`: how long after a card is presented at a reader a session that
 *   starts on its connector is matched to that payment.
 */
export const PaymentPolicySchema = z.strictObject({
  hold: HoldAmountSchema,
  incrementAtPercent: percent('incrementAtPercent'),
  incrementHeadroomPercent: percent('incrementHeadroomPercent', 500),
  incrementMinStepMinor: minor('incrementMinStepMinor'),
  maxHoldMinor: minor('maxHoldMinor'),
  onIncrementUnavailable: z.enum(['stop', 'continue'], { error: 'onIncrementUnavailable must be stop or continue' }),
  smallAmount: z.enum(['waive', 'carry'], { error: 'smallAmount must be waive or carry' }),
  readerMatchWindowSeconds: z.number().int().min(10, 'readerMatchWindowSeconds must be >= 10').max(3600, 'readerMatchWindowSeconds must be <= 3600'),
});

export type PaymentPolicy = z.infer<typeof PaymentPolicySchema>;
export type HoldAmountPolicy = z.infer<typeof HoldAmountSchema>;

/** The policy in force where no site or charger has one: an estimate for two hours, capped at 100.00. */
export const DEFAULT_PAYMENT_POLICY: PaymentPolicy = {
  hold: { mode: 'estimate', maxPowerKw: 22, maxDurationMinutes: 120, capMinor: 10_000, floorMinor: 2_000 },
  incrementAtPercent: 80,
  incrementHeadroomPercent: 50,
  incrementMinStepMinor: 1_000,
  maxHoldMinor: 30_000,
  onIncrementUnavailable: 'continue',
  smallAmount: 'carry',
  readerMatchWindowSeconds: 180,
};

/**
 * Validates a policy; fields left out take the default policy's values (`hold` as a whole).
 * @throws ValidationError naming the field.
 */
export function parsePaymentPolicy(json: unknown): PaymentPolicy {
  const completed = json !== null && typeof json === 'object' && !Array.isArray(json) ? { ...DEFAULT_PAYMENT_POLICY, ...json } : json;
  const result = PaymentPolicySchema.safeParse(completed);
  if (!result.success) throw validationErrorFrom(result.error, 'payment policy');
  const policy = result.data;
  if (policy.hold.mode === 'fixed' && policy.hold.amountMinor > policy.maxHoldMinor) {
    throw new ValidationError('hold.amountMinor must not exceed maxHoldMinor', 'hold.amountMinor');
  }
  if (policy.hold.mode === 'estimate' && policy.hold.capMinor > policy.maxHoldMinor) {
    throw new ValidationError('hold.capMinor must not exceed maxHoldMinor', 'hold.capMinor');
  }
  if (policy.hold.mode === 'estimate' && (policy.hold.floorMinor ?? 0) > policy.hold.capMinor) {
    throw new ValidationError('hold.floorMinor must not exceed hold.capMinor', 'hold.floorMinor');
  }
  return policy;
}

/** Where a policy applies; the most specific one wins: charger, then site, then the default. */
export type PolicyScope = 'charge-point' | 'site' | 'default';
