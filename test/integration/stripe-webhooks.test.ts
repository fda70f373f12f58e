import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, connectChargePoint, startTestStack, type ChargePointClient } from '../support/stack.ts';
import { InMemorySubscriptions, invoiceEvent, postWebhook, sign, subscriptionEvent, WEBHOOK_SECRET } from '../support/stripe.ts';

describe('Stripe webhooks on the local stack', () => {
  let stack: LocalStack;
  const stripe = new InMemorySubscriptions();

  beforeAll(async () => {
    stack = await startTestStack({ stripe: { subscriptions: stripe, webhookSecret: WEBHOOK_SECRET } });
    await admin(stack, 'PUT', '/membership-tiers/plus', { name: 'Plus', stripePriceIds: ['price_plus_monthly'] });
    await admin(stack, 'PUT', '/membership-tiers/pro', { name: 'Pro', stripePriceIds: ['price_pro_monthly'] });
  });
  afterAll(() => stack?.close());

  async function aMember(name: string, options: { paymentMethod?: boolean } = {}) {
    stripe.set({ id: `sub_${name}`, customerId: `cus_${name}`, status: 'active', priceIds: ['price_plus_monthly'] });
    await admin(stack, 'PUT', `/drivers/${name}`, { stripeCustomerId: `cus_${name}`, idTags: [`${name}-TAG`], ...(options.paymentMethod === false ? {} : { defaultPaymentMethodId: `pm_${name}` }) });
    return `${name}-TAG`.toUpperCase();
  }
  const tag = async (idTag: string) => (await admin(stack, 'GET', `/id-tags/${idTag}`)).body;

  describe('signatures', () => {
    it.each([
      ['a wrong secret', { secret: 'whsec_someone_else' }],
      ['a stale timestamp (older than the 300 s tolerance)', { timestamp: Math.floor(Date.now() / 1000) - 301 }],
      ['a malformed header', { signature: 'garbage' }],
      ['no v1 signature', { signature: `t=${Math.floor(Date.now() / 1000)}` }],
    ])('refuses %s with 400 and changes nothing', async (_name, options) => {
      const idTag = await aMember(`sig${Math.random().toString(36).slice(2, 7)}`);
      const subscriptionId = `sub_${idTag.slice(0, -4).toLowerCase()}`;
      stripe.set({ id: subscriptionId, status: 'canceled' });
      const before = await tag(idTag);
      const retrievesBefore = stripe.retrieves;
      const event = subscriptionEvent('customer.subscription.deleted', { id: subscriptionId, customer: `cus_${idTag.slice(0, -4).toLowerCase()}` });
      const response = await postWebhook(stack.stripeWebhookUrl, event, options);
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('BadSignature');
      expect(stripe.retrieves).toBe(retrievesBefore);
      expect(await tag(idTag)).toEqual(before);
      // The same event, correctly signed, is then processed: nothing was recorded as seen.
      expect((await postWebhook(stack.stripeWebhookUrl, event)).status).toBe(200);
      expect((await tag(idTag)).billing).toEqual({ kind: 'retail', channel: 'app' });
    });

    it('refuses a body changed after signing (one byte)', async () => {
      const payload = JSON.stringify(subscriptionEvent('customer.subscription.updated', { id: 'sub_x', customer: 'cus_x' }));
      const response = await fetch(stack.stripeWebhookUrl, { method: 'POST', headers: { 'stripe-signature': sign(payload) }, body: payload.replace('sub_x', 'sub_y') });
      expect(response.status).toBe(400);
    });
  });

  describe('routing', () => {
    it('acknowledges an unknown event type with 200 and ignores it', async () => {
      const response = await postWebhook(stack.stripeWebhookUrl, { id: 'evt_unknown_1', object: 'event', type: 'charge.dispute.funds_withdrawn', data: { object: {} } });
      expect(response).toEqual({ status: 200, body: { received: true, ignored: true, type: 'charge.dispute.funds_withdrawn' } });
    });

    it('ignores a customer that is no VoltLedger driver (200)', async () => {
      stripe.set({ id: 'sub_stranger', customerId: 'cus_stranger' });
      expect((await postWebhook(stack.stripeWebhookUrl, subscriptionEvent('customer.subscription.updated', { id: 'sub_stranger', customer: 'cus_stranger' }))).status).toBe(200);
    });

    it('answers 500 when Stripe cannot be read, records nothing, and the retry succeeds', async () => {
      const idTag = await aMember('flaky');
      stripe.set({ id: 'sub_flaky', status: 'unpaid' });
      stripe.gate = async () => {
        throw new Error('Stripe is down');
      };
      const event = invoiceEvent('invoice.payment_failed', { customer: 'cus_flaky', subscription: 'sub_flaky' });
      try {
        expect((await postWebhook(stack.stripeWebhookUrl, event)).status).toBe(500);
      } finally {
        stripe.gate = undefined;
      }
      expect((await tag(idTag)).billing).toMatchObject({ kind: 'member' });
      const retry = await postWebhook(stack.stripeWebhookUrl, event);
      expect(retry.body).not.toHaveProperty('duplicate');
      expect((await tag(idTag)).billing).toEqual({ kind: 'retail', channel: 'app' });
    });
  });

  describe('duplicates and order', () => {
    it('processes an event id once: the duplicate gets 200 without reading Stripe', async () => {
      await aMember('dup');
      const event = subscriptionEvent('customer.subscription.updated', { id: 'sub_dup', customer: 'cus_dup' });
      expect((await postWebhook(stack.stripeWebhookUrl, event)).status).toBe(200);
      const reads = stripe.retrieves;
      const again = await postWebhook(stack.stripeWebhookUrl, event);
      expect(again).toMatchObject({ status: 200, body: { duplicate: true } });
      expect(stripe.retrieves).toBe(reads);
    });

    it('a stale event arriving last never overwrites the newer state (the subscription is re-read)', async () => {
      const idTag = await aMember('late');
      // Stripe's truth moves: past_due, then paid again, then upgraded to pro.
      stripe.set({ id: 'sub_late', status: 'past_due' });
      const failed = invoiceEvent('invoice.payment_failed', { customer: 'cus_late', subscription: 'sub_late' });
      stripe.set({ id: 'sub_late', status: 'active', priceIds: ['price_pro_monthly'] });
      const upgraded = subscriptionEvent('customer.subscription.updated', { id: 'sub_late', customer: 'cus_late', status: 'active' });
      // Delivered newest first, and the old one twice; all carry the same `created` second.
      for (const event of [upgraded, failed, failed]) expect((await postWebhook(stack.stripeWebhookUrl, event)).status).toBe(200);
      expect((await tag(idTag)).billing).toEqual({ kind: 'member', tier: 'pro', membershipId: 'sub_late' });
    });

    it('concurrent deliveries of different events for one driver converge on Stripe’s state', async () => {
      const idTag = await aMember('race', { paymentMethod: false });
      stripe.set({ id: 'sub_race', status: 'past_due' });
      const events = [
        invoiceEvent('invoice.payment_failed', { customer: 'cus_race', subscription: 'sub_race' }),
        subscriptionEvent('customer.subscription.updated', { id: 'sub_race', customer: 'cus_race', status: 'active' }),
        subscriptionEvent('customer.subscription.updated', { id: 'sub_race', customer: 'cus_race', status: 'past_due' }),
      ];
      const responses = await Promise.all(events.map((e) => postWebhook(stack.stripeWebhookUrl, e)));
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(await tag(idTag)).toMatchObject({ status: 'Blocked', blockedReason: 'no-payment-method' });
      const driver = (await admin(stack, 'GET', '/drivers/race')).body;
      expect(driver.membership).toMatchObject({ status: 'past_due', grants: false });
    });
  });

  describe('a webhook arriving while Authorize runs', () => {
    let cp: ChargePointClient;
    beforeAll(async () => {
      cp = await connectChargePoint(stack, 'CP-003');
    });
    afterAll(() => cp?.close({ force: true }));

    it('every Authorize answers from a whole record (before or after), never a mix, and the ones after see the lapse', async () => {
      const idTag = await aMember('inflight', { paymentMethod: false });
      stripe.set({ id: 'sub_inflight', status: 'canceled' });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      stripe.gate = () => held;
      const webhook = postWebhook(stack.stripeWebhookUrl, subscriptionEvent('customer.subscription.deleted', { id: 'sub_inflight', customer: 'cus_inflight' }));
      // While the webhook waits on Stripe, Authorize answers from the cache as it is.
      const during = await Promise.all(Array.from({ length: 10 }, () => cp.call('Authorize', { idTag })));
      expect(during.map((a) => a.idTagInfo.status)).toEqual(Array(10).fill('Accepted'));
      stripe.gate = undefined;
      const racing = Array.from({ length: 20 }, () => cp.call('Authorize', { idTag }));
      release();
      expect((await webhook).status).toBe(200);
      for (const answer of await Promise.all(racing)) expect(['Accepted', 'Blocked']).toContain(answer.idTagInfo.status);
      expect((await cp.call('Authorize', { idTag })).idTagInfo.status).toBe('Blocked');
    });
  });

  describe('resync', () => {
    it('repairs what a lost webhook left wrong and reports it', async () => {
      const idTag = await aMember('lost');
      stripe.set({ id: 'sub_lost', status: 'unpaid' }); // no webhook delivered
      const report = (await admin(stack, 'POST', '/jobs/resync-memberships')).body;
      expect(report.checked).toBeGreaterThan(0);
      expect(report.failed).toEqual([]);
      expect(report.changed).toContainEqual({
        driverId: 'lost',
        from: expect.objectContaining({ status: 'active', grants: true }),
        to: expect.objectContaining({ status: 'unpaid', grants: false }),
        idTagsRewritten: [idTag],
      });
      expect((await tag(idTag)).billing).toEqual({ kind: 'retail', channel: 'app' });
      const again = (await admin(stack, 'POST', '/jobs/resync-memberships')).body;
      expect(again.changed.find((c: { driverId: string }) => c.driverId === 'lost')).toBeUndefined();
    });
  });
});
