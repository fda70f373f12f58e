import { z } from 'zod';
import type { Clock } from '../shared/clock.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { idTagKey } from '../ocpp/domain/model.ts';
import { SubscriptionSourceError } from '../entitlements/domain/errors.ts';
import type { DriverRecord, TierRecord } from '../entitlements/domain/model.ts';
import type { MembershipStore } from '../entitlements/domain/ports.ts';
import type { MembershipSync } from '../entitlements/membership-sync.ts';
import { json, jsonBody, parseWith, type HttpEvent, type HttpResult } from '../shared/http.ts';

/** What the membership routes need; `stripeConfigured` says whether Stripe can be asked. */
export interface MembershipAdminDeps {
  store: MembershipStore;
  sync: MembershipSync;
  stripeConfigured: boolean;
}

type Route = { method: string; pattern: RegExp; handle: (match: string[], event: HttpEvent) => Promise<HttpResult> };

const SLUG = /^[A-Za-z0-9_.:-]{1,64}$/;
const slug = (field: string, value: string) => {
  if (!SLUG.test(value)) throw new ValidationError(`${field} must be 1-64 letters, digits or _.:-`, field);
};
const ID_TAG = z.string().min(1).max(20, 'an idTag is at most 20 characters (OCPP CiString20)');
const TARIFF_ID = z.string().min(1).max(36);

const DriverBody = z.strictObject({
  stripeCustomerId: z.string().regex(/^cus_[A-Za-z0-9]+$/, 'must be a Stripe customer id (cus_...)').optional(),
  defaultPaymentMethodId: z.string().regex(/^pm_[A-Za-z0-9_]+$/, 'must be a Stripe payment method id (pm_...)').optional(),
  idTags: z.array(ID_TAG).max(100).default([]),
});

const TierBody = z.strictObject({
  name: z.string().min(1).max(128),
  stripePriceIds: z.array(z.string().regex(/^price_[A-Za-z0-9_]+$/, 'must be a Stripe price id (price_...)')).min(1).max(50),
  // Tier names follow the tariff's voltledger.member_tiers keys.
  tariffId: TARIFF_ID.optional(),
});

const BlockBody = z.strictObject({ reason: z.string().max(255).optional() });

/**
 * Admin routes for drivers (Stripe customer, payment method, idTags) and membership tiers (Stripe
 * prices -> tier, tariff), plus blocking a card and running the resync. Fleet accounts: fleet-routes.ts.
 */
