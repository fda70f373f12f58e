import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import { DynamoFleetStore } from '../../functions/fleet/adapters/dynamo-fleet.ts';
import { localTableNames } from '../../lib/local/dynamodb.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, waitFor as waitForOnStack } from './stack.ts';

/** Helpers shared by the fault tests (test/e2e/faults-*.test.ts). */

/** The payment policy the fault tests use: a fixed 20.00 hold, raised at 80 % by half the running cost (at least 10.00), at most 100.00. */
export const FAULT_POLICY = {
  hold: { mode: 'fixed', amountMinor: 2000 },
  incrementAtPercent: 80,
  incrementHeadroomPercent: 50,
  incrementMinStepMinor: 1000,
  maxHoldMinor: 10_000,
  onIncrementUnavailable: 'continue',
  smallAmount: 'carry',
  readerMatchWindowSeconds: 120,
};

/** The stack helpers' waitFor, with a longer default for the busier fault runs. */
export const waitFor = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> => waitForOnStack(what, check, timeoutMs);

/** Until neither the emulator's webhooks nor the bus has anything running or waiting (a webhook publishes, a consumer calls Stripe...). */
export async function settleStack(stack: LocalStack): Promise<void> {
  const control = stack.stripeEmulator?.emulator.control;
  for (let round = 0; round < 3; round++) {
    await control?.drainWebhooks();
    await stack.bus.drain();
  }
}

/** A driver with a saved card (a Stripe test token) and one idTag that pays through the app. */
export async function driverWith(stack: LocalStack, card: string, driverId: string, idTag: string): Promise<{ customerId: string }> {
  const stripe = stack.stripeEmulator!.client;
  const customer = await stripe.customers.create({ email: `${driverId}@example.com`, payment_method: card, invoice_settings: { default_payment_method: card } });
  const paymentMethod = customer.invoice_settings.default_payment_method as string;
  const put = await admin(stack, 'PUT', `/drivers/${driverId}`, { stripeCustomerId: customer.id, defaultPaymentMethodId: paymentMethod, idTags: [idTag] });
  if (put.status >= 300) throw new Error(`PUT /drivers/${driverId}: ${put.status} ${JSON.stringify(put.body)}`);
  return { customerId: customer.id };
}

/** What Stripe (the emulator) holds for a set of PaymentIntents: every charge and refund, with amounts. */
export async function moneyAtStripe(stripe: Stripe, paymentIntentIds: string[]) {
  const charges: Array<{ paymentIntent: string; status: string; captured: boolean; amount: number; amountCaptured: number; amountRefunded: number }> = [];
  const refunds: Array<{ paymentIntent: string; amount: number; status: string | null }> = [];
  for (const pi of paymentIntentIds) {
    for (const c of (await stripe.charges.list({ payment_intent: pi, limit: 100 })).data) {
      charges.push({ paymentIntent: pi, status: c.status, captured: c.captured, amount: c.amount, amountCaptured: c.amount_captured, amountRefunded: c.amount_refunded });
    }
    for (const r of (await stripe.refunds.list({ payment_intent: pi, limit: 100 })).data) refunds.push({ paymentIntent: pi, amount: r.amount, status: r.status });
  }
  return { charges, refunds, capturedMinor: charges.reduce((s, c) => s + c.amountCaptured, 0), refundedMinor: refunds.filter((r) => r.status !== 'failed' && r.status !== 'canceled').reduce((s, r) => s + r.amount, 0) };
}

/** Every PaymentIntent the emulator has for a session (by `metadata.sessionId`), oldest first. */
export async function paymentIntentsOf(stripe: Stripe, sessionId: string): Promise<Stripe.PaymentIntent[]> {
  const all = await stripe.paymentIntents.list({ limit: 100 });
  return all.data.filter((pi) => pi.metadata?.sessionId === sessionId).reverse();
}

/** The demo fleet's accrual of a session, read straight from the Fleet table. */
export async function fleetAccrual(stack: LocalStack, accountId: string, sessionId: string) {
  const client = new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    return await new DynamoFleetStore(client, localTableNames().Fleet).getAccrual(accountId, sessionId);
  } finally {
    client.destroy();
  }
}

const STRIPE_ID = /\b(pi|ch|re|cus|pm|txn|evt|in|ii|po|du|we|seti|src|sub|price|prod)_[A-Za-z0-9]+/g;

/**
 * A value with what legitimately differs between two runs of the same sessions taken out: Stripe
 * object ids (random per emulator) become `<pi>`, `<ch>`..., and the fields listed are dropped
 * (wall-clock times of processing, not facts of the session).
 */
export function comparable(value: unknown, dropKeys: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((v) => comparable(v, dropKeys));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .filter((k) => !dropKeys.has(k))
        .sort()
        .map((k) => [k, comparable((value as Record<string, unknown>)[k], dropKeys)]),
    );
  }
  return typeof value === 'string' ? value.replace(STRIPE_ID, '<$1>') : value;
}
