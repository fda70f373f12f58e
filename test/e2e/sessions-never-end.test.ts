import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import type { StripeEmulatorControl } from '../../lib/local/stripe/index.ts';
import type { Clock } from '../../functions/shared/clock.ts';
import { admin, connectChargePoint, energySample, startTestStack, type ChargePointClient, CARD_TEST_POLICY as POLICY } from '../support/stack.ts';

/**
 * Sessions that never end (issue 15, docs/sessions.md), end to end: a strict OCPP 1.6J charge point
 * on the local stack, card payments through the Stripe emulator. Every started session reaches
 * completion and one financial closure, and what cannot be matched is listed for review.
 *
 * The stack runs on a clock the test moves forward (never back): each test gets its own day, five
 * days after the last one, and every message is sent at the moment it is stamped (a charge point in
 * sync), so the clock policy has nothing to correct. Berlin 10:00 on each day is DEMO-TOU's day rate:
 * 0.49 EUR/kWh + 19 % VAT = 0.5831 EUR per kWh.
 */

/** A clock that runs at real speed from an instant the test sets, and only ever moves forward. */
function steppingClock(start: string) {
  let origin = Date.parse(start);
  let since = performance.now();
  const clock: Clock & { set(at: string): void } = {
    now: () => new Date(origin + Math.floor(performance.now() - since)),
    set(at: string) {
      const target = Date.parse(at);
      const now = clock.now().getTime();
      // Two messages stamped alike are a few real milliseconds apart: the clock just runs on.
      if (target <= now) {
        if (now - target > 60_000) throw new Error(`the test clock only moves forward (to ${at})`);
        return;
      }
      origin = target;
      since = performance.now();
    },
  };
  return clock;
}


const H = 3_600_000;
/** The minute an instant falls in (a message is received a few real milliseconds after it is stamped). */
const minuteOf = (iso: string) => new RegExp(`^${iso.slice(0, 16)}`);
let day = 0;
/** 09:00 UTC (10:00 Berlin) plus `minutes` on this test's day. */
const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + day * 86_400_000 + minutes * 60_000).toISOString();

