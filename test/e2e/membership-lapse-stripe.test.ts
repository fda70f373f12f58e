import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripeSubscriptionSource } from '../../functions/entitlements/adapters/stripe-subscriptions.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import type { StripeEmulatorControl } from '../../lib/local/stripe/index.ts';
import { admin, connectChargePoint, energySample, startTestStack, waitFor, type ChargePointClient } from '../support/stack.ts';

const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + minutes * 60_000).toISOString();


/**
 * The lapse story through the real pieces: the Stripe SDK against the local Stripe emulator (the
 * StripeSubscriptionSource adapter, toSnapshot), subscriptions created and lapsed in "Stripe",
 * webhooks signed and delivered by the emulator to the stack's /webhooks/stripe, and a strict
 * OCPP 1.6J charge point (ocpp-rpc) charging.
 */
describe('membership lapse end to end with the Stripe emulator and the real SDK adapter', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let control: StripeEmulatorControl;
  let cp: ChargePointClient;
  let plusPrice: Stripe.Price;

  beforeAll(async () => {
    stack = await startTestStack({ stripe: { emulator: { options: { webhookRetry: { baseDelayMs: 50 } }, client: { maxNetworkRetries: 0 } } } });
    stripe = stack.stripeEmulator!.client;
    control = stack.stripeEmulator!.emulator.control;
    cp = await connectChargePoint(stack, 'CP-001');
    plusPrice = await stripe.prices.create({ currency: 'eur', unit_amount: 999, recurring: { interval: 'month' }, product_data: { name: 'VoltLedger Plus' } });
    const tier = await admin(stack, 'PUT', '/membership-tiers/plus', { name: 'VoltLedger Plus', stripePriceIds: [plusPrice.id] });
    expect(tier.status).toBe(201);
  });

  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await stack?.close();
  });

  /** A Stripe customer with a Visa on file, and a driver for it with one idTag. */
  async function customerAndDriver(driverId: string, idTag: string) {
    const customer = await stripe.customers.create({ email: `${driverId}@example.com`, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const paymentMethod = customer.invoice_settings.default_payment_method as string;
    expect(paymentMethod).toMatch(/^pm_/);
    const saved = await admin(stack, 'PUT', `/drivers/${driverId}`, { stripeCustomerId: customer.id, defaultPaymentMethodId: paymentMethod, idTags: [idTag] });
    expect(saved.status).toBe(201);
    // No subscription yet: retail through the app (a card is on file).
    expect((await admin(stack, 'GET', `/id-tags/${idTag}`)).body).toMatchObject({ status: 'Accepted', billing: { kind: 'retail', channel: 'app' } });
    return customer;
  }

  const billingOf = async (idTag: string) => (await admin(stack, 'GET', `/id-tags/${idTag}`)).body.billing;
  const waitForBilling = (idTag: string, kind: 'member' | 'retail') =>
    waitFor(`${idTag} to become ${kind}`, async () => {
      const billing = await billingOf(idTag);
      return billing?.kind === kind ? billing : undefined;
    });

  async function chargeSession(idTag: string, connectorId: number, startMinute: number, duringSession?: (sessionId: string) => Promise<void>) {
    expect((await cp.call('Authorize', { idTag })).idTagInfo.status).toBe('Accepted');
    const start = await cp.call('StartTransaction', { connectorId, idTag, meterStart: 0, timestamp: t(startMinute) });
    expect(start.idTagInfo.status).toBe('Accepted');
    await duringSession?.(`sess_${start.transactionId}`);
    await cp.call('StopTransaction', { transactionId: start.transactionId, idTag, meterStop: 10_000, timestamp: t(startMinute + 30), transactionData: [energySample(t(startMinute + 30), 10_000)] });
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'Available', timestamp: t(startMinute + 30) });
    await stack.bus.drain();
    return (await admin(stack, 'GET', `/sessions/sess_${start.transactionId}`)).body;
  }

  it('webhook makes the idTag a member; a past_due lapse mid-session keeps the member price; the next session is retail', async () => {
    const customer = await customerAndDriver('dana', 'DANA-RFID');
    const subscription = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: plusPrice.id }] });
    expect(subscription.status).toBe('active');

    // The adapter reads everything the membership decision needs from the emulator's object.
    const snapshot = await new StripeSubscriptionSource(stripe).retrieve(subscription.id);
    expect(snapshot).toMatchObject({ id: subscription.id, customerId: customer.id, status: 'active', priceIds: [plusPrice.id], collectionPaused: false });
    expect(Date.parse(snapshot!.currentPeriodEnd!)).toBeGreaterThan(Date.parse(snapshot!.currentPeriodStart!));
    expect(snapshot!.createdAt).not.toBe(new Date(0).toISOString());

    // customer.subscription.created / invoice.paid, delivered by the emulator, make DANA-RFID a member.
    expect(await waitForBilling('DANA-RFID', 'member')).toEqual({ kind: 'member', tier: 'plus', membershipId: subscription.id });

    const first = await chargeSession('DANA-RFID', 1, 0, async (sessionId) => {
      expect((await admin(stack, 'GET', `/sessions/${sessionId}`)).body.billingProfile).toEqual({ kind: 'member', tier: 'plus', membershipId: subscription.id });
      // The renewal payment fails while Dana is charging: invoice.payment_failed + customer.subscription.updated.
      expect(control.setSubscriptionStatus(subscription.id, 'past_due').status).toBe('past_due');
      await control.drainWebhooks();
      expect(await waitForBilling('DANA-RFID', 'retail')).toEqual({ kind: 'retail', channel: 'app' });
      // The running session keeps the snapshot it started with.
      expect((await admin(stack, 'GET', `/sessions/${sessionId}`)).body.billingProfile).toEqual({ kind: 'member', tier: 'plus', membershipId: subscription.id });
    });
    expect(first.billingProfile).toEqual({ kind: 'member', tier: 'plus', membershipId: subscription.id });
    expect(first.price.billing.basis).toMatch(/member tier plus/);

    const driver = (await admin(stack, 'GET', '/drivers/dana')).body;
    expect(driver.membership).toMatchObject({ subscriptionId: subscription.id, tier: 'plus', status: 'past_due', grants: false });

    const second = await chargeSession('DANA-RFID', 2, 60);
    expect(second.billingProfile).toEqual({ kind: 'retail', channel: 'app' });
    // 10 kWh at 0.49 EUR + 19 % VAT = 5.83 retail; the member paid 20 % less for the same energy.
    expect(second.totalMinor).toBe(583);
    expect(first.totalMinor).toBeLessThan(second.totalMinor);

    // Every webhook the emulator sent was accepted (signature, parsing, processing).
    const ours = control.deliveries().filter((d) => d.url === stack.stripeWebhookUrl);
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.every((d) => d.status === 200)).toBe(true);
  });

  it('duplicate and out-of-order deliveries still end in the latest Stripe state', async () => {
    control.setDeliveryChaos({ duplicate: true, outOfOrder: true });
    try {
      const customer = await customerAndDriver('erin', 'ERIN-RFID');
      const subscription = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: plusPrice.id }] });
      // Flapping: paid, failed, paid again, failed again. Stripe's latest state: past_due.
      control.setSubscriptionStatus(subscription.id, 'past_due');
      control.setSubscriptionStatus(subscription.id, 'active');
      control.setSubscriptionStatus(subscription.id, 'past_due');
      await control.drainWebhooks();
      expect((await stripe.subscriptions.retrieve(subscription.id)).status).toBe('past_due');
      expect(await billingOf('ERIN-RFID')).toEqual({ kind: 'retail', channel: 'app' });
      expect((await admin(stack, 'GET', '/drivers/erin')).body.membership).toMatchObject({ subscriptionId: subscription.id, status: 'past_due', grants: false });

      // The payment is retried and succeeds: member again, whatever order the events arrive in.
      control.setSubscriptionStatus(subscription.id, 'active');
      await control.drainWebhooks();
      expect(await billingOf('ERIN-RFID')).toEqual({ kind: 'member', tier: 'plus', membershipId: subscription.id });
      expect((await admin(stack, 'GET', '/drivers/erin')).body.membership).toMatchObject({ subscriptionId: subscription.id, status: 'active', grants: true });

      // The chaos really happened: some event reached the stack twice, and every delivery was accepted.
      const ours = control.deliveries().filter((d) => d.url === stack.stripeWebhookUrl);
      const ids = ours.map((d) => d.eventId);
      expect(new Set(ids).size).toBeLessThan(ids.length);
      expect(ours.every((d) => d.status === 200)).toBe(true);
    } finally {
      control.setDeliveryChaos({ duplicate: false, outOfOrder: false });
    }
  });
});

describe('the local stack with the Stripe emulator', () => {
  it('keeps Stripe state under DATA_DIR/stripe, registers its webhook URL, and closes the emulator with the stack', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'voltledger-stripe-'));
    try {
      let stack = await startTestStack({ dataDir, stripe: { emulator: { webhookSecret: 'whsec_given' } } });
      const { emulator, client, webhookSecret } = stack.stripeEmulator!;
      expect(webhookSecret).toBe('whsec_given');
      const endpoints = await client.webhookEndpoints.list();
      expect(endpoints.data.map((e) => e.url)).toEqual([stack.stripeWebhookUrl]);
      const customer = await client.customers.create({ email: 'persisted@example.com' });
      await emulator.control.drainWebhooks();
      await stack.close();
      expect(existsSync(join(dataDir, 'stripe', 'state.json'))).toBe(true);
      await expect(fetch(`${emulator.url}/v1/customers`)).rejects.toThrow();

      stack = await startTestStack({ dataDir, stripe: { emulator: {} } });
      try {
        expect(stack.stripeEmulator!.webhookSecret).toMatch(/^whsec_/);
        expect((await stack.stripeEmulator!.client.customers.retrieve(customer.id)).id).toBe(customer.id);
      } finally {
        await stack.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
