import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import type { StripeEmulatorControl } from '../../lib/local/stripe/index.ts';
import { driverWith, FAULT_POLICY, moneyAtStripe, settleStack, waitFor } from '../support/faults.ts';
import { admin, connectChargePoint, energySample, startTestStack, type ChargePointClient } from '../support/stack.ts';
import { runningClock } from '../../functions/shared/clock.ts';

/**
 * Issue 9, faults: Stripe fails at each payment step. The emulator answers 500 before or after
 * applying the request, hangs past the SDK's timeout after applying it, or declines, at the hold
 * (PaymentIntent create), the increment (increment_authorization), the off-session top-up and the
 * admin refund. For each: the retry (the bus redelivering the event, or the admin client repeating
 * its request with the same Idempotency-Key) carries the same Stripe idempotency key, Stripe never
 * holds, charges or refunds twice, and the session ends in exactly one recorded outcome
 * (SessionPaymentSettled once). Capture faults are in card-payments.test.ts.
 */

/**
 * Each test's session runs on its own day at 09:00 UTC (day-rate energy in Berlin, 0.49 EUR/kWh),
 * on days that are all in the past of the stack's clock (a fixed day): a charge point's time
 * ahead of the server's is corrected or held for review (docs/clocks.md), while a past time is a
 * message queued offline and billed as stamped. The first test's day is 30 days ago, the twentieth's 11.
 */
/** The server's clock: a fixed day, so nothing here depends on today's date. */
const serverClock = runningClock('2027-01-15T00:00:00Z');
const FIRST_DAY = Date.parse('2026-12-15T09:00:00Z');
let day = 0;
const t = (minutes: number) => new Date(FIRST_DAY + day * 86_400_000 + minutes * 60_000).toISOString();

type Fault = Parameters<StripeEmulatorControl['failNext']>[0];
const FAULTS: Array<[string, Omit<Fault, 'path'>]> = [
  ['a 500 before Stripe applied it', { kind: 'api_error', when: 'before' }],
  ['a 500 after Stripe applied it', { kind: 'api_error', when: 'after' }],
  ['a timeout after Stripe applied it', { kind: 'timeout', when: 'after', hangMs: 2500 }],
];

