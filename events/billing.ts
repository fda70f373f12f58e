/**
 * Who pays for a session, as every context reads it from the events (`billingProfile` in
 * SessionStarted, SessionStopped, SessionPriced, ...). The profile's fields are validated by
 * pricing's `BillingProfileSchema`; this module holds the rules every context must answer alike.
 *
 * **A session without a billing profile is a retail session.** An id tag stored without `billing`
 * (or a session from before profiles existed) is priced at the public tariff, paid by the driver's
 * saved card like any retail session (a hold at the start; no saved card is a failed hold, a
 * remote stop and `PaymentHoldFailed`), booked as retail revenue and checked by revenue assurance
 * as a card session. Nothing treats it as free or as someone else's to collect.
 */

/** The kinds of billing profile. */
export const BILLING_KINDS = ['retail', 'member', 'fleet', 'roaming', 'free'] as const;
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