describe('sessions that never end (local stack, Stripe emulator)', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let control: StripeEmulatorControl;
  const clock = steppingClock('2026-11-23T08:00:00Z');
  const clients: ChargePointClient[] = [];
  const events: Array<{ type: string; id: string; data: any }> = [];
  let driverCount = 0;

  beforeEach(() => {
    day += 5;
  });

  beforeAll(async () => {
    stack = await startTestStack({ clock, stripe: { emulator: { options: { webhookRetry: { baseDelayMs: 50 } } } } });
    stripe = stack.stripeEmulator!.client;
    control = stack.stripeEmulator!.emulator.control;
    stack.bus.subscribe((event: any) => events.push({ type: event['detail-type'], id: event.detail.metadata.id, data: event.detail.data }));
    expect((await admin(stack, 'PUT', '/payment-policies/default', POLICY)).status).toBe(200);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => undefined)));
    await stack?.close();
  });

  async function chargePoint(identity: string) {
    const client = await connectChargePoint(stack, identity);
    clients.push(client);
    return client;
  }

  async function driver(): Promise<string> {
    driverCount += 1;
    const idTag = `NEVER-END-${driverCount}`;
    const customer = await stripe.customers.create({ email: `never-end-${driverCount}@example.com`, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const paymentMethod = customer.invoice_settings.default_payment_method as string;
    expect((await admin(stack, 'PUT', `/drivers/never-end-${driverCount}`, { stripeCustomerId: customer.id, defaultPaymentMethodId: paymentMethod, idTags: [idTag] })).status).toBe(201);
    return idTag;
  }

  const settle = async () => {
    for (let i = 0; i < 3; i += 1) {
      await control.drainWebhooks();
      await stack.bus.drain();
    }
  };

  /** Sends a CALL at the moment it is stamped. */
  async function at<T = any>(cp: ChargePointClient, when: string, action: string, payload: Record<string, unknown>): Promise<T> {
    clock.set(when);
    return cp.call(action, payload) as Promise<T>;
  }

  async function start(cp: ChargePointClient, connectorId: number, idTag: string, minute: number, meterStart = 0) {
    const answer = await at(cp, t(minute), 'StartTransaction', { connectorId, idTag, meterStart, timestamp: t(minute) });
    await settle();
    return answer.transactionId as number;
  }

  const meter = (cp: ChargePointClient, connectorId: number, transactionId: number, minute: number, wh: number) =>
    at(cp, t(minute), 'MeterValues', { connectorId, transactionId, meterValue: [energySample(t(minute), wh)] });

  async function stopAndUnplug(cp: ChargePointClient, connectorId: number, transactionId: number, minute: number, wh: number, extra: Record<string, unknown> = {}) {
    await at(cp, t(minute), 'StopTransaction', { transactionId, meterStop: wh, timestamp: t(minute), ...extra });
    await at(cp, t(minute), 'StatusNotification', { connectorId, errorCode: 'NoError', status: 'Available', timestamp: t(minute) });
    await settle();
  }

  const view = async (transactionId: number) => (await admin(stack, 'GET', `/sessions/sess_${transactionId}`)).body;
  const eventsOf = (transactionId: number, type: string) => events.filter((e) => e.type === type && e.data.sessionId === `sess_${transactionId}`);

  /** Priced at the day rate and captured from the card exactly once. */
  async function expectCaptured(transactionId: number, totalMinor: number) {
    const session = await view(transactionId);
    expect(session.totalMinor).toBe(totalMinor);
    expect(session.payment).toMatchObject({ status: 'settled', capturedMinor: totalMinor });
    expect(eventsOf(transactionId, 'SessionPriced')).toHaveLength(1);
    const settled = eventsOf(transactionId, 'SessionPaymentSettled');
    expect(new Set(settled.map((e) => e.id)).size).toBe(1);
    expect(settled[0]!.data).toMatchObject({ outcome: 'captured', capturedMinor: totalMinor });
  }

  it('a second StartTransaction on a busy connector closes the first session from its last reading; it is priced and captured', async () => {
    const cp = await chargePoint('CP-001');
    const idTag = await driver();
    const first = await start(cp, 1, idTag, 0);
    expect((await view(first)).payment).toMatchObject({ status: 'held', authorizedMinor: 2000 });
    await meter(cp, 1, first, 20, 4_000);
    const second = await start(cp, 1, idTag, 30);
    expect(second).not.toBe(first);

    const closed = await view(first);
    expect(closed).toMatchObject({
      lifecycle: 'completed',
      stoppedAt: t(20),
      meterStopWh: 4_000,
      energyWh: 4_000,
      stopReason: 'Other',
      flags: ['superseded-by-new-start'],
      closedWithoutStop: { cause: 'superseded', supersededBy: second, stopFrom: 'last-meter-reading' },
      completedAt: t(20),
      completedBy: 'closed-without-stop',
    });
    expect(eventsOf(first, 'SessionStopped')[0]!.data).toMatchObject({ reason: 'Other', energyWh: 4_000, flags: ['superseded-by-new-start'] });
    expect(eventsOf(first, 'SessionCompleted')[0]!.data).toMatchObject({ completedAt: t(20), completedBy: 'closed-without-stop' });
    // 4 kWh x 0.5831 EUR = 2.33 EUR.
    await expectCaptured(first, 233);

    // The new session runs on and ends as usual.
    expect((await view(second)).lifecycle).toBe('started');
    await stopAndUnplug(cp, 1, second, 60, 10_000, { reason: 'EVDisconnected' });
    expect(await view(second)).toMatchObject({ lifecycle: 'completed', energyWh: 10_000, flags: [] });
  });

  it('a reboot mid-session: the new start closes the lost session (priced, captured, hold not left authorized); the stop with transactionId 0 is unmatched', async () => {
    const cp = await chargePoint('CP-002');
    const idTag = await driver();
    const lost = await start(cp, 1, idTag, 0);
    await meter(cp, 1, lost, 15, 3_000);
    expect((await at(cp, t(25), 'BootNotification', { chargePointVendor: 'Outside', chargePointModel: 'Rebooter' })).status).toBe('Accepted');
    const fresh = await start(cp, 1, idTag, 26, 3_000);
    expect(await at(cp, t(27), 'StopTransaction', { transactionId: 0, meterStop: 3_000, timestamp: t(25), reason: 'Reboot' })).toEqual({});
    await settle();

    expect(await view(lost)).toMatchObject({ lifecycle: 'completed', energyWh: 3_000, flags: ['superseded-by-new-start'], completedBy: 'closed-without-stop' });
    // 3 kWh x 0.5831 EUR = 1.75 EUR.
    await expectCaptured(lost, 175);
    const unmatched = await admin(stack, 'GET', `/unmatched?chargePointId=CP-002&from=${encodeURIComponent(t(0))}&to=${encodeURIComponent(t(60))}`);
    expect(unmatched.status).toBe(200);
    expect(unmatched.body.unmatched).toEqual([expect.objectContaining({ kind: 'StopTransaction', chargePointId: 'CP-002', transactionId: 0, reason: 'unknown-transaction', receivedAt: expect.stringMatching(minuteOf(t(27))) })]);

    await stopAndUnplug(cp, 1, fresh, 50, 5_000);
    expect((await view(fresh)).lifecycle).toBe('completed');
  });

  it('errata 3.18: a StartTransaction whose answer was lost, then MeterValues and StopTransaction with -1, are billed to that session', async () => {
    const cp = await chargePoint('CP-003');
    const idTag = await driver();
    // The answer is "lost": the charge point goes on with -1.
    const stored = await start(cp, 2, idTag, 0);
    await meter(cp, 2, -1, 15, 1_000);
    await stopAndUnplug(cp, 2, -1, 30, 2_000, { idTag, reason: 'Local', transactionData: [energySample(t(30), 2_000)] });

    const session = await view(stored);
    expect(session).toMatchObject({ lifecycle: 'completed', meterStopWh: 2_000, energyWh: 2_000, flags: ['matched-lost-transaction-id'], completedBy: 'unplugged' });
    expect(session.meterSamples.map((s: { timestamp: string }) => s.timestamp)).toEqual([t(15), t(30)]);
    expect(eventsOf(stored, 'SessionMeterValues')).toHaveLength(1);
    // 2 kWh x 0.5831 EUR = 1.17 EUR.
    await expectCaptured(stored, 117);
    const unmatched = await admin(stack, 'GET', `/unmatched?chargePointId=CP-003&from=${encodeURIComponent(t(0))}&to=${encodeURIComponent(t(60))}`);
    expect(unmatched.body.unmatched).toEqual([]);
  });

  it('a session with no stop past SESSION_MAX_OPEN_HOURS (48 h) is closed by the sweep from its last reading, flagged, priced and captured', async () => {
    const cp = await chargePoint('CP-001');
    const idTag = await driver();
    const stale = await start(cp, 2, idTag, 0);
    await meter(cp, 2, stale, 40, 5_000);

    clock.set(new Date(Date.parse(t(40)) + 47 * H).toISOString());
    expect((await admin(stack, 'POST', '/jobs/close-stale-sessions')).body).toEqual({ closed: 0 });
    clock.set(new Date(Date.parse(t(40)) + 48 * H + 60_000).toISOString());
    expect((await admin(stack, 'POST', '/jobs/close-stale-sessions')).body.closed).toBeGreaterThanOrEqual(1);
    await settle();

    expect(await view(stale)).toMatchObject({
      lifecycle: 'completed',
      stoppedAt: t(40),
      energyWh: 5_000,
      stopReason: 'Other',
      flags: ['closed-without-stop'],
      closedWithoutStop: { cause: 'no-stop', stopFrom: 'last-meter-reading' },
      completedAt: t(40),
      completedBy: 'closed-without-stop',
    });
    // 5 kWh x 0.5831 EUR = 2.92 EUR (nothing billed for the 48 hours without evidence).
    await expectCaptured(stale, 292);
  });

  it('unmatched stops and meter values are listed in the admin API, a page at a time; bad input is a 400 naming the field', async () => {
    const cp = await chargePoint('CP-002');
    await at(cp, t(1), 'StopTransaction', { transactionId: 987_654, meterStop: 100, timestamp: t(1) });
    await at(cp, t(2), 'MeterValues', { connectorId: 2, transactionId: 987_655, meterValue: [energySample(t(2), 100)] });
    await at(cp, t(3), 'StopTransaction', { transactionId: -1, meterStop: 100, timestamp: t(3), idTag: 'NOBODY' });
    const query = `chargePointId=CP-002&from=${encodeURIComponent(t(0))}&to=${encodeURIComponent(t(10))}`;

    const first = await admin(stack, 'GET', `/unmatched?${query}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.unmatched.map((u: any) => [u.kind, u.transactionId, u.reason])).toEqual([
      ['StopTransaction', 987_654, 'unknown-transaction'],
      ['MeterValues', 987_655, 'unknown-transaction'],
    ]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await admin(stack, 'GET', `/unmatched?${query}&limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body.unmatched.map((u: any) => [u.kind, u.transactionId, u.reason])).toEqual([['StopTransaction', -1, 'no-open-session']]);
    expect(second.body.nextCursor).toBeUndefined();

    for (const [params, field] of [
      ['from=yesterday', 'from'],
      ['limit=0', 'limit'],
      ['limit=500', 'limit'],
      ['chargePointId=no%20spaces', 'chargePointId'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
      [`from=${encodeURIComponent(t(10))}&to=${encodeURIComponent(t(0))}`, 'from'],
      [`from=${encodeURIComponent(t(0))}&to=${encodeURIComponent(t(60 * 24 * 40))}`, 'from'],
    ] as const) {
      const bad = await admin(stack, 'GET', `/unmatched?${params}`);
      expect(bad.status, params).toBe(400);
      expect(JSON.stringify(bad.body), params).toContain(field);
    }
  });

  it('revenue assurance lists, by default, sessions started and never completed past the limit, and the unmatched messages', async () => {
    const cp = await chargePoint('CP-003');
    const idTag = await driver();
    const open = await start(cp, 1, idTag, 0);
    await at(cp, t(5), 'StopTransaction', { transactionId: 0, meterStop: 0, timestamp: t(5), reason: 'PowerLoss' });
    clock.set(new Date(Date.parse(t(5)) + 2 * H).toISOString());

    const report = await admin(stack, 'GET', '/revenue-assurance?olderThanHours=1');
    expect(report.status).toBe(200);
    expect(report.body.notCompleted).toEqual(expect.arrayContaining([expect.objectContaining({ sessionId: `sess_${open}`, chargePointId: 'CP-003', connectorId: 1, state: 'started', startedAt: t(0), billingKind: 'retail' })]));
    expect(report.body.unmatched).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'StopTransaction', chargePointId: 'CP-003', transactionId: 0, reason: 'unknown-transaction', receivedAt: expect.stringMatching(minuteOf(t(5))) })]));

    // Once it is stopped and completed, it is no longer listed as never completed.
    await stopAndUnplug(cp, 1, open, 2 * 60 + 10, 1_000);
    const after = await admin(stack, 'GET', '/revenue-assurance?olderThanHours=1');
    expect(after.body.notCompleted.map((s: { sessionId: string }) => s.sessionId)).not.toContain(`sess_${open}`);
  });

  it('a StopTransaction without a reason is stored and published as Local (OCPP 1.6 §6.49)', async () => {
    const cp = await chargePoint('CP-002');
    const idTag = await driver();
    const transactionId = await start(cp, 2, idTag, 0);
    await stopAndUnplug(cp, 2, transactionId, 30, 6_000);
    expect(await view(transactionId)).toMatchObject({ lifecycle: 'completed', stopReason: 'Local' });
    expect(eventsOf(transactionId, 'SessionStopped')[0]!.data).toMatchObject({ reason: 'Local' });
    // 6 kWh x 0.5831 EUR = 3.50 EUR.
    await expectCaptured(transactionId, 350);
  });
});
