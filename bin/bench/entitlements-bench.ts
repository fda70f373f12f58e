import { performance } from 'node:perf_hooks';
import { silentLog } from '../../functions/shared/log.ts';
import { startLocalStack } from '../../lib/local/stack.ts';
import { summarizeLatencies } from '../simulator/stats.ts';
import { InMemorySubscriptions, LOCAL_WEBHOOK_SECRET as WEBHOOK_SECRET, postWebhook, subscriptionEvent } from '../../lib/local/stripe-webhook-client.ts';
import type { BenchResult } from './types.ts';

export interface EntitlementsBenchOptions {
  /** Webhooks posted, one at a time (default 100). */
  webhooks?: number;
  /** idTags of the driver, all rewritten per webhook (default 3: card, app, spare card). */
  idTagsPerDriver?: number;
  progress?: (line: string) => void;
}

const GOAL_MS = 1000;

/**
 * Webhook-to-cache latency on an in-memory local stack: a signed `customer.subscription.updated`
 * is posted to `/webhooks/stripe` while the subscription flips between active and past_due; the
 * clock runs from the POST until the IDTAG record the Authorize path reads shows the new billing
 * profile (polled with the same eventually consistent GetItem Authorize uses). Subscriptions come
 * from an in-memory source, so the figure is VoltLedger's own share, without Stripe's API latency
 * (one subscriptions.retrieve per webhook on top, typically 100-300 ms against api.stripe.com).
 *
 * Authorize with a warm cache over the local WebSocket (200 charge points) is measured by the OCPP
 * bench: a member's idTag is answered by the same single GetItem.
 */
export async function runEntitlementsBench(options: EntitlementsBenchOptions = {}): Promise<BenchResult> {
  const webhooks = options.webhooks ?? 100;
  const tagCount = options.idTagsPerDriver ?? 3;
  const stripe = new InMemorySubscriptions();
  const stack = await startLocalStack({ port: 0, sweepIntervalMs: 0, log: silentLog, seed: false, stripe: { subscriptions: stripe, webhookSecret: WEBHOOK_SECRET } });
  try {
    const adminCall = async (method: string, path: string, body: unknown) => {
      const response = await fetch(`${stack.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${stack.adminToken}` }, body: JSON.stringify(body) });
      if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    };
    stripe.set({ id: 'sub_bench', customerId: 'cus_bench', status: 'active' });
    await adminCall('PUT', '/membership-tiers/plus', { name: 'Plus', stripePriceIds: ['price_plus_monthly'] });
    const idTags = Array.from({ length: tagCount }, (_, i) => `BENCH-MEMBER-${i}`);
    await adminCall('PUT', '/drivers/bench', { stripeCustomerId: 'cus_bench', defaultPaymentMethodId: 'pm_bench', idTags });
    const watched = idTags[tagCount - 1]!;

    const cacheLatencies: number[] = [];
    const responseLatencies: number[] = [];
    for (let i = 0; i < webhooks; i++) {
      const lapse = i % 2 === 0;
      stripe.set({ id: 'sub_bench', status: lapse ? 'past_due' : 'active' });
      const expected = lapse ? 'retail' : 'member';
      const started = performance.now();
      const posting = postWebhook(stack.stripeWebhookUrl, subscriptionEvent('customer.subscription.updated', { id: 'sub_bench', customer: 'cus_bench' }, `evt_bench_${i}_${Date.now()}`)).then((r) => {
        responseLatencies.push(performance.now() - started);
        if (r.status !== 200) throw new Error(`webhook answered ${r.status}`);
      });
      for (;;) {
        const record = await stack.stores.entitlements.get(watched);
        if ((record?.billing as { kind?: string } | undefined)?.kind === expected) break;
        if (performance.now() - started > 10_000) throw new Error('the cache did not change within 10 s');
        await new Promise((r) => setImmediate(r));
      }
      cacheLatencies.push(performance.now() - started);
      await posting;
      if ((i + 1) % 25 === 0) options.progress?.(`entitlements: ${i + 1}/${webhooks} webhooks`);
    }
    const cache = summarizeLatencies(cacheLatencies);
    const response = summarizeLatencies(responseLatencies);
    const ms = (n: number) => n.toFixed(1);
    return {
      name: 'Entitlements: webhook to cache (local stack)',
      rows: [
        { metric: 'webhook -> IDTAG record changed, p50', value: ms(cache.p50Ms), unit: 'ms', goal: `<= ${GOAL_MS} ms`, met: cache.p50Ms <= GOAL_MS },
        { metric: 'webhook -> IDTAG record changed, p99', value: ms(cache.p99Ms), unit: 'ms', goal: `<= ${GOAL_MS} ms`, met: cache.p99Ms <= GOAL_MS },
        { metric: 'webhook -> IDTAG record changed, max', value: ms(cache.maxMs), unit: 'ms' },
        { metric: 'webhook HTTP answer (200), p50', value: ms(response.p50Ms), unit: 'ms' },
        { metric: 'webhook HTTP answer (200), p99', value: ms(response.p99Ms), unit: 'ms' },
      ],
      notes:
        `${webhooks} signed customer.subscription.updated webhooks posted one at a time, the subscription alternating active / past_due; ` +
        `the driver has ${tagCount} idTags, all rewritten per webhook, the last one watched. In-memory subscription source (no Stripe API latency); dynalite.`,
    };
  } finally {
    await stack.close();
  }
}
