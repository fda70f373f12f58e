import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { MembershipConflictError } from './domain/errors.ts';
import { applyDriverEntitlement, chooseMembership, decideMembership, driverEntitlement, sameMembership } from './domain/membership.ts';
import type { DriverRecord, IdTagRecord, MembershipPolicy, MembershipState, SubscriptionSnapshot } from './domain/model.ts';
import type { MembershipStore, SubscriptionSource } from './domain/ports.ts';

export interface MembershipSyncDeps {
  store: MembershipStore;
  subscriptions: SubscriptionSource;
  policy: MembershipPolicy;
  clock: Clock;
  log: Log;
}

/** What one driver refresh did. */
export interface DriverRefresh {
  driverId: string;
  before?: MembershipState;
  after?: MembershipState;
  /** The membership decision changed. */
  membershipChanged: boolean;
  /** idTags whose cached record was rewritten because it differed (status, billing or tariff). */
  idTagsRewritten: string[];
}

/** What `resyncMemberships` found and repaired. */
export interface ResyncReport {
  /** Drivers checked. */
  checked: number;
  /** Subscriptions listed from Stripe. */
  subscriptions: number;
  changed: Array<{ driverId: string; from: MembershipSummary | null; to: MembershipSummary | null; idTagsRewritten: string[] }>;
  /** Drivers that could not be refreshed (the next run retries them). */
  failed: Array<{ driverId: string; error: string }>;
}

export type MembershipSummary = Pick<MembershipState, 'subscriptionId' | 'tier' | 'status' | 'grants' | 'reason'>;

const summary = (m: MembershipState | undefined): MembershipSummary | null =>
  m ? { subscriptionId: m.subscriptionId, ...(m.tier ? { tier: m.tier } : {}), status: m.status, grants: m.grants, reason: m.reason } : null;

const MAX_ATTEMPTS = 5;

/**
 * Keeps the entitlement cache in step with Stripe. Every refresh re-reads the subscriptions from
 * Stripe instead of trusting an event's snapshot, so events arriving late, twice or out of order
 * all converge on Stripe's current state. The driver record is written with optimistic
 * concurrency (its `version`), and each idTag rewrite carries that version, so a refresh that read
 * Stripe earlier can never overwrite one that read it later.
 */