export function membershipRoutes(deps: MembershipAdminDeps, clock: Clock, log: Log): Route[] {
  const { store, sync } = deps;

  /** Rewrites a driver's idTags: from Stripe when configured, else from the membership on record. */
  async function refresh(driverId: string): Promise<{ warning?: string }> {
    if (deps.stripeConfigured) {
      try {
        await sync.refreshDriverFromStripe(driverId, 'admin');
        return {};
      } catch (error) {
        if (!(error instanceof SubscriptionSourceError)) throw error;
        log.warn('driver saved, but Stripe could not be read; idTags follow the membership on record', { driverId, error: error.message });
        await sync.applyDriver(driverId);
        return { warning: `Stripe could not be read (${error.message}); the membership on record applies until the next webhook or resync` };
      }
    }
    await sync.applyDriver(driverId);
    return {};
  }

  return [
    {
      method: 'PUT',
      pattern: /^\/admin\/drivers\/([^/]+)$/,
      async handle([driverId], event) {
        slug('driverId', driverId!);
        const body = parseWith(DriverBody, jsonBody(event));
        const idTags = [...new Set(body.idTags.map(idTagKey))];
        const at = clock.now().toISOString();
        const existing = await store.getDriver(driverId!);
        for (const [index, idTag] of idTags.entries()) {
          const tag = await store.getIdTag(idTag);
          if (tag?.driverId && tag.driverId !== driverId) throw new ValidationError(`idTag ${idTag} belongs to driver ${tag.driverId}`, `idTags[${index}]`);
        }
        if (body.stripeCustomerId) {
          const owner = await store.driverForCustomer(body.stripeCustomerId);
          if (owner && owner !== driverId) throw new ValidationError(`${body.stripeCustomerId} is the customer of driver ${owner}`, 'stripeCustomerId');
        }
        const next: DriverRecord = {
          driverId: driverId!,
          ...(body.stripeCustomerId ? { stripeCustomerId: body.stripeCustomerId } : {}),
          ...(body.defaultPaymentMethodId ? { defaultPaymentMethodId: body.defaultPaymentMethodId } : {}),
          idTags,
          // A new customer means the membership on record says nothing about this driver any more.
          ...(existing?.membership && existing.stripeCustomerId === body.stripeCustomerId ? { membership: existing.membership } : {}),
          version: (existing?.version ?? 0) + 1,
          updatedAt: at,
        };
        if (!(await store.putDriver(next, existing?.version))) {
          return json(409, { error: 'Conflict', message: `driver ${driverId} changed meanwhile; retry` });
        }
        if (body.stripeCustomerId) await store.linkCustomer(body.stripeCustomerId, driverId!, at);
        if (existing?.stripeCustomerId && existing.stripeCustomerId !== body.stripeCustomerId) await store.unlinkCustomer(existing.stripeCustomerId, driverId!);
        // idTags no longer listed stop following the driver; they keep their operator status.
        for (const idTag of existing?.idTags ?? []) {
          if (idTags.includes(idTag)) continue;
          const tag = await store.getIdTag(idTag);
          if (!tag || tag.driverId !== driverId) continue;
          const { driverId: _d, driverVersion: _v, blockedReason: _r, billing: _b, tariffId: _t, baseStatus, ...rest } = tag;
          await store.replaceIdTag({ ...rest, status: baseStatus ?? tag.status, updatedAt: at }, tag.updatedAt);
        }
        const outcome = await refresh(driverId!);
        return json(existing ? 200 : 201, { ...(await store.getDriver(driverId!)), ...outcome });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/drivers\/([^/]+)$/,
      async handle([driverId]) {
        const driver = await store.getDriver(driverId!);
        if (!driver) throw new NotFoundError(`driver ${driverId} does not exist`);
        const idTags = await Promise.all(driver.idTags.map((t) => store.getIdTag(t)));
        return json(200, { ...driver, idTagRecords: idTags.filter(Boolean) });
      },
    },
    {
      method: 'PUT',
      pattern: /^\/admin\/membership-tiers\/([^/]+)$/,
      async handle([tier], event) {
        slug('tier', tier!);
        const body = parseWith(TierBody, jsonBody(event));
        const previous = await store.getTier(tier!);
        const record: TierRecord = { tier: tier!, name: body.name, stripePriceIds: [...new Set(body.stripePriceIds)], ...(body.tariffId ? { tariffId: body.tariffId } : {}), updatedAt: clock.now().toISOString() };
        await store.putTier(record, previous);
        return json(previous ? 200 : 201, record);
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/membership-tiers\/([^/]+)$/,
      async handle([tier]) {
        const record = await store.getTier(tier!);
        if (!record) throw new NotFoundError(`membership tier ${tier} does not exist`);
        return json(200, record);
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/id-tags\/([^/]+)\/block$/,
      async handle([idTag], event) {
        const body = event.body?.trim() ? parseWith(BlockBody, jsonBody(event)) : {};
        for (let attempt = 0; attempt < 5; attempt++) {
          const tag = await store.getIdTag(idTag!);
          if (!tag) throw new NotFoundError(`idTag ${idTagKey(idTag!)} is not known`);
          // The operator's block is the base status: no membership change lifts it.
          const next = { ...tag, status: 'Blocked' as const, baseStatus: 'Blocked' as const, ...(body.reason ? { blockedReason: body.reason } : {}), updatedAt: clock.now().toISOString() };
          if (await store.replaceIdTag(next, tag.updatedAt)) return json(200, next);
        }
        return json(409, { error: 'Conflict', message: `idTag ${idTag} kept changing; retry` });
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/jobs\/resync-memberships$/,
      async handle() {
        if (!deps.stripeConfigured) return json(503, { error: 'StripeNotConfigured', message: 'set STRIPE_SECRET_KEY to resync memberships' });
        return json(200, await sync.resyncMemberships());
      },
    },
  ];
}
