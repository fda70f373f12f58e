import { z } from 'zod';
import { validationErrorFrom } from './tariff.ts';

const id = (what: string) => z.string().min(1, `${what} must not be empty`).max(64, `${what} is at most 64 characters`);

/**
 * Who pays for a session and how, snapshotted when the session starts (a lapsed membership or a
 * moved fleet card does not reprice a session already under way).
 */
export const BillingProfileSchema = z.discriminatedUnion(
  'kind',
  [
    /** Card or app payment at the public tariff. */
    z.strictObject({ kind: z.literal('retail'), channel: z.enum(['card', 'app']).optional() }),
    /** A subscriber: the tier's tariff or discount from the tariff's `voltledger.member_tiers`. */
    z.strictObject({ kind: z.literal('member'), tier: id('tier'), membershipId: id('membershipId').optional() }),
    /** A fleet vehicle billed to its account monthly; `voltledger.fleet_accounts` may price it differently. */
    z.strictObject({ kind: z.literal('fleet'), accountId: id('accountId') }),
    /** A roaming driver whose eMSP bills them: priced with the OCPI tariff exactly as exported to partners. */
    z.strictObject({ kind: z.literal('roaming'), partnerId: id('partnerId') }),
    /** Nothing to pay (staff, promotion, warranty); `reason` is shown on the line. */
    z.strictObject({ kind: z.literal('free'), reason: z.string().max(255).optional() }),
  ],
  { error: 'kind must be one of retail, member, fleet, roaming, free' },
);

/** See {@link BillingProfileSchema}. */
export type BillingProfile = z.infer<typeof BillingProfileSchema>;

/**
 * Validates a billing profile snapshot.
 *
 * @throws ValidationError naming the offending field.
 */
export function parseBillingProfile(json: unknown): BillingProfile {
  const result = BillingProfileSchema.safeParse(json);
  if (!result.success) throw validationErrorFrom(result.error, 'billing profile');
  return result.data;
}
