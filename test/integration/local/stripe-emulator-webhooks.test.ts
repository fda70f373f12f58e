import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeEmulator, stripeClientFor, type StripeEmulator } from '../../../lib/local/stripe/index.ts';

const SECRET = 'whsec_test_webhooks';

interface Received {
  rawBody: string;
  signature: string;
  event: Stripe.Event;
}

/** A webhook receiver that keeps the raw body, answering 500 for the first `failFirst` requests. */
async function aReceiver(failFirst = 0): Promise<{ url: string; received: Received[]; statuses: number[]; server: Server }> {
  const received: Received[] = [];
  const statuses: number[] = [];
  let failuresLeft = failFirst;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const status = failuresLeft-- > 0 ? 500 : 200;
      statuses.push(status);
      if (status === 200) received.push({ rawBody, signature: String(req.headers['stripe-signature']), event: JSON.parse(rawBody) as Stripe.Event });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stripe/webhook`, received, statuses, server };
}

const servers: Server[] = [];
let emulator: StripeEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emulator = await startStripeEmulator({ host: '127.0.0.1', port: 0, webhookSecret: SECRET, webhookRetry: { baseDelayMs: 20, maxAttempts: 5 } });
  stripe = stripeClientFor(emulator);
});

afterAll(async () => {
  await emulator?.close();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

async function aCustomerWithCard(): Promise<{ customer: Stripe.Customer; paymentMethod: Stripe.PaymentMethod }> {
  const customer = await stripe.customers.create({ email: 'driver@example.com', metadata: { driverId: 'd-1' } });
  const paymentMethod = await stripe.paymentMethods.attach('pm_card_visa', { customer: customer.id });
  const updated = await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: paymentMethod.id } });
  return { customer: updated, paymentMethod };
}

async function aMembershipPrice(): Promise<Stripe.Price> {
  return stripe.prices.create({ unit_amount: 990, currency: 'eur', recurring: { interval: 'month' }, product_data: { name: 'VoltLedger Plus' } });
}

describe('Stripe emulator: events and webhooks', () => {
  describe('signed delivery', () => {
    it('delivers events whose signature verifies with stripe.webhooks.constructEvent', async () => {
      const receiver = await aReceiver();
      servers.push(receiver.server);
      emulator.addWebhookEndpoint(receiver.url);

      const hold = await stripe.paymentIntents.create({ amount: 4000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, capture_method: 'manual' });
      await emulator.control.drainWebhooks();

      const types = receiver.received.map((r) => r.event.type);
      expect(types).toEqual(expect.arrayContaining(['payment_intent.created', 'charge.succeeded', 'payment_intent.amount_capturable_updated']));
      for (const { rawBody, signature } of receiver.received) {
        expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
        const event = stripe.webhooks.constructEvent(rawBody, signature, SECRET);
        expect(event.id).toMatch(/^evt_/);
      }
      expect(() => stripe.webhooks.constructEvent(receiver.received[0]!.rawBody, receiver.received[0]!.signature, 'whsec_wrong')).toThrow(
        Stripe.errors.StripeSignatureVerificationError,
      );
      const capturable = receiver.received.find((r) => r.event.type === 'payment_intent.amount_capturable_updated')!.event;
      expect((capturable.data.object as Stripe.PaymentIntent).id).toBe(hold.id);
      expect(capturable.data.previous_attributes).toMatchObject({ status: 'requires_confirmation', amount_capturable: 0 });
      expect(await stripe.events.retrieve(capturable.id)).toMatchObject({ id: capturable.id, type: capturable.type, pending_webhooks: 0 });
    });

    it('retries with backoff after the endpoint answers 500, and delivers once acknowledged', async () => {
      const receiver = await aReceiver(2);
      servers.push(receiver.server);
      const endpointOnly = await startStripeEmulator({ webhookSecret: SECRET, webhookUrls: [receiver.url], webhookRetry: { baseDelayMs: 20 } });
      try {
        await stripeClientFor(endpointOnly).customers.create({ email: 'retry@example.com' });
        await endpointOnly.control.drainWebhooks();

        expect(receiver.statuses).toEqual([500, 500, 200]);
        expect(receiver.received.map((r) => r.event.type)).toEqual(['customer.created']);
        expect(endpointOnly.control.deliveries().map((d) => d.attempt)).toEqual([1, 2, 3]);
      } finally {
        await endpointOnly.close();
      }
    });

    it('can deliver every event twice, and hold deliveries to release them out of order', async () => {
      const receiver = await aReceiver();
      servers.push(receiver.server);
      const chaotic = await startStripeEmulator({ webhookSecret: SECRET, webhookUrls: [receiver.url] });
      const client = stripeClientFor(chaotic);
      try {
        chaotic.control.setDeliveryChaos({ duplicate: true });
        const customer = await client.customers.create({ email: 'twice@example.com' });
        await chaotic.control.drainWebhooks();
        expect(receiver.received.filter((r) => r.event.type === 'customer.created')).toHaveLength(2);

        chaotic.control.setDeliveryChaos({});
        chaotic.control.pauseWebhooks();
        await client.customers.update(customer.id, { name: 'First' });
        await client.customers.update(customer.id, { name: 'Second' });
        chaotic.control.resumeWebhooks('reverse');
        await chaotic.control.drainWebhooks();

        const updates = receiver.received.filter((r) => r.event.type === 'customer.updated').map((r) => (r.event.data.object as Stripe.Customer).name);
        expect(updates).toEqual(['Second', 'First']);
      } finally {
        await chaotic.close();
      }
    });

    it('lists events newest first with a type filter and pagination', async () => {
      // Events of its own, so there is more than a page (and some customer.created) whatever ran before.
      for (let i = 1; i <= 3; i++) await stripe.customers.create({ email: `listed-${i}@example.com` });
      const page1 = await stripe.events.list({ limit: 2 });
      const page2 = await stripe.events.list({ limit: 2, starting_after: page1.data[1]!.id });

      expect(page1).toMatchObject({ object: 'list', has_more: true, url: '/v1/events' });
      expect(page1.data).toHaveLength(2);
      expect(page1.data[0]!.created).toBeGreaterThanOrEqual(page1.data[1]!.created);
      expect(page2.data[0]!.id).not.toBe(page1.data[1]!.id);
      const created = await stripe.events.list({ type: 'customer.created' });
      expect(created.data.every((e) => e.type === 'customer.created')).toBe(true);
    });
  });

  describe('subscriptions', () => {
    it('emits the lifecycle events in order, with previous_attributes on updates', async () => {
      const { customer } = await aCustomerWithCard();
      const price = await aMembershipPrice();

      const subscription = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], metadata: { plan: 'plus' } });
      expect(subscription).toMatchObject({ status: 'active', customer: customer.id, metadata: { plan: 'plus' } });
      expect(subscription.items.data[0]!.price.id).toBe(price.id);

      emulator.control.setSubscriptionStatus(subscription.id, 'past_due');
      emulator.control.setSubscriptionStatus(subscription.id, 'active');
      emulator.control.setSubscriptionStatus(subscription.id, 'paused');
      const resumed = await stripe.subscriptions.resume(subscription.id);
      expect(resumed.status).toBe('active');
      const paused = await stripe.subscriptions.update(subscription.id, { pause_collection: { behavior: 'void' }, cancel_at_period_end: true });
      expect(paused).toMatchObject({ pause_collection: { behavior: 'void' }, cancel_at_period_end: true });
      const canceled = await stripe.subscriptions.cancel(subscription.id);
      expect(canceled.status).toBe('canceled');

      const mine = emulator.control
        .events()
        .filter((e) => e.data.object.id === subscription.id || e.data.object.parent?.subscription_details?.subscription === subscription.id)
        .map((e) => e.type)
        .filter((type) => type.startsWith('customer.subscription.') || type === 'invoice.paid' || type === 'invoice.payment_failed');
      expect(mine).toEqual([
        'customer.subscription.created',
        'invoice.paid',
        'invoice.payment_failed',
        'customer.subscription.updated',
        'invoice.paid',
        'customer.subscription.updated',
        'customer.subscription.paused',
        'customer.subscription.updated',
        'customer.subscription.resumed',
        'customer.subscription.updated',
        'customer.subscription.updated',
        'customer.subscription.deleted',
      ]);
      const pastDue = emulator.control.events().find((e) => e.type === 'customer.subscription.updated' && e.data.object.id === subscription.id)!;
      expect(pastDue.data.previous_attributes).toMatchObject({ status: 'active' });
      expect(pastDue.data.object.status).toBe('past_due');
    });

    it('fails the first invoice when the card declines: incomplete with invoice.payment_failed', async () => {
      const customer = await stripe.customers.create({ payment_method: 'pm_card_chargeDeclined', invoice_settings: { default_payment_method: 'pm_card_chargeDeclined' } });
      const price = await aMembershipPrice();

      const subscription = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });

      expect(subscription.status).toBe('incomplete');
      const invoice = await stripe.invoices.retrieve(subscription.latest_invoice as string);
      expect(invoice).toMatchObject({ status: 'open', attempted: true, amount_due: 990 });
      expect(emulator.control.events().some((e) => e.type === 'invoice.payment_failed' && e.data.object.id === invoice.id)).toBe(true);
    });

    it('renews at the period end when time moves on, and ends a cancel_at_period_end subscription', async () => {
      const { customer } = await aCustomerWithCard();
      const price = await aMembershipPrice();
      const renewing = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
      const ending = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }], cancel_at_period_end: true });
      const firstEnd = renewing.items.data[0]!.current_period_end;

      emulator.control.advanceTime(firstEnd - emulator.control.now() + 60);

      const renewed = await stripe.subscriptions.retrieve(renewing.id);
      expect(renewed.status).toBe('active');
      expect(renewed.items.data[0]!.current_period_start).toBe(firstEnd);
      expect(renewed.latest_invoice).not.toBe(renewing.latest_invoice);
      expect((await stripe.invoices.retrieve(renewed.latest_invoice as string)).billing_reason).toBe('subscription_cycle');
      expect((await stripe.subscriptions.retrieve(ending.id)).status).toBe('canceled');
    });

    it('lists by customer and status, paginated, leaving canceled ones out by default', async () => {
      const { customer } = await aCustomerWithCard();
      const price = await aMembershipPrice();
      const created = [];
      for (let i = 0; i < 3; i++) created.push(await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] }));
      await stripe.subscriptions.cancel(created[0]!.id);

      const page1 = await stripe.subscriptions.list({ customer: customer.id, limit: 1 });
      const page2 = await stripe.subscriptions.list({ customer: customer.id, limit: 1, starting_after: page1.data[0]!.id });
      const canceled = await stripe.subscriptions.list({ customer: customer.id, status: 'canceled' });
      const all = await stripe.subscriptions.list({ customer: customer.id, status: 'all' });

      expect(page1.has_more).toBe(true);
      expect([page1.data[0]!.id, page2.data[0]!.id]).toEqual([created[2]!.id, created[1]!.id]);
      expect(page2.has_more).toBe(false);
      expect(canceled.data.map((s) => s.id)).toEqual([created[0]!.id]);
      expect(all.data).toHaveLength(3);
    });
  });
});

describe('Stripe emulator: webhook durability', () => {
  it('redelivers after a restart what an unreachable endpoint did not acknowledge', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'voltledger-stripe-webhooks-'));
    const receiver = await aReceiver();
    servers.push(receiver.server);
    const unreachable = 'http://127.0.0.1:9/unreachable';
    try {
      const first = await startStripeEmulator({ webhookSecret: SECRET, dataDir, webhookUrls: [unreachable], webhookRetry: { baseDelayMs: 60_000 } });
      const customer = await stripeClientFor(first).customers.create({ email: 'later@example.com' });
      await first.close();

      // The second run knows the endpoint under its new address (a restarted receiver).
      const statePath = join(dataDir, 'stripe', 'state.json');
      writeFileSync(statePath, readFileSync(statePath, 'utf8').replaceAll(unreachable, receiver.url));
      const second = await startStripeEmulator({ webhookSecret: SECRET, dataDir });
      try {
        await second.control.drainWebhooks();
        const delivered = receiver.received.filter((r) => (r.event.data.object as Stripe.Customer).id === customer.id).map((r) => r.event.type);
        expect(delivered).toEqual(['customer.created']);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
