import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, connectChargePoint, energySample, startTestStack, type ChargePointClient } from '../support/stack.ts';
import { InMemorySubscriptions, invoiceEvent, postWebhook, subscriptionEvent, WEBHOOK_SECRET } from '../support/stripe.ts';

const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + minutes * 60_000).toISOString();

/**
 * The lapse story: a member starts a session at member price; the subscription's payment fails
 * (webhook); the running session keeps member price; the next session is retail, or refused when
 * the driver has no payment method to fall back on.
 */
describe('membership lapse end to end on the local stack', () => {
  let stack: LocalStack;
  let cp: ChargePointClient;
  const stripe = new InMemorySubscriptions();

  beforeAll(async () => {
    stack = await startTestStack({ stripe: { subscriptions: stripe, webhookSecret: WEBHOOK_SECRET } });
    cp = await connectChargePoint(stack, 'CP-001');
    expect((await admin(stack, 'PUT', '/membership-tiers/plus', { name: 'VoltLedger Plus', stripePriceIds: ['price_plus_monthly'] })).status).toBe(201);
  });

  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await stack?.close();
  });

  async function chargeSession(idTag: string, connectorId: number, startMinute: number, duringSession?: () => Promise<void>) {
    expect((await cp.call('Authorize', { idTag })).idTagInfo.status).toBe('Accepted');
    const start = await cp.call('StartTransaction', { connectorId, idTag, meterStart: 0, timestamp: t(startMinute) });
    expect(start.idTagInfo.status).toBe('Accepted');
    await duringSession?.();
    await cp.call('StopTransaction', { transactionId: start.transactionId, idTag, meterStop: 10_000, timestamp: t(startMinute + 30), transactionData: [energySample(t(startMinute + 30), 10_000)] });
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'Available', timestamp: t(startMinute + 30) });
    await stack.bus.drain();
    return (await admin(stack, 'GET', `/sessions/sess_${start.transactionId}`)).body;
  }

  it('a member with a card on file: member price, lapse mid-session keeps it, the next session is retail', async () => {
    stripe.set({ id: 'sub_alice', customerId: 'cus_alice' });
    const saved = await admin(stack, 'PUT', '/drivers/alice', { stripeCustomerId: 'cus_alice', defaultPaymentMethodId: 'pm_alice_visa', idTags: ['ALICE-RFID', 'alice-app'] });
    expect(saved.status).toBe(201);
    expect(saved.body.membership).toMatchObject({ subscriptionId: 'sub_alice', tier: 'plus', grants: true });
    expect((await admin(stack, 'GET', '/id-tags/ALICE-APP')).body.billing).toEqual({ kind: 'member', tier: 'plus', membershipId: 'sub_alice' });

    const first = await chargeSession('ALICE-RFID', 1, 0, async () => {
      // The renewal payment fails while Alice is charging.
      stripe.set({ id: 'sub_alice', status: 'past_due' });
      const delivered = await postWebhook(stack.stripeWebhookUrl, invoiceEvent('invoice.payment_failed', { customer: 'cus_alice', subscription: 'sub_alice' }));
      expect(delivered.status).toBe(200);
      expect((await admin(stack, 'GET', '/id-tags/ALICE-RFID')).body.billing).toEqual({ kind: 'retail', channel: 'app' });
    });
    expect(first.billingProfile).toEqual({ kind: 'member', tier: 'plus', membershipId: 'sub_alice' });
    expect(first.price.billing.basis).toMatch(/member tier plus/);

    const second = await chargeSession('alice-rfid', 2, 60);
    expect(second.billingProfile).toEqual({ kind: 'retail', channel: 'app' });
    // 10 kWh at 0.49 EUR + 19 % VAT = 5.83 retail; the member paid 20 % less for the same energy.
    expect(second.totalMinor).toBe(583);
    expect(first.totalMinor).toBeLessThan(second.totalMinor);
  });

  it('a member without a payment method: the next Authorize is Blocked once the payment failed', async () => {
    stripe.set({ id: 'sub_bob', customerId: 'cus_bob' });
    await admin(stack, 'PUT', '/drivers/bob', { stripeCustomerId: 'cus_bob', idTags: ['BOB-RFID'] });
    expect((await cp.call('Authorize', { idTag: 'BOB-RFID' })).idTagInfo.status).toBe('Accepted');

    stripe.set({ id: 'sub_bob', status: 'past_due' });
    expect((await postWebhook(stack.stripeWebhookUrl, invoiceEvent('invoice.payment_failed', { customer: 'cus_bob', subscription: 'sub_bob' }))).status).toBe(200);
    expect((await cp.call('Authorize', { idTag: 'BOB-RFID' })).idTagInfo.status).toBe('Blocked');
    expect((await admin(stack, 'GET', '/id-tags/BOB-RFID')).body).toMatchObject({ status: 'Blocked', baseStatus: 'Accepted', blockedReason: 'no-payment-method' });

    // The retried payment succeeds: member again.
    stripe.set({ id: 'sub_bob', status: 'active' });
    expect((await postWebhook(stack.stripeWebhookUrl, invoiceEvent('invoice.paid', { customer: 'cus_bob', subscription: 'sub_bob' }))).status).toBe(200);
    expect((await cp.call('Authorize', { idTag: 'BOB-RFID' })).idTagInfo.status).toBe('Accepted');
    expect((await admin(stack, 'GET', '/id-tags/BOB-RFID')).body.billing).toMatchObject({ kind: 'member', tier: 'plus' });
  });

  it('a canceled subscription (customer.subscription.deleted) ends member pricing', async () => {
    stripe.set({ id: 'sub_carol', customerId: 'cus_carol' });
    await admin(stack, 'PUT', '/drivers/carol', { stripeCustomerId: 'cus_carol', defaultPaymentMethodId: 'pm_carol', idTags: ['CAROL-1'] });
    stripe.set({ id: 'sub_carol', status: 'canceled' });
    expect((await postWebhook(stack.stripeWebhookUrl, subscriptionEvent('customer.subscription.deleted', { id: 'sub_carol', customer: 'cus_carol', status: 'canceled' }))).status).toBe(200);
    expect((await admin(stack, 'GET', '/id-tags/CAROL-1')).body).toMatchObject({ status: 'Accepted', billing: { kind: 'retail', channel: 'app' } });
  });
});
