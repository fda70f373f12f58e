import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import type { StripeEmulatorControl } from '../../lib/local/stripe/index.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { fixedClock } from '../../functions/shared/clock.ts';
import { admin, connectChargePoint, energySample, startTestStack, type ChargePointClient, CARD_TEST_POLICY as POLICY } from '../support/stack.ts';

/**
 * Charge point clocks (issue 15, docs/clocks.md), end to end: a strict OCPP 1.6J charge point
 * (ocpp-rpc) whose clock is wrong, on the local stack, priced by the pricing consumer with the demo
 * tariff DEMO-TOU (0.49 EUR/kWh 07:00-22:00 Berlin, 0.35 at night, parking 6 EUR/h per minute,
 * 19 % VAT), card sessions held and captured through the Stripe emulator.
 *
 * The stack's clock is the server's receive time. It stands still on a fixed day and the test sets it
 * before each message (only forward), so every case knows exactly when the server received what
 * the charge point stamped, and no case depends on today's date. Each case has its own charge point
 * (a clock is measured per charge point) and its own day.
 */

const IDLE_LIMIT_SECONDS = 600;
const H = 3_600_000;

/** Berlin 10:00 (09:00 UTC) plus `minutes` on day `day` after 2026-11-23: DEMO-TOU's day rate. */
const at = (day: number, minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + day * 86_400_000 + minutes * 60_000).toISOString();
const shift = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();


