import Stripe from 'stripe';
import type { SubscriptionSnapshot } from '../../functions/entitlements/domain/model.ts';
import type { SubscriptionSource } from '../../functions/entitlements/domain/ports.ts';
import { systemClock, type Clock } from '../../functions/shared/clock.ts';

/**
 * Stripe as seen from a webhook receiver, without the emulator: subscriptions held in memory (a
 * SubscriptionSource for a local stack), Stripe event bodies, and webhooks signed and posted the
 * way Stripe does. Used by the benchmarks and the tests that drive the membership webhooks.
 */

/** The webhook signing secret a local stack fed by these helpers checks. */
export const LOCAL_WEBHOOK_SECRET = 'whsec_test_voltledger_memberships';

/** Subscriptions held in memory, as Stripe would answer for them now; the caller changes them at will. */
export class InMemorySubscriptions implements SubscriptionSource {
  readonly subscriptions = new Map<string, SubscriptionSnapshot>();
  /** How many times a subscription was read (a read costs a Stripe request). */
  retrieves = 0;
  /** Resolves before each retrieve; lets a test hold a read while something else happens. */
  gate: (() => Promise<void>) | undefined;

  /** Creates (customerId required) or changes a subscription. */
  set(subscription: Partial<SubscriptionSnapshot> & Pick<SubscriptionSnapshot, 'id'>): SubscriptionSnapshot {
    const full: SubscriptionSnapshot = {
      customerId: 'cus_unknown',
      status: 'active',
      priceIds: ['price_plus_monthly'],
      currentPeriodStart: '2026-11-01T00:00:00.000Z',
      currentPeriodEnd: '2026-12-01T00:00:00.000Z',
      collectionPaused: false,
      createdAt: '2026-10-01T00:00:00.000Z',
      ...this.subscriptions.get(subscription.id),
      ...subscription,
    };
    this.subscriptions.set(full.id, full);
    return full;
  }

  async retrieve(id: string) {
    this.retrieves += 1;
    await this.gate?.();
    const s = this.subscriptions.get(id);
    return s ? { ...s } : undefined;
  }

  async *list() {
    for (const s of [...this.subscriptions.values()]) yield { ...s };
  }

  async listForCustomer(customerId: string) {
    return [...this.subscriptions.values()].filter((s) => s.customerId === customerId).map((s) => ({ ...s }));
  }
}

let sequence = 0;

/** A Stripe event as Stripe sends it (the fields the handlers read, plus the envelope), created at `clock`'s now. */
export function stripeEvent(type: string, object: Record<string, unknown>, id?: string, clock: Clock = systemClock) {
  const created = Math.floor(clock.now().getTime() / 1000);
  return {
    id: id ?? `evt_local_${++sequence}_${created}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object },
  };
}

/** A subscription event body (the snapshot may be stale on purpose: handlers must not trust it). */
export const subscriptionEvent = (type: string, subscription: { id: string; customer: string; status?: string }, id?: string) =>
  stripeEvent(type, { object: 'subscription', id: subscription.id, customer: subscription.customer, status: subscription.status ?? 'active', items: { object: 'list', data: [] } }, id);

/** Signs a body the way Stripe does: `Stripe-Signature: t=...,v1=...`. */
export function signWebhook(payload: string, options: { secret?: string; timestamp?: number } = {}): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? LOCAL_WEBHOOK_SECRET, ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}) });
}

/** Posts a signed webhook; returns the status and body. */
export async function postWebhook(url: string, event: unknown, options: { secret?: string; timestamp?: number; signature?: string } = {}) {
  const payload = JSON.stringify(event);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': options.signature ?? signWebhook(payload, options) },
    body: payload,
  });
  return { status: response.status, body: (await response.json()) as any };
}