describe('faults: Stripe fails at each payment step (local stack, Stripe emulator)', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let control: StripeEmulatorControl;
  let cp: ChargePointClient;
  const remoteStops: number[] = [];
  const events: Array<{ type: string; id: string; data: any }> = [];
  /** Every request the payments code made to Stripe: method, path, idempotency key. */
  const requests: Array<{ method: string; path: string; key: string | undefined }> = [];
  const retries: string[] = [];
  let drivers = 0;

  beforeAll(async () => {
    // No SDK retries and a short timeout: a Stripe failure reaches the consumer, and the bus's retry is what recovers.
    const log = {
      debug() {},
      info() {},
      error() {},
      warn: (message: string, fields?: Record<string, unknown>) => {
        if (message === 'event delivery failed; retrying' && fields?.target === 'payments') retries.push(String(fields.error));
      },
    };
    stack = await startTestStack({ log, clock: serverClock, stripe: { emulator: { options: { webhookRetry: { baseDelayMs: 50 } }, client: { maxNetworkRetries: 0, timeout: 1200 } } } });
    stripe = stack.stripeEmulator!.client;
    control = stack.stripeEmulator!.emulator.control;
    stripe.on('request', (e: any) => requests.push({ method: e.method, path: e.path, key: e.idempotency_key }));
    stack.bus.subscribe((event: any) => events.push({ type: event['detail-type'], id: event.detail.metadata.id, data: event.detail.data }));
    cp = await connectChargePoint(stack, 'CP-001', {
      handlers: {
        RemoteStopTransaction: (params) => {
          remoteStops.push(params.transactionId);
          return { status: 'Accepted' };
        },
      },
    });
    expect((await admin(stack, 'PUT', '/payment-policies/default', FAULT_POLICY)).status).toBe(200);
    // These sessions draw up to 60 kW (30 kWh in 30 min): rate CP-001 for it, or pricing would not
    // bill energy a 22 kW charger cannot deliver (docs/meters.md).
    expect((await admin(stack, 'PUT', '/charge-points/CP-001', { maxPowerKw: 150 })).status).toBeLessThan(300);
  });

  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await stack?.close();
  });

  beforeEach(() => {
    day += 1;
    control.clearFaults();
  });

  async function driver(card: string) {
    drivers += 1;
    const idTag = `FAULT-${drivers}`;
    const { customerId } = await driverWith(stack, card, `fault-driver-${drivers}`, idTag);
    return { idTag, customerId };
  }

  async function start(idTag: string) {
    const started = await cp.call('StartTransaction', { connectorId: 1, idTag, meterStart: 0, timestamp: t(0) });
    await settleStack(stack);
    return { transactionId: started.transactionId as number, sessionId: `sess_${started.transactionId}` };
  }

  async function meter(transactionId: number, minute: number, wh: number) {
    await cp.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(t(minute), wh)] });
    await settleStack(stack);
  }

  async function stop(transactionId: number, minute: number, wh: number) {
    await cp.call('StopTransaction', { transactionId, meterStop: wh, timestamp: t(minute), transactionData: [energySample(t(minute), wh)] });
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: t(minute) });
    await settleStack(stack);
  }

  const paymentOf = async (sessionId: string) => (await admin(stack, 'GET', `/sessions/${sessionId}`)).body.payment;

  /** Exactly one SessionPaymentSettled (one event id, the same data every time it was published); its data. */
  function settledOnce(sessionId: string) {
    const settled = events.filter((e) => e.type === 'SessionPaymentSettled' && e.data.sessionId === sessionId);
    expect(new Set(settled.map((e) => e.id))).toEqual(new Set([`SessionPaymentSettled:${sessionId}`]));
    expect(new Set(settled.map((e) => JSON.stringify(e.data))).size).toBe(1);
    return settled[0]!.data;
  }

  /** The requests to one path since `from`: at least `atLeast`, every one with the same idempotency key; that key. */
  function sameKey(from: number, method: string, path: RegExp, atLeast = 2): string {
    const matching = requests.slice(from).filter((r) => r.method === method && path.test(r.path));
    expect(matching.length).toBeGreaterThanOrEqual(atLeast);
    const keys = new Set(matching.map((r) => r.key));
    expect(keys.size).toBe(1);
    const key = [...keys][0];
    expect(key).toMatch(/^voltledger:sess_\d+:/);
    return key!;
  }

  /** A fault the next matching request meets; resolves once it was met (the emulator's log is not needed). */
  function arm(path: string, fault: Omit<Fault, 'path'>) {
    control.failNext({ path, method: 'POST', ...fault });
  }

  describe('the hold (PaymentIntent create, SessionStarted)', () => {
    it.each(FAULTS)('%s: the bus retries SessionStarted with the same key, one hold is placed and captured once', async (_name, fault) => {
      const { idTag, customerId } = await driver('pm_card_visa');
      const from = requests.length;
      const retriesBefore = retries.length;
      arm('/v1/payment_intents', fault);
      const { transactionId, sessionId } = await start(idTag);
      await waitFor('the hold', async () => ((await paymentOf(sessionId))?.status === 'held' ? true : undefined));
      expect(retries.length).toBeGreaterThan(retriesBefore);
      expect(sameKey(from, 'POST', /^\/v1\/payment_intents$/)).toBe(`voltledger:${sessionId}:hold:2000`);
      // One PaymentIntent for the session at Stripe, one authorization.
      const intents = (await stripe.paymentIntents.list({ customer: customerId })).data;
      expect(intents.map((pi) => [pi.metadata.purpose, pi.status, pi.amount])).toEqual([['hold', 'requires_capture', 2000]]);
      expect(events.filter((e) => e.type === 'PaymentHoldPlaced' && e.data.sessionId === sessionId).map((e) => e.id)).toContain(`PaymentHoldPlaced:${sessionId}`);

      await stop(transactionId, 30, 10_000);
      const payment = await paymentOf(sessionId);
      expect(payment.outcome).toMatchObject({ outcome: 'captured', dueMinor: 583, capturedMinor: 583 });
      const money = await moneyAtStripe(stripe, intents.map((pi) => pi.id));
      expect(money.charges).toHaveLength(1);
      expect(money.capturedMinor).toBe(583);
      expect(settledOnce(sessionId)).toMatchObject({ outcome: 'captured', capturedMinor: 583 });
      expect(remoteStops).not.toContain(transactionId);
    });

    it('a decline: the hold fails once (RemoteStopTransaction), the energy delivered is charged off-session once', async () => {
      const { idTag, customerId } = await driver('pm_card_visa');
      arm('/v1/payment_intents', { kind: 'card_declined', declineCode: 'insufficient_funds' });
      const { transactionId, sessionId } = await start(idTag);
      await waitFor('RemoteStopTransaction', async () => (remoteStops.includes(transactionId) ? true : undefined));
      expect(await paymentOf(sessionId)).toMatchObject({ status: 'hold_failed', holdFailure: { reason: 'card_declined', declineCode: 'insufficient_funds', stopRequested: true } });
      expect(events.filter((e) => e.type === 'PaymentHoldFailed' && e.data.sessionId === sessionId).map((e) => e.id)).toEqual([`PaymentHoldFailed:${sessionId}`]);
      await stop(transactionId, 1, 2_000); // 1.17 EUR
      const payment = await paymentOf(sessionId);
      expect(payment.outcome).toMatchObject({ outcome: 'charged_off_session', dueMinor: 117, capturedMinor: 0, topUpMinor: 117, outstandingMinor: 0 });
      const intents = (await stripe.paymentIntents.list({ customer: customerId })).data;
      const money = await moneyAtStripe(stripe, intents.map((pi) => pi.id));
      // The declined authorization (a failed charge, no money) and one off-session charge of 1.17.
      expect(money.charges.map((c) => [c.status, c.amountCaptured]).sort()).toEqual([
        ['failed', 0],
        ['succeeded', 117],
      ]);
      expect(settledOnce(sessionId).outcome).toBe('charged_off_session');
    });
  });

  describe('the increment (increment_authorization, SessionMeterValues)', () => {
    it.each(FAULTS)('%s: the bus retries SessionMeterValues with the same key, the hold is raised once', async (_name, fault) => {
      const { idTag } = await driver('pm_card_visa');
      const { transactionId, sessionId } = await start(idTag);
      const holdId = (await paymentOf(sessionId)).paymentIntentIds[0];
      const from = requests.length;
      const retriesBefore = retries.length;
      arm('/v1/payment_intents/*/increment_authorization', fault);
      await meter(transactionId, 30, 30_000); // 17.49 EUR >= 80 % of 20.00: raise to 30.00
      await waitFor('the raised hold', async () => ((await paymentOf(sessionId)).authorizedMinor === 3000 ? true : undefined));
      expect(retries.length).toBeGreaterThan(retriesBefore);
      const raised = await paymentOf(sessionId);
      expect(raised).toMatchObject({ authorizedMinor: 3000, incrementRefused: null });
      const pi = await stripe.paymentIntents.retrieve(holdId);
      expect([pi.amount, pi.amount_capturable]).toEqual([3000, 3000]);
      const increased = new Set(events.filter((e) => e.type === 'PaymentHoldIncreased' && e.data.sessionId === sessionId).map((e) => e.id));
      if (fault.when === 'before') {
        // Nothing applied: the redelivery makes the increment, with the same key.
        expect(sameKey(from, 'POST', /\/increment_authorization$/)).toBe(`voltledger:${sessionId}:increment:3000`);
        expect(raised.increments).toEqual([expect.objectContaining({ fromMinor: 2000, toMinor: 3000 })]);
        expect(increased).toEqual(new Set([`PaymentHoldIncreased:${sessionId}:3000`]));
      } else {
        // Applied, answer lost: payment_intent.amount_capturable_updated raised the session's hold
        // before the redelivery, which then finds nothing to raise (no second request at all), or
        // the redelivery came first and replayed Stripe's answer under the same key. Either way the
        // raise is recorded once and published once.
        expect(sameKey(from, 'POST', /\/increment_authorization$/, 1)).toBe(`voltledger:${sessionId}:increment:3000`);
        await waitFor('PaymentHoldIncreased', async () => (events.some((e) => e.id === `PaymentHoldIncreased:${sessionId}:3000`) ? true : undefined));
        expect((await paymentOf(sessionId)).increments).toEqual([expect.objectContaining({ fromMinor: 2000, toMinor: 3000 })]);
        expect(new Set(events.filter((e) => e.type === 'PaymentHoldIncreased' && e.data.sessionId === sessionId).map((e) => e.id))).toEqual(new Set([`PaymentHoldIncreased:${sessionId}:3000`]));
      }

      await stop(transactionId, 60, 45_000); // 26.24 EUR
      const money = await moneyAtStripe(stripe, [holdId]);
      expect(money.charges).toHaveLength(1);
      expect(money.capturedMinor).toBe(2624);
      expect(settledOnce(sessionId)).toMatchObject({ outcome: 'captured', capturedMinor: 2624, topUpMinor: 0 });
    });


    it('a decline: the refusal is recorded once, the session continues and the rest is collected at settlement, once', async () => {
      const { idTag } = await driver('pm_card_visa');
      const { transactionId, sessionId } = await start(idTag);
      const holdId = (await paymentOf(sessionId)).paymentIntentIds[0];
      arm('/v1/payment_intents/*/increment_authorization', { kind: 'card_declined' });
      await meter(transactionId, 30, 30_000);
      expect((await paymentOf(sessionId)).incrementRefused).toMatchObject({ reason: 'increment_declined', action: 'continue', stopRequested: false });
      expect(events.filter((e) => e.type === 'PaymentHoldIncreaseRefused' && e.data.sessionId === sessionId).map((e) => e.id)).toEqual([`PaymentHoldIncreaseRefused:${sessionId}`]);
      await meter(transactionId, 40, 35_000); // refused once: no second attempt
      await stop(transactionId, 60, 45_000);
      const payment = await paymentOf(sessionId);
      // At settlement the card is asked once more (a new step, its own key): raised to the total and captured whole.
      expect(payment.outcome).toMatchObject({ outcome: 'captured', dueMinor: 2624, capturedMinor: 2624, topUpMinor: 0 });
      const money = await moneyAtStripe(stripe, [holdId]);
      expect([money.charges.length, money.capturedMinor]).toEqual([1, 2624]);
      expect(remoteStops).not.toContain(transactionId);
      expect(settledOnce(sessionId).outcome).toBe('captured');
    });
  });

  describe('the off-session top-up (PaymentIntent create at settlement, SessionPriced)', () => {
    /** A Mastercard session (no incremental authorization) of 26.24 on a 20.00 hold: 6.24 is topped up at settlement. */
    async function outgrowingSession() {
      const { idTag, customerId } = await driver('pm_card_mastercard');
      const { transactionId, sessionId } = await start(idTag);
      await meter(transactionId, 30, 30_000);
      expect((await paymentOf(sessionId)).incrementRefused).toMatchObject({ action: 'continue' });
      return { transactionId, sessionId, customerId };
    }

    it.each(FAULTS)('%s: the bus retries SessionPriced, the capture is not repeated and the top-up is charged once with the same key', async (_name, fault) => {
      const { transactionId, sessionId, customerId } = await outgrowingSession();
      const from = requests.length;
      const retriesBefore = retries.length;
      arm('/v1/payment_intents', fault);
      await stop(transactionId, 60, 45_000);
      await waitFor('the settlement', async () => ((await paymentOf(sessionId)).outcome ? true : undefined));
      expect(retries.length).toBeGreaterThan(retriesBefore);
      expect(sameKey(from, 'POST', /^\/v1\/payment_intents$/)).toBe(`voltledger:${sessionId}:top_up:624`);
      // The hold was captured once, before the fault, and not again by the retry.
      expect(requests.slice(from).filter((r) => /\/capture$/.test(r.path))).toHaveLength(1);
      const payment = await paymentOf(sessionId);
      expect(payment.outcome).toMatchObject({ outcome: 'captured_with_top_up', dueMinor: 2624, capturedMinor: 2000, topUpMinor: 624, outstandingMinor: 0 });
      const intents = (await stripe.paymentIntents.list({ customer: customerId })).data;
      expect(intents.map((pi) => pi.metadata.purpose).sort()).toEqual(['hold', 'top_up']);
      const money = await moneyAtStripe(stripe, intents.map((pi) => pi.id));
      expect(money.charges.map((c) => c.amountCaptured).sort((a, b) => a - b)).toEqual([624, 2000]);
      expect(settledOnce(sessionId)).toMatchObject({ outcome: 'captured_with_top_up', topUpMinor: 624 });
    });

    it('a decline: collection_failed with 6.24 outstanding, recorded once, nothing charged twice', async () => {
      const { transactionId, sessionId, customerId } = await outgrowingSession();
      arm('/v1/payment_intents', { kind: 'card_declined' });
      await stop(transactionId, 60, 45_000);
      const payment = await paymentOf(sessionId);
      expect(payment.outcome).toMatchObject({ outcome: 'collection_failed', dueMinor: 2624, capturedMinor: 2000, topUpMinor: 0, outstandingMinor: 624, failure: { code: 'card_declined' } });
      const intents = (await stripe.paymentIntents.list({ customer: customerId })).data;
      const money = await moneyAtStripe(stripe, intents.map((pi) => pi.id));
      expect(money.charges.map((c) => [c.status, c.amountCaptured]).sort()).toEqual([
        ['failed', 0],
        ['succeeded', 2000],
      ]);
      expect(settledOnce(sessionId)).toMatchObject({ outcome: 'collection_failed', outstandingMinor: 624 });
    });
  });

  describe('the refund (admin API, POST /admin/sessions/{id}/refunds with Idempotency-Key)', () => {
    async function refund(sessionId: string, key: string, body: Record<string, unknown>) {
      const response = await fetch(`${stack.adminUrl}/sessions/${sessionId}/refunds`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as any };
    }

    async function settledSession(card: string, wh: number) {
      const { idTag, customerId } = await driver(card);
      const { transactionId, sessionId } = await start(idTag);
      if (wh > 30_000) await meter(transactionId, 30, 30_000);
      await stop(transactionId, 60, wh);
      return { sessionId, customerId };
    }

    const refundsAt = async (customerId: string) => moneyAtStripe(stripe, (await stripe.paymentIntents.list({ customer: customerId })).data.map((pi) => pi.id));

    it.each([...FAULTS, ['a decline (402)', { kind: 'card_declined' }] as [string, Omit<Fault, 'path'>]])(
      '%s: the admin client gets an error, retries with the same Idempotency-Key and gets one refund',
      async (_name, fault) => {
        const { sessionId, customerId } = await settledSession('pm_card_visa', 10_000); // 5.83 captured
        const from = requests.length;
        arm('/v1/refunds', fault);
        const first = await refund(sessionId, `refund-${sessionId}-1`, { amountMinor: 300, reason: 'requested_by_customer' });
        expect(first.status).not.toBe(201);
        await settleStack(stack); // the refund webhooks of a refund Stripe applied arrive before the retry
        const retried = await refund(sessionId, `refund-${sessionId}-1`, { amountMinor: 300, reason: 'requested_by_customer' });
        expect(retried.status).toBe(201);
        expect(retried.body.refunds.map((r: any) => r.amountMinor)).toEqual([300]);
        expect(sameKey(from, 'POST', /^\/v1\/refunds$/)).toMatch(new RegExp(`^voltledger:${sessionId}:refund:refund-${sessionId}-1:pi_`));
        await settleStack(stack);
        const money = await refundsAt(customerId);
        expect(money.refunds.map((r) => [r.amount, r.status])).toEqual([[300, 'succeeded']]);
        expect((await paymentOf(sessionId)).refundedMinor).toBe(300);
        // A third try with the key replays the refund; a new key refunds again (what is left).
        expect((await refund(sessionId, `refund-${sessionId}-1`, { amountMinor: 300, reason: 'requested_by_customer' })).body.refunds.map((r: any) => r.refundId)).toEqual(
          retried.body.refunds.map((r: any) => r.refundId),
        );
        expect((await refundsAt(customerId)).refunds).toHaveLength(1);
        expect(settledOnce(sessionId).capturedMinor).toBe(583);
      },
    );

    it('a refund of everything left whose answer was lost: the retry answers the same refund, not "nothing left"', async () => {
      const { sessionId, customerId } = await settledSession('pm_card_visa', 10_000);
      arm('/v1/refunds', { kind: 'api_error', when: 'after' });
      expect((await refund(sessionId, `refund-${sessionId}-all`, {})).status).toBeGreaterThanOrEqual(500);
      await settleStack(stack); // refund.created recorded the refund on the session meanwhile
      const retried = await refund(sessionId, `refund-${sessionId}-all`, {});
      expect(retried.status).toBe(201);
      expect(retried.body.refunds.map((r: any) => r.amountMinor)).toEqual([583]);
      expect((await refundsAt(customerId)).refunds.map((r) => r.amount)).toEqual([583]);
    });

    it.each(FAULTS)('a refund across the top-up and the hold, %s on its second part: the retry completes it, refunding 10.00 in all', async (_name, fault) => {
      const { sessionId, customerId } = await settledSession('pm_card_mastercard', 45_000); // 20.00 captured + 6.24 top-up
      const from = requests.length;
      // The first part (6.24 from the top-up) goes through; the fault meets the second (3.76 from the hold's capture).
      let armed = false;
      const onResponse = (e: any) => {
        if (!armed && e.method === 'POST' && e.path === '/v1/refunds') {
          armed = true;
          arm('/v1/refunds', fault);
        }
      };
      stripe.on('response', onResponse);
      try {
        const first = await refund(sessionId, `refund-${sessionId}-split`, { amountMinor: 1000 });
        expect(first.status).toBeGreaterThanOrEqual(500);
      } finally {
        stripe.off('response', onResponse);
      }
      await settleStack(stack);
      const retried = await refund(sessionId, `refund-${sessionId}-split`, { amountMinor: 1000 });
      expect(retried.status).toBe(201);
      await settleStack(stack);
      const money = await refundsAt(customerId);
      expect(money.refunds.map((r) => r.amount).sort((a, b) => a - b)).toEqual([376, 624]);
      expect(money.refundedMinor).toBe(1000);
      expect((await paymentOf(sessionId)).refundedMinor).toBe(1000);
      // Each part's retries carried that part's key.
      const keys = requests.slice(from).filter((r) => r.path === '/v1/refunds').map((r) => r.key!);
      expect(new Set(keys).size).toBe(2);
    });
  });
});
