import { RPCClient } from 'ocpp-rpc';
import Stripe from 'stripe';
import type { SubscriptionSnapshot } from '../../functions/entitlements/domain/model.ts';
import type { SubscriptionSource } from '../../functions/entitlements/domain/ports.ts';
import { DEMO } from '../../lib/local/seed.ts';
import type { LocalStack } from '../../lib/local/stack.ts';

/**
 * What the benchmarks need of a charge point and of Stripe. The CLI runs the benchmarks, so they
 * live in product code and cannot use test/support/ (tests are not shipped): these are the few
 * pieces of it they use, kept in step with test/support/stack.ts and test/support/stripe.ts.
 */

type RpcClientOptions = ConstructorParameters<typeof RPCClient>[0];

/** The ocpp-rpc client as the benches use it: answers are checked against the schemas, so `any` is safe to read. */
export interface BenchChargePoint {
  call(action: string, params: Record<string, unknown>): Promise<any>;
  close(options?: { force?: boolean }): Promise<unknown>;
}

/** A real OCPP 1.6J charge point with the demo password: ocpp-rpc in strict mode (it validates both directions against the schemas). */
export async function connectChargePoint(stack: LocalStack, identity: string): Promise<BenchChargePoint> {
  const clientOptions: Partial<RpcClientOptions> = {
    endpoint: stack.ocppUrl,
    identity,
    password: DEMO.password,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 20_000,
  };
  const client = new RPCClient(clientOptions as RpcClientOptions);
  await client.connect();
  return client as unknown as BenchChargePoint;
}

/** A MeterValues sample of the energy register (Wh), as charge points send it. */
export function energySample(timestamp: string, wh: number) {
  return {
    timestamp,
    sampledValue: [
      { value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh', context: 'Sample.Periodic' },
      { value: '11000', measurand: 'Power.Active.Import', unit: 'W', context: 'Sample.Periodic' },
    ],
  };
}

/** The webhook secret the benches' local stack checks Stripe signatures with. */
export const WEBHOOK_SECRET = 'whsec_test_voltledger_memberships';

/** Subscriptions held in memory, as Stripe would answer for them now; the bench changes them between webhooks. */
export class InMemorySubscriptions implements SubscriptionSource {
  readonly subscriptions = new Map<string, SubscriptionSnapshot>();

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

/** A subscription event body as Stripe sends it (the fields the handlers read, plus the envelope). */
export function subscriptionEvent(type: string, subscription: { id: string; customer: string; status?: string }, id: string) {
  return {
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object: { object: 'subscription', id: subscription.id, customer: subscription.customer, status: subscription.status ?? 'active', items: { object: 'list', data: [] } } },
  };
}

/** Posts a webhook signed the way Stripe does (`Stripe-Signature: t=...,v1=...`) with {@link WEBHOOK_SECRET}; returns the status. */
export async function postWebhook(url: string, event: unknown): Promise<{ status: number }> {
  const payload = JSON.stringify(event);
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload });
  await response.json();
  return { status: response.status };
}
