/**
 * Memberships and the records around the entitlement cache: drivers, their Stripe customer and
 * membership tiers. The IDTAG records the OCPP gateway reads stay the cache; everything here exists
 * to rewrite them correctly.
 */

/** OCPP 1.6 AuthorizationStatus: what Authorize answers for an idTag. */
export type AuthorizationStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'ConcurrentTx';

/**
 * An idTag record of the entitlement cache (the Entitlements table's IDTAG items), which the OCPP
 * gateway answers Authorize and StartTransaction from and memberships rewrite. `billing` is the
 * billing profile snapshotted into each session.
 */
export interface IdTagRecord {
  idTag: string;
  status: AuthorizationStatus;
  expiryDate?: string;
  parentIdTag?: string;
  billing?: Record<string, unknown>;
  /** The transaction this idTag is charging in (single-session enforcement; the OCPP gateway sets and clears it). */
  activeSession?: { transactionId: number; chargePointId: string; since: string };
  /** A tariff that applies to this idTag wherever it charges, instead of the charge point's. */
  tariffId?: string;
  /** The driver whose membership decides `billing` (and may block the tag when a lapsed member has no payment method). */
  driverId?: string;
  /** The status an operator set, kept apart from `status` so a membership block can be lifted again. */
  baseStatus?: AuthorizationStatus;
  /** Why `status` differs from `baseStatus` (for example `no-payment-method`). */
  blockedReason?: string;
  /** The driver record version this record was derived from; an older derivation never overwrites a newer one. */
  driverVersion?: number;
  updatedAt: string;
}

/** OCPP idTags are CiString20: compared case-insensitively, so records are keyed by the upper-case form. */
export function idTagKey(idTag: string): string {
  return idTag.toUpperCase();
}

/**
 * A Stripe subscription as the membership decision needs it, read fresh from Stripe (never from a
 * webhook's snapshot, which may be stale or out of order).
 */
export interface SubscriptionSnapshot {
  id: string;
  customerId: string;
  /** Stripe's status: incomplete, incomplete_expired, trialing, active, past_due, canceled, unpaid, paused. */
  status: string;
  /** Price ids of the subscription's items; one of them names the tier. */
  priceIds: string[];
  /** ISO start of the current billing period (the unpaid invoice of a past_due subscription belongs to it). */
  currentPeriodStart?: string;
  /** ISO end of the current billing period. */
  currentPeriodEnd?: string;
  /** Stripe's `pause_collection` is set: the subscription stays `active` but nothing is billed. */
  collectionPaused: boolean;
  /** ISO creation time; the newer of two equally good subscriptions wins. */
  createdAt: string;
}

/** Why a membership grants member pricing or not; shown in the admin API and the resync report. */
export type MembershipReason =
  | 'status-grants'
  | 'status-does-not-grant'
  | 'past-due-in-grace'
  | 'past-due-grace-over'
  | 'collection-paused'
  | 'unknown-price'
  | 'subscription-gone';

/** What VoltLedger concluded about a driver's subscription. */
export interface MembershipState {
  subscriptionId: string;
  /** The tier its price maps to; absent when no price maps to a tier. */
  tier?: string;
  status: string;
  currentPeriodEnd?: string;
  /** True when the driver gets member pricing now. */
  grants: boolean;
  reason: MembershipReason;
  /** Until when a past_due subscription still grants (grace period), ISO. */
  graceUntil?: string;
  /** The webhook event (or `resync`) that caused the last refresh. */
  sourceEventId?: string;
  refreshedAt?: string;
}

/** A driver: one Stripe customer, any number of idTags, at most one membership in force. */
export interface DriverRecord {
  driverId: string;
  stripeCustomerId?: string;
  /** A payment method on file: a lapsed member falls back to retail app payment with it. */
  defaultPaymentMethodId?: string;
  /** idTags (upper-case keys) whose billing follows this driver. */
  idTags: string[];
  membership?: MembershipState;
  /** Incremented on every write; guards the driver record and the idTag rewrites against races. */
  version: number;
  updatedAt: string;
}

/** A membership tier: which Stripe prices grant it and which tariff (if any) its members use. */
export interface TierRecord {
  tier: string;
  name: string;
  stripePriceIds: string[];
  /** A tariff for members of this tier instead of the charge point's (else the tariff's `member_tiers` apply). */
  tariffId?: string;
  updatedAt: string;
}

/** Which subscription statuses grant member pricing, and how long past_due still does. */
export interface MembershipPolicy {
  grantingStatuses: ReadonlySet<string>;
  /** Hours a past_due subscription keeps granting, counted from the start of the unpaid period (0: none). */
  pastDueGraceHours: number;
}

/** The default policy: trialing and active grant; past_due does not, without grace. */
export const DEFAULT_MEMBERSHIP_POLICY: MembershipPolicy = {
  grantingStatuses: new Set(['trialing', 'active']),
  pastDueGraceHours: 0,
};

/** Every status Stripe documents for a subscription; configuration naming another is a typo. */
export const SUBSCRIPTION_STATUSES = ['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused'] as const;