export function createMembershipSync(deps: MembershipSyncDeps) {
  const { store, subscriptions, policy, clock, log } = deps;

  async function decide(snapshot: SubscriptionSnapshot | undefined, subscriptionId: string) {
    if (!snapshot) {
      const gone: MembershipState = { subscriptionId, status: 'canceled', grants: false, reason: 'subscription-gone' };
      return { state: gone, createdAt: '' };
    }
    const tiers = new Map<string, string | undefined>();
    for (const priceId of snapshot.priceIds) tiers.set(priceId, await store.tierForPrice(priceId));
    const state = decideMembership(snapshot, (p) => tiers.get(p), policy, clock.now());
    if (state.reason === 'unknown-price') log.warn('subscription prices map to no membership tier', { subscriptionId, priceIds: snapshot.priceIds });
    return { state, createdAt: snapshot.createdAt };
  }

  /** Rewrites one idTag from the driver; true when the cached answer changed. */
  async function rewriteIdTag(idTag: string, driver: DriverRecord, at: string): Promise<boolean> {
    const tier = driver.membership?.grants && driver.membership.tier ? await store.getTier(driver.membership.tier) : undefined;
    const entitlement = driverEntitlement(driver, tier);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = await store.getIdTag(idTag);
      if (current && current.driverId !== undefined && current.driverId !== driver.driverId) {
        log.warn('idTag belongs to another driver; not rewritten', { idTag, driverId: driver.driverId, owner: current.driverId });
        return false;
      }
      // A refresh that derived from a newer driver version already wrote this tag.
      if (current?.driverVersion !== undefined && current.driverId === driver.driverId && current.driverVersion > driver.version) return false;
      const base: IdTagRecord = current ?? { idTag, status: 'Accepted', updatedAt: at };
      const next = applyDriverEntitlement(base, driver, entitlement, at);
      if (current && sameAnswer(current, next) && current.driverVersion === driver.version) return false;
      if (await store.replaceIdTag(next, current?.updatedAt)) return !current || !sameAnswer(current, next);
    }
    throw new MembershipConflictError(`idTag ${idTag} kept changing during a membership refresh`);
  }

  /**
   * Re-reads a driver's subscriptions from Stripe (the given ones, plus the one on record) and
   * rewrites the driver and every idTag of theirs. `prefetched` (the resync's listing) saves the
   * reads, but a change found in it is confirmed by a fresh read before it is written: a listing
   * taken before a webhook's refresh must not undo it.
   */
  async function refreshDriver(
    driverId: string,
    subscriptionIds: string[],
    sourceEventId: string,
    prefetched?: ReadonlyMap<string, SubscriptionSnapshot>,
  ): Promise<DriverRefresh | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const driver = await store.getDriver(driverId);
      if (!driver) return undefined;
      const ids = [...new Set([...subscriptionIds, ...(driver.membership ? [driver.membership.subscriptionId] : [])])];
      const read = async (id: string, fresh: boolean) => {
        const snapshot = !fresh && prefetched?.has(id) ? prefetched.get(id) : await subscriptions.retrieve(id);
        // A subscription of another customer says nothing about this driver.
        if (snapshot && driver.stripeCustomerId && snapshot.customerId !== driver.stripeCustomerId) return undefined;
        return decide(snapshot, id);
      };
      const readAll = async (fresh: boolean) => (await Promise.all(ids.map((id) => read(id, fresh)))).filter((c) => c !== undefined);
      let chosen = chooseMembership(await readAll(false));
      if (prefetched && !sameMembership(driver.membership, chosen)) chosen = chooseMembership(await readAll(true));
      const at = clock.now().toISOString();
      const membershipChanged = !sameMembership(driver.membership, chosen);
      let current = driver;
      if (membershipChanged) {
        const { membership: _old, ...rest } = driver;
        const next: DriverRecord = {
          ...rest,
          ...(chosen ? { membership: { ...chosen, sourceEventId, refreshedAt: at } } : {}),
          version: driver.version + 1,
          updatedAt: at,
        };
        if (!(await store.putDriver(next, driver.version))) continue;
        current = next;
        log.info('membership changed', { driverId, from: summary(driver.membership), to: summary(chosen), sourceEventId });
      }
      // Rewritten even when nothing changed: it repairs a refresh that died after the driver write.
      const idTagsRewritten: string[] = [];
      for (const idTag of current.idTags) if (await rewriteIdTag(idTag, current, at)) idTagsRewritten.push(idTag);
      return { driverId, ...(driver.membership ? { before: driver.membership } : {}), ...(chosen ? { after: chosen } : {}), membershipChanged, idTagsRewritten };
    }
    throw new MembershipConflictError(`driver ${driverId} kept changing during a membership refresh`);
  }

  return {
    refreshDriver,

    /**
     * Refreshes a driver from every subscription of their Stripe customer (a driver just linked to
     * a customer has no membership on record to start from).
     */
    async refreshDriverFromStripe(driverId: string, sourceEventId: string): Promise<DriverRefresh | undefined> {
      const driver = await store.getDriver(driverId);
      if (!driver) return undefined;
      const own = driver.stripeCustomerId ? await subscriptions.listForCustomer(driver.stripeCustomerId) : [];
      return refreshDriver(driverId, own.map((s) => s.id), sourceEventId, new Map(own.map((s) => [s.id, s])));
    },

    /** Rewrites a driver's idTags from the membership on record, without asking Stripe. */
    async applyDriver(driverId: string): Promise<string[]> {
      const driver = await store.getDriver(driverId);
      if (!driver) return [];
      const at = clock.now().toISOString();
      const rewritten: string[] = [];
      for (const idTag of driver.idTags) if (await rewriteIdTag(idTag, driver, at)) rewritten.push(idTag);
      return rewritten;
    },

    /**
     * Applies a subscription or invoice event: finds the driver by the Stripe customer and
     * refreshes them from Stripe. Returns undefined when the customer is no VoltLedger driver.
     */
    async syncFromEvent(input: { customerId: string; subscriptionId?: string; eventId: string }): Promise<DriverRefresh | undefined> {
      const driverId = await store.driverForCustomer(input.customerId);
      if (!driverId) {
        log.info('Stripe customer is not a VoltLedger driver; event ignored', { customerId: input.customerId, eventId: input.eventId });
        return undefined;
      }
      return refreshDriver(driverId, input.subscriptionId ? [input.subscriptionId] : [], input.eventId);
    },

    /**
     * The periodic full resync: lists every subscription from Stripe, recomputes every driver and
     * rewrites whatever a lost webhook left wrong. Reports what it changed.
     */
    async resyncMemberships(): Promise<ResyncReport> {
      const byCustomer = new Map<string, SubscriptionSnapshot[]>();
      let listed = 0;
      for await (const subscription of subscriptions.list()) {
        listed += 1;
        byCustomer.set(subscription.customerId, [...(byCustomer.get(subscription.customerId) ?? []), subscription]);
      }
      const report: ResyncReport = { checked: 0, subscriptions: listed, changed: [], failed: [] };
      for await (const driver of store.listDrivers()) {
        report.checked += 1;
        const own = driver.stripeCustomerId ? (byCustomer.get(driver.stripeCustomerId) ?? []) : [];
        try {
          const result = await refreshDriver(driver.driverId, own.map((s) => s.id), 'resync', new Map(own.map((s) => [s.id, s])));
          if (result && (result.membershipChanged || result.idTagsRewritten.length > 0)) {
            report.changed.push({ driverId: driver.driverId, from: summary(result.before), to: summary(result.after), idTagsRewritten: result.idTagsRewritten });
          }
        } catch (error) {
          log.error('membership resync failed for a driver', { driverId: driver.driverId, error: String(error) });
          report.failed.push({ driverId: driver.driverId, error: (error as Error).message });
        }
      }
      return report;
    },
  };
}

export type MembershipSync = ReturnType<typeof createMembershipSync>;

/** Whether two idTag records give the same answer and price the same (what Authorize and the session snapshot read). */
function sameAnswer(a: IdTagRecord, b: IdTagRecord): boolean {
  return a.status === b.status && a.tariffId === b.tariffId && JSON.stringify(a.billing ?? null) === JSON.stringify(b.billing ?? null) && a.blockedReason === b.blockedReason;
}
