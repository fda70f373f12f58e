import type { BillingProfile } from '../../../events/billing.ts';
import type { DriverRecord, IdTagRecord, MembershipPolicy, MembershipState, SubscriptionSnapshot, TierRecord } from './model.ts';

const HOUR_MS = 3_600_000;

/**
 * Decides whether a subscription, as Stripe reports it now, grants member pricing.
 *
 * - a status in `policy.grantingStatuses` grants (trialing and active by default);
 * - `past_due` outside that set still grants for `pastDueGraceHours` from the start of the unpaid
 *   period (a business choice: cards are retried for days, and a member mid-retry is still a member);
 * - `pause_collection` set grants nothing even while the status stays `active` (nobody is paying);
 * - a subscription whose prices map to no tier grants nothing (it is some other product).
 *
 * Pure: `now` and the price-to-tier map are passed in.
 *
 * @example decideMembership(sub, (p) => (p === 'price_plus' ? 'plus' : undefined), DEFAULT_MEMBERSHIP_POLICY, now)
 */
export function decideMembership(
  subscription: SubscriptionSnapshot,
  tierForPrice: (priceId: string) => string | undefined,
  policy: MembershipPolicy,
  now: Date,
): MembershipState {
  const tier = subscription.priceIds.map(tierForPrice).find((t): t is string => t !== undefined);
  const base: MembershipState = {
    subscriptionId: subscription.id,
    ...(tier ? { tier } : {}),
    status: subscription.status,
    ...(subscription.currentPeriodEnd ? { currentPeriodEnd: subscription.currentPeriodEnd } : {}),
    grants: false,
    reason: 'status-does-not-grant',
  };
  if (!tier) return { ...base, reason: 'unknown-price' };
  if (subscription.collectionPaused) return { ...base, reason: 'collection-paused' };
  if (policy.grantingStatuses.has(subscription.status)) return { ...base, grants: true, reason: 'status-grants' };
  if (subscription.status === 'past_due' && policy.pastDueGraceHours > 0 && subscription.currentPeriodStart) {
    const graceUntil = new Date(Date.parse(subscription.currentPeriodStart) + policy.pastDueGraceHours * HOUR_MS);
    const inGrace = now.getTime() < graceUntil.getTime();
    return { ...base, grants: inGrace, reason: inGrace ? 'past-due-in-grace' : 'past-due-grace-over', graceUntil: graceUntil.toISOString() };
  }
  return base;
}

/**
 * Picks the membership in force among a driver's subscriptions: a granting one before one that
 * does not, then one with a tier, then the newest. Undefined when there is none.
 */
export function chooseMembership(candidates: ReadonlyArray<{ state: MembershipState; createdAt: string }>): MembershipState | undefined {
  const rank = (c: { state: MembershipState }) => (c.state.grants ? 2 : 0) + (c.state.tier ? 1 : 0);
  return [...candidates].sort((a, b) => rank(b) - rank(a) || b.createdAt.localeCompare(a.createdAt) || b.state.subscriptionId.localeCompare(a.state.subscriptionId))[0]?.state;
}

/** Why a driver's idTag is blocked by the membership logic (not by an operator). */
export const NO_PAYMENT_METHOD = 'no-payment-method';

/** What a driver's idTags get: the billing profile, whether they are blocked, and the tier's tariff. */
export interface DriverEntitlement {
  billing: BillingProfile;
  blocked: boolean;
  tariffId?: string;
}

/**
 * The entitlement a driver's idTags carry: member pricing of their tier while the membership
 * grants; otherwise retail through the app when a payment method is on file; otherwise blocked
 * (a driver nobody can charge must not start a session).
 */
export function driverEntitlement(driver: Pick<DriverRecord, 'membership' | 'defaultPaymentMethodId'>, tier: TierRecord | undefined): DriverEntitlement {
  const membership = driver.membership;
  if (membership?.grants && membership.tier) {
    return {
      billing: { kind: 'member', tier: membership.tier, membershipId: membership.subscriptionId },
      blocked: false,
      ...(tier?.tariffId ? { tariffId: tier.tariffId } : {}),
    };
  }
  return { billing: { kind: 'retail', channel: 'app' }, blocked: !driver.defaultPaymentMethodId };
}

/**
 * Rewrites one idTag record from its driver's entitlement. The operator's own status
 * (`baseStatus`: Blocked, Expired, ...) always wins over the membership; a membership block only
 * turns an Accepted tag into Blocked and is lifted when the driver can pay again.
 */
export function applyDriverEntitlement(
  record: IdTagRecord,
  driver: Pick<DriverRecord, 'driverId' | 'version'>,
  entitlement: DriverEntitlement,
  at: string,
): IdTagRecord {
  const baseStatus = record.baseStatus ?? record.status;
  const { tariffId: _oldTariff, blockedReason: _oldReason, ...rest } = record;
  const blocked = baseStatus === 'Accepted' && entitlement.blocked;
  return {
    ...rest,
    status: blocked ? 'Blocked' : baseStatus,
    baseStatus,
    ...(blocked ? { blockedReason: NO_PAYMENT_METHOD } : {}),
    billing: entitlement.billing,
    ...(entitlement.tariffId ? { tariffId: entitlement.tariffId } : {}),
    driverId: driver.driverId,
    driverVersion: driver.version,
    updatedAt: at,
  };
}

/** Whether two membership states say the same thing (ignoring when and why they were refreshed). */
export function sameMembership(a: MembershipState | undefined, b: MembershipState | undefined): boolean {
  const strip = (m: MembershipState | undefined) => {
    if (!m) return undefined;
    const { sourceEventId: _e, refreshedAt: _r, ...rest } = m;
    return JSON.stringify(Object.entries(rest).sort(([x], [y]) => x.localeCompare(y)));
  };
  return strip(a) === strip(b);
}

/**
 * Parses MEMBER_GRANTING_STATUSES-style configuration: a comma-separated list of Stripe statuses.
 * Returns the unknown names separately so the caller can fail start-up naming them.
 */
export function parseGrantingStatuses(raw: string, known: readonly string[]): { statuses: Set<string>; unknown: string[] } {
  const names = raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return { statuses: new Set(names), unknown: names.filter((n) => !known.includes(n)) };
}
