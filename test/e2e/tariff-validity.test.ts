import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { runningClock } from '../../functions/shared/clock.ts';
import { admin, connectChargePoint, energySample, startTestStack, waitFor, type ChargePointClient, CARD_TEST_POLICY as POLICY } from '../support/stack.ts';

/**
 * OCPI 2.2.1 Tariff start_date_time / end_date_time end to end (issue 15, docs/pricing.md): a
 * tariff that does not cover a session's start never prices it. The tariff version in force at
 * the start is snapshotted; when it does not cover the start, the newest earlier version that does
 * prices the session (warning TARIFF_EARLIER_VERSION), else the session fails pricing with
 * TARIFF_NOT_ACTIVE and its card hold is not captured. A strict OCPP 1.6J charge point, the local
 * bus and the Stripe emulator.
 */

/** Sessions run on 2026-11-23 from 10:00 Berlin (09:00 UTC) plus `minutes`; the stack lives the next day, so they are queued messages, trusted as stamped (docs/clocks.md). */
const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + minutes * 60_000).toISOString();

/** 0.40 EUR/kWh + 19 % VAT (5 kWh: 2.00 + 0.38 = 2.38 EUR), or `price`, within a validity window. */
function aTariff(id: string, window: { start_date_time?: string; end_date_time?: string }, price = 0.4) {
  return {
    country_code: 'DE',
    party_id: 'VLT',
    id,
    currency: 'EUR',
    elements: [{ price_components: [{ type: 'ENERGY', price, vat: 19, step_size: 1 }] }],
    last_updated: '2026-10-01T00:00:00Z',
    ...window,
  };
}


