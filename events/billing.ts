import { z } from 'zod';

/**
 * Who pays for a session, as every context reads it from the events (`billingProfile` in
 * SessionStarted, SessionStopped, SessionPriced, ...). The profile's shape is `BillingProfileSchema`
 * below; this module holds the rules every context must answer alike.
 *
 * **A session without a billing profile is a retail session.** An id tag stored without `billing`
 * (or a session from before profiles existed) is priced at the public tariff, paid by the driver's
 * saved card like any retail session (a hold at the start; no saved card is a failed hold, a
 * remote stop and `PaymentHoldFailed`), booked as retail revenue and checked by revenue assurance
 * as a card session. Nothing treats it as free or as someone else's to collect.
 */

/** The kinds of billing profile. */
export const BILLING_KINDS = ['retail', 'member', 'fleet', 'roaming', 'free', 'no-payer'] as const;
export type BillingKind = (typeof BILLING_KINDS)[number];

/** What a session without a billing profile is billed as. */
export const DEFAULT_BILLING_KIND = 'retail' satisfies BillingKind;

/** The kinds a driver's card pays for (the others: a fleet statement, a roaming CDR, nothing). */
const CARD_PAID: ReadonlySet<string> = new Set<BillingKind>(['retail', 'member']);

/** The billing kind of a session's profile snapshot: its `kind`, or retail when there is none. */
export function billingKindOf(profile: unknown): string {
  const kind = profile !== null && typeof profile === 'object' ? (profile as { kind?: unknown }).kind : undefined;
  return typeof kind === 'string' ? kind : DEFAULT_BILLING_KIND;
}

/** Whether a driver's card pays for the session (retail, member, or no profile at all). */
export function paidByCard(profile: unknown): boolean {
  return CARD_PAID.has(billingKindOf(profile));
}

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
    /**
     * Nobody can be billed: the session started with an idTag that was not Accepted (Blocked,
     * Invalid, Expired) and the charge point delivered energy anyway. Priced at the tariff so the
     * operator sees its value, charged to nobody, and left open for review (docs/payments.md).
     */
    z.strictObject({ kind: z.literal('no-payer'), reason: z.string().min(1).max(255) }),
  ],
  { error: 'kind must be one of retail, member, fleet, roaming, free, no-payer' },
);

/** See {@link BillingProfileSchema}. */
export type BillingProfile = z.infer<typeof BillingProfileSchema>;

/** Authorization statuses under which a session still has its idTag's payer (ConcurrentTx: the tag is valid, only in use elsewhere). */
const PAYING_STATUSES: ReadonlySet<string> = new Set(['Accepted', 'ConcurrentTx']);

/**
 * The billing profile a session is started with: the idTag's own when StartTransaction answered
 * Accepted (or ConcurrentTx), otherwise `no-payer` (a Blocked, Invalid or Expired tag pays for
 * nothing, so the session is not retail either). Authorization and billing agree.
 */
export function billingProfileAtStart(authorizationStatus: string, profile: Record<string, unknown> | null): Record<string, unknown> | null {
  if (PAYING_STATUSES.has(authorizationStatus)) return profile;
  return { kind: 'no-payer', reason: `StartTransaction answered ${authorizationStatus}` };
}
