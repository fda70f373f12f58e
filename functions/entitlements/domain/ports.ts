import type { DriverRecord, IdTagRecord, SubscriptionSnapshot, TierRecord } from './model.ts';

/**
 * Where subscriptions come from: Stripe (test mode or the local Stripe-compatible server) through
 * the SDK, or an in-memory source in tests. Reads are always fresh: the membership decision never
 * trusts a webhook's snapshot.
 */
export interface SubscriptionSource {
  /** The subscription as Stripe has it now; undefined when Stripe does not know it (deleted for good). */
  retrieve(subscriptionId: string): Promise<SubscriptionSnapshot | undefined>;
  /** Every subscription in every status, across all pages. */
  list(): AsyncIterable<SubscriptionSnapshot>;
  /** Every subscription of one customer, in every status. */
  listForCustomer(customerId: string): Promise<SubscriptionSnapshot[]>;
}

/** Thrown by a SubscriptionSource when Stripe could not be read (network, rate limit, 5xx). */
export { SubscriptionSourceError } from './errors.ts';

/** The Entitlements table: drivers, customers, tiers, webhook dedupe and the IDTAG cache records. */
export interface MembershipStore {
  getDriver(driverId: string): Promise<DriverRecord | undefined>;
  /**
   * Writes a driver unless someone else wrote it since `expectedVersion` was read (undefined: must
   * not exist yet). Returns false on such a conflict; the caller re-reads and retries.
   */
  putDriver(record: DriverRecord, expectedVersion: number | undefined): Promise<boolean>;
  /** Every driver (the periodic resync walks them). */
  listDrivers(): AsyncIterable<DriverRecord>;
  driverForCustomer(customerId: string): Promise<string | undefined>;
  linkCustomer(customerId: string, driverId: string, at: string): Promise<void>;
  unlinkCustomer(customerId: string, driverId: string): Promise<void>;

  getTier(tier: string): Promise<TierRecord | undefined>;
  /** Stores a tier and its price -> tier map entries; drops map entries of prices it no longer lists. */
  putTier(record: TierRecord, previous: TierRecord | undefined): Promise<void>;
  tierForPrice(priceId: string): Promise<string | undefined>;

  getIdTag(idTag: string): Promise<IdTagRecord | undefined>;
  /**
   * Replaces an idTag record only if it is still the one read (`expectedUpdatedAt`, undefined: must
   * not exist). False on a conflict: a concurrent admin edit or a newer derivation got there first.
   */
  replaceIdTag(record: IdTagRecord, expectedUpdatedAt: string | undefined): Promise<boolean>;

  /** True when this Stripe event id was processed already. */
  webhookProcessed(eventId: string): Promise<boolean>;
  /** Remembers a processed event id until `expiresAt` (epoch seconds, DynamoDB TTL). */
  recordWebhook(eventId: string, type: string, processedAt: string, expiresAt: number): Promise<void>;
}