describe('tariff validity windows end to end (local stack, strict OCPP client, Stripe emulator)', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  const clients: ChargePointClient[] = [];
  const events: Array<{ type: string; id: string; data: any }> = [];
  let drivers = 0;

  beforeAll(async () => {
    stack = await startTestStack({ clock: runningClock('2026-11-24T00:00:00Z'), stripe: { emulator: { client: { maxNetworkRetries: 0, timeout: 1500 } } } });
    stripe = stack.stripeEmulator!.client;
    stack.bus.subscribe((event: any) => events.push({ type: event['detail-type'], id: event.detail.metadata.id, data: event.detail.data }));
    expect((await admin(stack, 'PUT', '/payment-policies/default', POLICY)).status).toBe(200);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => undefined)));
    await stack?.close();
  });

  const eventsOf = (sessionId: string, type?: string) => events.filter((e) => e.data.sessionId === sessionId && (!type || e.type === type));

  /** A charge point billing with `tariffId`, and a driver paying by card with one idTag. */
  async function setUp(chargePointId: string, tariffId: string) {
    const put = await admin(stack, 'PUT', `/charge-points/${chargePointId}`, { password: DEMO.password, timeZone: 'Europe/Berlin', tariffId, maxPowerKw: 22 });
    expect(put.status).toBe(201);
    const cp = await connectChargePoint(stack, chargePointId);
    clients.push(cp);
    drivers += 1;
    const idTag = `TARIFF-WIN-${drivers}`;
    const customer = await stripe.customers.create({ email: `tariff-${drivers}@example.com`, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const driver = { stripeCustomerId: customer.id, defaultPaymentMethodId: customer.invoice_settings.default_payment_method as string, idTags: [idTag] };
    expect((await admin(stack, 'PUT', `/drivers/driver-tariff-${drivers}`, driver)).status).toBe(201);
    return { cp, idTag };
  }

  /** 5 kWh from 10:00 to 10:30 Berlin (10 kW), unplugged at 10:30; returns the session id once pricing answered. */
  async function charge(cp: ChargePointClient, idTag: string): Promise<string> {
    const started = await cp.call('StartTransaction', { connectorId: 1, idTag, meterStart: 0, timestamp: t(0) });
    expect(started.idTagInfo.status).toBe('Accepted');
    const transactionId: number = started.transactionId;
    const sessionId = `sess_${transactionId}`;
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: t(0) });
    await cp.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(t(15), 2_500)] });
    await cp.call('StopTransaction', { transactionId, meterStop: 5_000, timestamp: t(30), reason: 'Local', transactionData: [energySample(t(30), 5_000)] });
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: t(30) });
    await waitFor(`pricing's answer for ${sessionId}`, () =>
      eventsOf(sessionId).some((e) => e.type === 'SessionPriced' || e.type === 'SessionPricingFailed') ? true : undefined,
    );
    await stack.stripeEmulator!.emulator.control.drainWebhooks();
    await stack.bus.drain();
    return sessionId;
  }

  it('a tariff whose window ended before the session never prices it: SessionPricingFailed TARIFF_NOT_ACTIVE, no capture', async () => {
    const created = await admin(stack, 'PUT', '/tariffs/TV-ENDED', aTariff('TV-ENDED', { start_date_time: '2026-01-01T00:00:00Z', end_date_time: '2026-11-01T00:00:00Z' }));
    expect(created).toMatchObject({ status: 201, body: { version: 1 } });
    const { cp, idTag } = await setUp('CP-TV-ENDED', 'TV-ENDED');

    const sessionId = await charge(cp, idTag);

    const failed = eventsOf(sessionId, 'SessionPricingFailed');
    expect(failed.length).toBeGreaterThanOrEqual(1);
    const reason: string = failed[0]!.data.reason;
    expect(reason).toMatch(
      /^TARIFF_NOT_ACTIVE: tariff TV-ENDED is active until 2026-11-01T00:00:00Z \(end_date_time\), the session started at 2026-11-23T09:00:00.000Z; no earlier stored version of tariff TV-ENDED covers the session's start$/,
    );
    expect(eventsOf(sessionId, 'SessionPriced')).toEqual([]);

    const view = (await admin(stack, 'GET', `/sessions/${sessionId}`)).body;
    expect(view).toMatchObject({ lifecycle: 'completed', tariff: { tariffId: 'TV-ENDED', version: 1 }, pricingError: { reason }, price: null });
    expect(view.totalMinor).toBeUndefined();

    // The card hold stays a hold: nothing is captured for a session that was not priced.
    expect(view.payment).toMatchObject({ status: 'held', authorizedMinor: 2000, capturedMinor: 0 });
    const intent = await stripe.paymentIntents.retrieve(view.payment.paymentIntentIds[0]);
    expect(intent).toMatchObject({ status: 'requires_capture', amount_received: 0 });
    expect(eventsOf(sessionId).filter((e) => e.type === 'PaymentCaptured' || e.type === 'SessionPaymentSettled')).toEqual([]);
  });

  it('a new version effective after the session start: the earlier version that covers it prices the session, and that is captured', async () => {
    // Version 1 has applied since January; version 2, a price change from December, was stored before the session.
    expect((await admin(stack, 'PUT', '/tariffs/TV-CHANGE', aTariff('TV-CHANGE', { start_date_time: '2026-01-01T00:00:00Z' }))).body.version).toBe(1);
    expect((await admin(stack, 'PUT', '/tariffs/TV-CHANGE', aTariff('TV-CHANGE', { start_date_time: '2026-12-01T00:00:00Z' }, 0.6))).body.version).toBe(2);
    const { cp, idTag } = await setUp('CP-TV-CHANGE', 'TV-CHANGE');

    const sessionId = await charge(cp, idTag);

    expect(eventsOf(sessionId, 'SessionPricingFailed')).toEqual([]);
    const priced = eventsOf(sessionId, 'SessionPriced');
    expect(new Set(priced.map((e) => e.id))).toEqual(new Set([`SessionPriced:${sessionId}`]));
    // Version 1: 5 kWh x 0.40 = 2.00 EUR + 19 % VAT = 2.38 EUR (version 2 would be 3.57).
    expect(priced[0]!.data).toMatchObject({ tariff: { tariffId: 'TV-CHANGE', version: 1 }, totalMinor: 238, total_cost: { excl_vat: '2.00', incl_vat: '2.38' } });
    expect(priced[0]!.data.warnings).toContain('TARIFF_EARLIER_VERSION');

    const view = (await admin(stack, 'GET', `/sessions/${sessionId}`)).body;
    expect(view).toMatchObject({ lifecycle: 'completed', tariff: { tariffId: 'TV-CHANGE', version: 2 }, totalMinor: 238 });
    expect(view.pricingError).toBeUndefined();
    expect(view.price.warnings).toContainEqual({
      code: 'TARIFF_EARLIER_VERSION',
      message: expect.stringMatching(/^version 2 of tariff TV-CHANGE does not cover the session \(tariff TV-CHANGE is active from 2026-12-01T00:00:00Z .*\): priced with version 1$/),
    });
    await waitFor(`the capture of ${sessionId}`, async () => {
      const payment = (await admin(stack, 'GET', `/sessions/${sessionId}`)).body.payment;
      return payment?.status === 'settled' ? payment : undefined;
    }).then((payment) => expect(payment).toMatchObject({ authorizedMinor: 2000, capturedMinor: 238 }));
  });
});