describe('charge point clocks (local stack, Stripe emulator)', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let control: StripeEmulatorControl;
  const clock = fixedClock('2026-11-23T08:00:00Z');
  const clients: ChargePointClient[] = [];
  const events: Array<{ type: string; id: string; data: any }> = [];
  let drivers = 0;

  beforeAll(async () => {
    stack = await startTestStack({
      clock,
      config: { idleCompletionLimitSeconds: IDLE_LIMIT_SECONDS },
      stripe: { emulator: { options: { webhookRetry: { baseDelayMs: 50 } }, client: { maxNetworkRetries: 0, timeout: 1500 } } },
    });
    stripe = stack.stripeEmulator!.client;
    control = stack.stripeEmulator!.emulator.control;
    stack.bus.subscribe((event: any) => events.push({ type: event['detail-type'], id: event.detail.metadata.id, data: event.detail.data }));
    expect((await admin(stack, 'PUT', '/payment-policies/default', POLICY)).status).toBe(200);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => undefined)));
    await stack?.close();
  });

  /** A charge point of its own (Berlin, DEMO-TOU unless told), connected. */
  async function chargePoint(identity: string, tariffId = DEMO.tariffId): Promise<ChargePointClient> {
    const saved = await admin(stack, 'PUT', `/charge-points/${identity}`, { password: DEMO.password, timeZone: 'Europe/Berlin', tariffId, siteId: 'berlin-mitte', maxPowerKw: 22 });
    expect(saved.status).toBe(201);
    const client = await connectChargePoint(stack, identity);
    clients.push(client);
    return client;
  }

  /** A driver whose idTag pays by card (a Visa on file). */
  async function cardDriver(): Promise<string> {
    drivers += 1;
    const idTag = `CLOCK-CARD-${drivers}`;
    const customer = await stripe.customers.create({ email: `clock-${drivers}@example.com`, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const paymentMethod = customer.invoice_settings.default_payment_method as string;
    expect((await admin(stack, 'PUT', `/drivers/clock-${drivers}`, { stripeCustomerId: customer.id, defaultPaymentMethodId: paymentMethod, idTags: [idTag] })).status).toBe(201);
    return idTag;
  }

  const settle = async () => {
    for (let i = 0; i < 3; i += 1) {
      await control.drainWebhooks();
      await stack.bus.drain();
    }
  };

  /** Sends a CALL that the server receives at `receivedAt` (whatever the charge point stamped in it). */
  async function send(cp: ChargePointClient, receivedAt: string, action: string, payload: Record<string, unknown>): Promise<any> {
    clock.set(receivedAt);
    const answer = await cp.call(action, payload);
    await settle();
    return answer;
  }

  const status = (cp: ChargePointClient, receivedAt: string, stamped: string, state = 'Available', connectorId = 1) =>
    send(cp, receivedAt, 'StatusNotification', { connectorId, errorCode: 'NoError', status: state, timestamp: stamped });

  async function start(cp: ChargePointClient, receivedAt: string, stamped: string, idTag: string, meterStart = 0, connectorId = 1): Promise<number> {
    const answer = await send(cp, receivedAt, 'StartTransaction', { connectorId, idTag, meterStart, timestamp: stamped });
    expect(answer.idTagInfo.status).toBe('Accepted');
    return answer.transactionId as number;
  }

  const stop = (cp: ChargePointClient, receivedAt: string, stamped: string, transactionId: number, meterStop: number, extra: Record<string, unknown> = {}) =>
    send(cp, receivedAt, 'StopTransaction', { transactionId, meterStop, timestamp: stamped, ...extra });

  const view = async (transactionId: number) => {
    const answer = await admin(stack, 'GET', `/sessions/sess_${transactionId}`);
    expect(answer.status).toBe(200);
    return answer.body;
  };
  const eventsOf = (transactionId: number, type?: string) => events.filter((e) => e.data.sessionId === `sess_${transactionId}` && (!type || e.type === type));
  const clockFlags = (session: { flags: string[] }) => session.flags.filter((f) => f.startsWith('clock:')).sort();

  it('(a) an Available stamped 3 h ahead is corrected to its receipt; the next, correctly timed session is billed 5 minutes of parking, not 3 h', async () => {
    const cp = await chargePoint('CP-CLK-A');
    // The clock runs 3 h fast: the Available is stamped 13:00 Berlin, received at 10:00.
    await status(cp, at(0, 0), shift(at(0, 0), 3 * H));
    const connector = (await stack.stores.registry.statusTimeline('CP-CLK-A', 1, at(0, -1))).find((s) => s.receivedAt === at(0, 0))!;
    expect(connector).toMatchObject({ status: 'Available', timestamp: at(0, 0), reportedTimestamp: shift(at(0, 0), 3 * H), clockFlags: ['clock:status-ahead-corrected'] });
    expect((await admin(stack, 'GET', '/charge-points/CP-CLK-A')).body.clock).toMatchObject({ offsetMs: 3 * H, state: 'ahead', measuredBy: 'StatusNotification' });

    // The clock is corrected (Heartbeat.conf carries the server's time); the next session is timed right.
    await send(cp, at(0, 5), 'Heartbeat', {});
    const transactionId = await start(cp, at(0, 10), at(0, 10), 'DEMO-RETAIL');
    await stop(cp, at(0, 40), at(0, 40), transactionId, 3000, { transactionData: [energySample(at(0, 40), 3000)] });
    // The future Available does not complete the session at its stop: the car is still plugged in.
    expect((await view(transactionId)).lifecycle).toBe('stopped');
    await status(cp, at(0, 45), at(0, 45));

    const session = await view(transactionId);
    expect(session).toMatchObject({ lifecycle: 'completed', completedBy: 'unplugged', startedAt: at(0, 10), stoppedAt: at(0, 40), completedAt: at(0, 45), energyWh: 3000, flags: [] });
    expect(session.chargePointClock).toMatchObject({ offsetMs: 0, state: 'in-sync' });
    // 3 kWh x 0.49 = 1.47 and 5 min parking x 0.10 = 0.50, + 19 % VAT: 2.34 EUR.
    expect(session.price).toMatchObject({ total_energy: '3', total_parking_time: expect.stringMatching(/^0\.083/), total_parking_cost: { excl_vat: '0.50' }, total_cost: { excl_vat: '1.97', incl_vat: '2.34' }, totalMinor: 234 });
  });

  it('(b) a 15-minute visit whose StartTransaction is stamped 5 h slow (synced by Heartbeat before the stop) is billed from the start’s receipt: no 5 h of parking', async () => {
    const cp = await chargePoint('CP-CLK-B');
    const transactionId = await start(cp, at(1, 0), at(1, -300), 'DEMO-RETAIL');
    await send(cp, at(1, 1), 'Heartbeat', {});
    await stop(cp, at(1, 15), at(1, 15), transactionId, 3000);
    await status(cp, at(1, 16), at(1, 16));

    const session = await view(transactionId);
    expect(session).toMatchObject({ lifecycle: 'completed', startedAt: at(1, 0), stoppedAt: at(1, 15), completedAt: at(1, 16), energyWh: 3000 });
    expect(clockFlags(session)).toEqual(['clock:start-time-unverified']);
    expect(session.clock.start).toMatchObject({ reported: at(1, -300), receivedAt: at(1, 0), offsetMs: -5 * H, rule: 'delayed' });
    expect(session.clock.notes.join(' ')).toMatch(/billed from the receipt/);
    // 3 kWh x 0.49 = 1.47 and 1 min parking x 0.10, + 19 % VAT: 1.87 EUR (not 36.41).
    expect(session.price).toMatchObject({ total_cost: { excl_vat: '1.57', incl_vat: '1.87' }, total_parking_cost: { excl_vat: '0.10' }, totalMinor: 187 });
  });

  it('(c) a whole session stamped 3 h fast is priced at the time-of-use rates of when it happened, and flagged', async () => {
    const cp = await chargePoint('CP-CLK-C');
    // Received 21:00-21:30 Berlin (day rate 0.49), stamped 00:00-00:30 (the night rate 0.35 if believed).
    const transactionId = await start(cp, at(2, 660), shift(at(2, 660), 3 * H), 'DEMO-RETAIL');
    await send(cp, at(2, 675), 'MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(shift(at(2, 675), 3 * H), 2500)] });
    await stop(cp, at(2, 690), shift(at(2, 690), 3 * H), transactionId, 5000, { transactionData: [energySample(shift(at(2, 690), 3 * H), 5000)] });
    await status(cp, at(2, 690), shift(at(2, 690), 3 * H));

    const session = await view(transactionId);
    expect(session).toMatchObject({ lifecycle: 'completed', startedAt: at(2, 660), stoppedAt: at(2, 690), completedAt: at(2, 690), energyWh: 5000 });
    expect(clockFlags(session)).toEqual(['clock:start-ahead-corrected', 'clock:stop-ahead-corrected']);
    expect(session.clock.start).toMatchObject({ offsetMs: 3 * H, corrected: at(2, 660), rule: 'ahead-corrected' });
    expect(session.clock.stop).toMatchObject({ offsetMs: 3 * H, corrected: at(2, 690), rule: 'ahead-corrected' });
    // The samples are stored at corrected times, the reported ones kept.
    expect(session.meterSamples.map((s: { timestamp: string; reportedTimestamp?: string }) => [s.timestamp, s.reportedTimestamp])).toEqual([
      [at(2, 675), shift(at(2, 675), 3 * H)],
      [at(2, 690), shift(at(2, 690), 3 * H)],
    ]);
    // 5 kWh x 0.49 = 2.45, + 19 % VAT: 2.92 EUR (at the night rate it would be 2.08).
    expect(session.price).toMatchObject({ total_energy: '5', total_energy_cost: { excl_vat: '2.45', incl_vat: '2.92' }, total_parking_time: '0', totalMinor: 292 });
  });

  it('(d) a StartTransaction dated 1970-01-01 holds the session for review: SessionPricingFailed recorded and published once, not dead-lettered, no capture', async () => {
    const cp = await chargePoint('CP-CLK-D');
    const idTag = await cardDriver();
    const transactionId = await start(cp, at(3, 0), '1970-01-01T00:00:00Z', idTag);
    await stop(cp, at(3, 30), '1970-01-01T00:30:00Z', transactionId, 5000);
    await status(cp, at(3, 31), '1970-01-01T00:31:00Z');

    const session = await view(transactionId);
    // The receipts stand in for the dead clock's times.
    expect(session).toMatchObject({ lifecycle: 'completed', startedAt: at(3, 0), stoppedAt: at(3, 30), completedAt: at(3, 31), price: null });
    expect(clockFlags(session)).toEqual(['clock:held-for-review', 'clock:start-before-floor', 'clock:stop-before-floor']);
    expect(session.clock.review).toMatch(/StartTransaction timestamp 1970-01-01T00:00:00Z is implausible \(before-floor\)/);
    expect(session.pricingError).toMatchObject({ reason: session.clock.review });
    expect(eventsOf(transactionId, 'SessionPriced')).toEqual([]);
    const failed = eventsOf(transactionId, 'SessionPricingFailed');
    expect(new Set(failed.map((e) => e.id))).toEqual(new Set([`SessionPricingFailed:sess_${transactionId}`]));
    expect(failed[0]!.data.reason).toBe(session.clock.review);
    expect(stack.bus.deadLetters).toEqual([]);
    // Nothing is taken from the card on a guess.
    expect(session.payment).toMatchObject({ capturedMinor: 0 });
    expect(eventsOf(transactionId, 'PaymentCaptured')).toEqual([]);
  });

  it('(e) one Available stamped 2099 poisons nothing: the next session completes when the car leaves and is captured for 2.34 EUR', async () => {
    const cp = await chargePoint('CP-CLK-E');
    const idTag = await cardDriver();
    await status(cp, at(4, 0), '2099-01-01T00:00:00Z');
    const poisoned = (await stack.stores.registry.statusTimeline('CP-CLK-E', 1, at(4, -1))).find((s) => s.receivedAt === at(4, 0))!;
    expect(poisoned).toMatchObject({ timestamp: at(4, 0), reportedTimestamp: '2099-01-01T00:00:00Z', clockFlags: ['clock:status-far-future'] });

    const transactionId = await start(cp, at(4, 10), at(4, 10), idTag);
    await stop(cp, at(4, 40), at(4, 40), transactionId, 3000);
    expect((await view(transactionId)).lifecycle).toBe('stopped');
    await status(cp, at(4, 45), at(4, 45));

    const session = await view(transactionId);
    expect(session).toMatchObject({ lifecycle: 'completed', completedBy: 'unplugged', completedAt: at(4, 45), flags: [] });
    expect(session.price).toMatchObject({ total_cost: { excl_vat: '1.97', incl_vat: '2.34' }, totalMinor: 234 });
    expect(session.payment).toMatchObject({ status: 'settled', authorizedMinor: 2000, capturedMinor: 234 });
    expect(eventsOf(transactionId, 'PaymentCaptured')[0]!.data).toMatchObject({ capturedMinor: 234 });
  });

  it('(f) a StartTransaction stamped 2000-01-01 on a tariff with a TIME component is held for review, never billed decades', async () => {
    const tariff = {
      country_code: 'DE',
      party_id: 'VLT',
      id: 'CLOCK-TIME',
      currency: 'EUR',
      elements: [{ price_components: [{ type: 'ENERGY', price: 0.3, vat: 19.0, step_size: 1 }, { type: 'TIME', price: 2.4, vat: 19.0, step_size: 60 }] }],
      last_updated: '2026-11-01T00:00:00Z',
    };
    expect((await admin(stack, 'PUT', '/tariffs/CLOCK-TIME', tariff)).status).toBe(201);
    const cp = await chargePoint('CP-CLK-F', 'CLOCK-TIME');
    const idTag = await cardDriver();
    // Synced at boot, but the start was queued offline while the dead real-time clock said 2000.
    await send(cp, at(5, -1), 'BootNotification', { chargePointVendor: 'Acme', chargePointModel: 'DeadRTC' });
    const transactionId = await start(cp, at(5, 0), '2000-01-01T00:00:00Z', idTag);
    await stop(cp, at(5, 60), at(5, 60), transactionId, 10_000);
    await status(cp, at(5, 60), at(5, 60));

    const session = await view(transactionId);
    expect(session).toMatchObject({ lifecycle: 'completed', startedAt: at(5, 0), stoppedAt: at(5, 60), price: null, tariff: { tariffId: 'CLOCK-TIME' } });
    expect(clockFlags(session)).toEqual(['clock:held-for-review', 'clock:start-before-floor']);
    expect(session.pricingError.reason).toMatch(/2000-01-01T00:00:00Z is implausible \(before-floor\); held for review/);
    expect(eventsOf(transactionId, 'SessionPricingFailed')).toHaveLength(1);
    expect(eventsOf(transactionId, 'SessionPriced')).toEqual([]);
    expect(stack.bus.deadLetters).toEqual([]);
    expect(session.payment).toMatchObject({ capturedMinor: 0 });
    expect(eventsOf(transactionId, 'PaymentCaptured')).toEqual([]);
  });

  it('(g) two sessions of one card with identical start timestamps after reboots get different transactionIds and are both billed', async () => {
    const cp = await chargePoint('CP-CLK-G');
    const idTag = await cardDriver();
    // The dead clock restarts at the same instant after each reboot.
    const deadClock = '2026-01-01T00:00:00Z';
    const boot = { chargePointVendor: 'Acme', chargePointModel: 'DeadRTC' };
    await send(cp, at(6, 0), 'BootNotification', boot);
    const first = await start(cp, at(6, 1), deadClock, idTag, 1000);
    // Its answer was lost: the retry is the same session.
    expect((await send(cp, at(6, 2), 'StartTransaction', { connectorId: 1, idTag, meterStart: 1000, timestamp: deadClock })).transactionId).toBe(first);
    await stop(cp, at(6, 31), at(6, 31), first, 4000);
    await status(cp, at(6, 31), at(6, 31));

    await send(cp, at(6, 120), 'BootNotification', boot);
    const second = await start(cp, at(6, 121), deadClock, idTag, 4000);
    expect(second).not.toBe(first);
    expect((await send(cp, at(6, 122), 'StartTransaction', { connectorId: 1, idTag, meterStart: 4000, timestamp: deadClock })).transactionId).toBe(second);
    await stop(cp, at(6, 151), at(6, 151), second, 7000);
    await status(cp, at(6, 151), at(6, 151));

    for (const [transactionId, startedAt] of [
      [first, at(6, 1)],
      [second, at(6, 121)],
    ] as const) {
      const session = await view(transactionId);
      expect(session).toMatchObject({ lifecycle: 'completed', startedAt, energyWh: 3000 });
      expect(clockFlags(session)).toEqual(['clock:start-time-unverified']);
      // 3 kWh x 0.49 = 1.47, + 19 % VAT: 1.75 EUR each, captured from the card.
      expect(session.price).toMatchObject({ total_cost: { excl_vat: '1.47', incl_vat: '1.75' }, totalMinor: 175 });
      expect(session.payment).toMatchObject({ status: 'settled', capturedMinor: 175 });
    }
  });

  it('(h) a stop stamped before its start (the clock set back in between) is timed by the receipts, priced and settled', async () => {
    const cp = await chargePoint('CP-CLK-H');
    const idTag = await cardDriver();
    const transactionId = await start(cp, at(7, 0), at(7, 0), idTag);
    // The clock is set back an hour mid-session: the stop says 09:30 Berlin, received at 10:30.
    await stop(cp, at(7, 30), at(7, -30), transactionId, 3000);
    // The next Heartbeat syncs it again.
    await send(cp, at(7, 31), 'Heartbeat', {});
    await status(cp, at(7, 35), at(7, 35));

    const session = await view(transactionId);
    expect(session).toMatchObject({ lifecycle: 'completed', startedAt: at(7, 0), stoppedAt: at(7, 30), completedAt: at(7, 35), energyWh: 3000 });
    expect(clockFlags(session)).toEqual(['clock:stop-before-start']);
    expect(session.pricingError).toBeUndefined();
    // 3 kWh x 0.49 = 1.47 and 5 min parking x 0.10 = 0.50, + 19 % VAT: 2.34 EUR, captured.
    expect(session.price).toMatchObject({ total_cost: { excl_vat: '1.97', incl_vat: '2.34' }, totalMinor: 234 });
    expect(session.payment).toMatchObject({ status: 'settled', capturedMinor: 234 });
    expect(eventsOf(transactionId, 'SessionPricingFailed')).toEqual([]);
  });

  it('(i) a leap-second StopTransaction (23:59:60Z) is answered, not a CALLERROR InternalError, read as 23:59:59.999 and flagged', async () => {
    const cp = await chargePoint('CP-CLK-I');
    const transactionId = await start(cp, '2026-12-31T23:30:00.000Z', '2026-12-31T23:30:00Z', 'DEMO-RETAIL');
    const answer = await stop(cp, '2027-01-01T00:00:00.500Z', '2026-12-31T23:59:60Z', transactionId, 2000, { idTag: 'DEMO-RETAIL' });
    expect(answer).toEqual({ idTagInfo: { status: 'Accepted' } });
    await status(cp, '2027-01-01T00:00:01.000Z', '2027-01-01T00:00:01Z');

    const session = await view(transactionId);
    expect(session).toMatchObject({ lifecycle: 'completed', stoppedAt: '2026-12-31T23:59:59.999Z', completedAt: '2027-01-01T00:00:01.000Z', energyWh: 2000 });
    expect(clockFlags(session)).toEqual(['clock:stop-leap-second']);
    expect(session.clock.stop).toMatchObject({ reported: '2026-12-31T23:59:60Z', leapSecond: true, rule: 'in-sync' });
    // 00:30-01:00 Berlin: the night rate. 2 kWh x 0.35 = 0.70 and 1 min parking 0.10 (a started minute), + 19 % VAT.
    expect(session.price).toMatchObject({ total_energy_cost: { excl_vat: '0.70' }, total_cost: { excl_vat: '0.80', incl_vat: '0.95' }, totalMinor: 95 });
  });

  it('(j) a StopTransaction for EVDisconnected whose queued Available arrives after the idle limit is completed at the stop: no idle limit of parking', async () => {
    const cp = await chargePoint('CP-CLK-J');
    const transactionId = await start(cp, at(9, 0), at(9, 0), 'DEMO-RETAIL');
    await stop(cp, at(9, 30), at(9, 30), transactionId, 3000, { reason: 'EVDisconnected' });
    clock.set(shift(at(9, 30), IDLE_LIMIT_SECONDS * 1000 - 1000));
    expect(await stack.system.completeIdleSessions()).toBe(0);
    clock.set(shift(at(9, 30), IDLE_LIMIT_SECONDS * 1000 + 1000));
    expect(await stack.system.completeIdleSessions()).toBe(1);
    await settle();
    // The Available the charge point queued 20 s after the stop arrives late: it changes nothing.
    await status(cp, at(9, 45), shift(at(9, 30), 20_000));

    const session = await view(transactionId);
    expect(session).toMatchObject({ lifecycle: 'completed', completedBy: 'idle-limit', stoppedAt: at(9, 30), completedAt: at(9, 30), stopReason: 'EVDisconnected' });
    // 3 kWh x 0.49 = 1.47, + 19 % VAT: 1.75 EUR, no parking (10 min would add 1.19).
    expect(session.price).toMatchObject({ total_parking_time: '0', total_cost: { excl_vat: '1.47', incl_vat: '1.75' }, totalMinor: 175 });
    expect(eventsOf(transactionId, 'SessionCompleted')).toHaveLength(1);
    expect(eventsOf(transactionId, 'SessionPriced')).toHaveLength(1);
  });
});
