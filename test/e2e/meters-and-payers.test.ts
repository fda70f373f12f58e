import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningClock } from '../../functions/shared/clock.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { admin, connectChargePoint, energySample, rawSocket, startTestStack, type ChargePointClient, CARD_TEST_POLICY as POLICY } from '../support/stack.ts';

/**
 * Issue 15, "Meters and payers", one case per bullet, end to end: strict OCPP 1.6J charge points
 * (ocpp-rpc) on the local stack, pricing, payments against the Stripe emulator, fleet statements.
 * The product's own payer policy (payerlessCardTags: block) is in force. Rules: docs/meters.md,
 * docs/payments.md.
 */

/** Berlin 10:00 (day rate 0.49 EUR/kWh + 19 % VAT) plus `minutes`, on December day `day` of 2026. */
const t = (day: number, minutes: number) => new Date(Date.parse(`2026-12-${String(day).padStart(2, '0')}T09:00:00Z`) + minutes * 60_000).toISOString();

/** A 20.00 EUR hold raised up to at most 100.00: what the session may take from the card without review. */

describe('meters and payers (issue 15) end to end', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  const clients = new Map<string, ChargePointClient>();
  const events: Array<{ type: string; data: any }> = [];
  const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const remoteStops: unknown[] = [];
  let drivers = 0;

  beforeAll(async () => {
    const log = { debug() {}, info() {}, error() {}, warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, ...(fields ? { fields } : {}) }) };
    stack = await startTestStack({ log, clock: runningClock('2027-01-10T00:00:00Z'), stripe: { emulator: {} }, config: { payerlessCardTags: 'block' } });
    stripe = stack.stripeEmulator!.client;
    stack.bus.subscribe((event: any) => events.push({ type: event['detail-type'], data: event.detail.data }));
    expect((await admin(stack, 'PUT', '/payment-policies/default', POLICY)).status).toBe(200);
  });

  afterAll(async () => {
    await Promise.all([...clients.values()].map((c) => c.close({ force: true }).catch(() => undefined)));
    await stack?.close();
  });

  /**
   * A charge point of the test's own (tests run in any order, and a connector's latest status
   * belongs to whichever test ran last): DEMO-TOU in Berlin unless told, rated `maxPowerKw`.
   */
  async function ownChargePoint(id: string, maxPowerKw: number, tariffId = 'DEMO-TOU', timeZone = 'Europe/Berlin'): Promise<string> {
    const put = await admin(stack, 'PUT', `/charge-points/${id}`, { password: DEMO.password, timeZone, tariffId, siteId: `site-${id}`, maxPowerKw });
    expect(put.status).toBeLessThan(300);
    return id;
  }

  async function chargePoint(id: string, password?: string): Promise<ChargePointClient> {
    if (!clients.has(id)) {
      const handlers = {
        RemoteStopTransaction: (params: unknown) => {
          remoteStops.push(params);
          return { status: 'Accepted' };
        },
      };
      clients.set(id, await connectChargePoint(stack, id, { handlers, ...(password ? { password } : {}) }));
    }
    return clients.get(id)!;
  }

  async function driverWithCard(): Promise<string> {
    drivers += 1;
    const customer = await stripe.customers.create({ email: `meters-${drivers}@example.com`, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const idTag = `METERS-${drivers}`;
    const put = await admin(stack, 'PUT', `/drivers/meters-${drivers}`, { stripeCustomerId: customer.id, defaultPaymentMethodId: customer.invoice_settings.default_payment_method, idTags: [idTag] });
    expect(put.status).toBe(201);
    return idTag;
  }

  const settle = async () => {
    const control = stack.stripeEmulator!.emulator.control;
    for (let i = 0; i < 2; i++) {
      await control.drainWebhooks();
      await stack.bus.drain();
    }
  };

  /** One session: start, the readings [minute, Wh as sent], stop, Available; settled. */
  async function session(input: { cp: string; connectorId?: number; idTag: string; day: number; meterStart: number; readings: Array<[number, string]>; stop: [number, number]; reason?: string; transactionData?: unknown[] }) {
    const cp = await chargePoint(input.cp);
    const connectorId = input.connectorId ?? 1;
    const started = await cp.call('StartTransaction', { connectorId, idTag: input.idTag, meterStart: input.meterStart, timestamp: t(input.day, 0) });
    await stack.bus.drain();
    const transactionId = started.transactionId as number;
    for (const [minute, value] of input.readings) {
      await cp.call('MeterValues', { connectorId, transactionId, meterValue: [{ timestamp: t(input.day, minute), sampledValue: [{ value, measurand: 'Energy.Active.Import.Register', unit: 'Wh', context: 'Sample.Periodic' }] }] });
      await stack.bus.drain();
    }
    const [stopMinute, meterStop] = input.stop;
    await cp.call('StopTransaction', { transactionId, meterStop, timestamp: t(input.day, stopMinute), ...(input.reason ? { reason: input.reason } : {}), ...(input.transactionData ? { transactionData: input.transactionData } : {}) });
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'Available', timestamp: t(input.day, stopMinute) });
    await settle();
    const sessionId = `sess_${transactionId}`;
    const view = (await admin(stack, 'GET', `/sessions/${sessionId}`)).body;
    return { cp, transactionId, sessionId, status: started.idTagInfo.status as string, view, price: view.price, payment: view.payment };
  }

  const codes = (price: { warnings: Array<{ code: string }> }) => price.warnings.map((w) => w.code);

  it('an all-ones misread mid-session is not billed (8 kWh, not 1,577.7 kWh); above the policy maximum nothing more is taken without review', async () => {
    const idTag = await driverWithCard();
    await ownChargePoint('CP-GLITCH', 22);
    await ownChargePoint('CP-BIG', 150);
    const glitched = await session({ cp: 'CP-GLITCH', idTag, day: 16, meterStart: 100_000, readings: [[10, '102000'], [20, '104000'], [30, '1677721.5'], [40, '106000']], stop: [50, 108_000] });

    expect(glitched.price.total_energy).toBe('8');
    expect(codes(glitched.price)).toContain('METER_GLITCH');
    expect(glitched.price.totalMinor).toBe(466); // 8 kWh x 0.5831 EUR
    expect(glitched.payment.outcome).toMatchObject({ outcome: 'captured', capturedMinor: 466, topUpMinor: 0, outstandingMinor: 0 });

    // A real 300 kWh at 150 kW (CP-BIG) costs 174.93 EUR: 100.00 (the policy's maximum) is taken, the rest held for review.
    const big = await session({
      cp: 'CP-BIG',
      idTag,
      day: 17,
      meterStart: 0,
      readings: [[30, '75000'], [60, '150000'], [90, '225000']],
      stop: [120, 300_000],
    });
    expect(big.price.totalMinor).toBe(17_493);
    expect(big.payment.outcome).toMatchObject({ outcome: 'collection_failed', dueMinor: 17_493, outstandingMinor: 7_493, review: { amountMinor: 7_493, limitMinor: 10_000 } });
    expect(big.payment.outcome.capturedMinor + big.payment.outcome.topUpMinor).toBe(10_000);
    const intents = await stripe.paymentIntents.list({ limit: 100 });
    const taken = intents.data.filter((pi) => pi.metadata.sessionId === big.sessionId).reduce((sum, pi) => sum + (pi.amount_received ?? 0), 0);
    expect(taken).toBe(10_000);
    const settled = events.find((e) => e.type === 'SessionPaymentSettled' && e.data.sessionId === big.sessionId)!;
    expect(settled.data.review).toMatchObject({ amountMinor: 7_493 });
  });

  it('a register reset mid-session is counted from zero and flagged: never negative, never half', async () => {
    await ownChargePoint('CP-RESET', 22);
    const reset = await session({ cp: 'CP-RESET', idTag: 'DEMO-FREE', day: 18, meterStart: 50_000, readings: [[10, '52000'], [20, '54000'], [30, '500'], [40, '2500']], stop: [50, 4_500] });

    expect(reset.price.total_energy).toBe('8.5');
    expect(codes(reset.price)).toContain('REGISTER_RESET');
  });

  it('energy that decreases, a spike far above max power, samples after the stop, meterStop below the last sample: each decided and flagged', async () => {
    await ownChargePoint('CP-ODD', 22);
    const decreases = await session({ cp: 'CP-ODD', idTag: 'DEMO-FREE', day: 19, meterStart: 10_000, readings: [[10, '12000'], [20, '12500'], [30, '11000'], [40, '11200'], [50, '13000']], stop: [60, 14_000] });
    expect(decreases.price.total_energy).toBe('4');
    expect(codes(decreases.price)).toContain('REGISTER_BACKWARDS');

    // 22 kW for 10 min is at most 4.1 kWh: a 40 kWh jump is not billed.
    const spike = await session({ cp: 'CP-ODD', idTag: 'DEMO-FREE', day: 20, meterStart: 0, readings: [[10, '3000'], [20, '43000'], [30, '43500']], stop: [40, 9_000] });
    expect(spike.price.total_energy).toBe('9');
    expect(codes(spike.price)).toContain('METER_GLITCH');

    const below = await session({ cp: 'CP-ODD', idTag: 'DEMO-FREE', day: 21, meterStart: 0, readings: [[10, '1000'], [20, '3000'], [30, '3500']], stop: [40, 2_000] });
    expect(below.price.total_energy).toBe('2');
    expect(codes(below.price)).toContain('METER_STOP_BELOW_READINGS');

    // Readings stamped after the stop (in StopTransaction's transactionData, or a MeterValues sent after it): never billed.
    const after = await session({ cp: 'CP-ODD', idTag: 'DEMO-FREE', day: 22, meterStart: 0, readings: [[10, '1000']], stop: [20, 2_000], transactionData: [energySample(t(22, 25), 50_000)] });
    expect(after.price.total_energy).toBe('2');
    expect(codes(after.price)).toContain('SAMPLES_OUTSIDE_TRANSACTION');
    await after.cp.call('MeterValues', { connectorId: 1, transactionId: after.transactionId, meterValue: [energySample(t(22, 30), 90_000)] });
    await settle();
    const repriced = (await admin(stack, 'GET', `/sessions/${after.sessionId}`)).body.price;
    expect(repriced.total_energy).toBe('2');
    expect(after.price.totalMinor).toBe(0); // free: quantities still reported
  });

  it('a MeterValues frame with one sampled value outside the schema (unit Hertz, errata 3.84) keeps its energy reading and is answered normally', async () => {
    await ownChargePoint('CP-HERTZ', 22);
    const cp = await chargePoint('CP-HERTZ');
    const started = await cp.call('StartTransaction', { connectorId: 2, idTag: 'DEMO-FREE', meterStart: 0, timestamp: t(23, 0) });
    const transactionId = started.transactionId as number;
    await cp.close({ force: true });
    clients.delete('CP-HERTZ');
    // The strict client will not send what the schema forbids; a raw socket does, as such a charge point would.
    const raw = await rawSocket(stack, 'CP-HERTZ', DEMO.password);
    const frame = [2, 'mv-hertz', 'MeterValues', { connectorId: 2, transactionId, meterValue: [{ timestamp: t(23, 10), sampledValue: [{ value: '3000', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }, { value: '50.0', measurand: 'Frequency', unit: 'Hertz' }] }] }];
    raw.ws.send(JSON.stringify(frame));
    expect(await raw.next()).toEqual([3, 'mv-hertz', {}]);
    raw.ws.send(JSON.stringify([2, 'stop-hertz', 'StopTransaction', { transactionId, meterStop: 5_000, timestamp: t(23, 20), transactionData: [{ timestamp: t(23, 20), sampledValue: [{ value: '49.9', measurand: 'Frequency', unit: 'Hertz' }, { value: '5000', unit: 'Wh' }] }] }]));
    expect(((await raw.next()) as unknown[]).slice(0, 2)).toEqual([3, 'stop-hertz']);
    raw.ws.send(JSON.stringify([2, 'avail', 'StatusNotification', { connectorId: 2, errorCode: 'NoError', status: 'Available', timestamp: t(23, 20) }]));
    expect(await raw.next()).toEqual([3, 'avail', {}]);
    raw.ws.close();
    await settle();

    const view = (await admin(stack, 'GET', `/sessions/sess_${transactionId}`)).body;
    expect(view.state).toBe('completed');
    expect(JSON.stringify(view.meterSamples)).toContain('"3000"');
    expect(JSON.stringify(view.meterSamples)).not.toContain('Hertz');
    expect(view.price.total_energy).toBe('5');
    expect(codes(view.price)).not.toContain('NO_METER_VALUES'); // the 3 kWh reading of the Hertz frame was read
    expect(warnings.filter((w) => /break the OCPP schema/.test(w.message)).map((w) => w.fields?.action)).toEqual(['MeterValues', 'StopTransaction']);

    // Strict elsewhere: a StatusNotification outside its enum is still refused.
    const strict = await rawSocket(stack, 'CP-HERTZ', DEMO.password);
    strict.ws.send(JSON.stringify([2, 'bad-status', 'StatusNotification', { connectorId: 2, errorCode: 'NoError', status: 'Sleeping' }]));
    expect(((await strict.next()) as unknown[]).slice(0, 3)).toEqual([4, 'bad-status', 'PropertyConstraintViolation']);
    strict.ws.close();
  });

  it('authorization and billing agree: a tag nobody pays for is Blocked at Authorize; a Blocked start is priced as no-payer, never as retail', async () => {
    const cp = await chargePoint(await ownChargePoint('CP-PAYER', 22));
    expect((await admin(stack, 'PUT', '/id-tags/RETAIL-NO-CARD', { status: 'Accepted', billing: { kind: 'retail' } })).status).toBeLessThan(300);
    expect((await cp.call('Authorize', { idTag: 'RETAIL-NO-CARD' })).idTagInfo.status).toBe('Blocked');
    expect((await cp.call('Authorize', { idTag: await driverWithCard() })).idTagInfo.status).toBe('Accepted');
    expect((await cp.call('Authorize', { idTag: 'DEMO-FLEET-1' })).idTagInfo.status).toBe('Accepted');

    // A charge point that starts anyway (Blocked), then stops DeAuthorized.
    const blocked = await session({ cp: 'CP-PAYER', connectorId: 2, idTag: 'DEMO-BLOCKED', day: 24, meterStart: 0, readings: [[5, '500']], stop: [10, 1_000], reason: 'DeAuthorized' });
    expect(blocked.status).toBe('Blocked');
    expect(blocked.price.billing.profile).toEqual({ kind: 'no-payer', reason: 'StartTransaction answered Blocked' });
    expect(codes(blocked.price)).toContain('NO_PAYER');
    expect(blocked.payment ?? null).toBeNull();
    expect(events.filter((e) => e.data.sessionId === blocked.sessionId && /^Payment|SessionPaymentSettled/.test(e.type))).toEqual([]);
    const assurance = (await admin(stack, 'GET', '/revenue-assurance?olderThanHours=0')).body;
    expect(assurance.open).toContainEqual(expect.objectContaining({ sessionId: blocked.sessionId, stage: 'no_payer', owedMinor: blocked.price.totalMinor }));

    // A payerless tag that a charge point starts offline is Blocked at StartTransaction too: no hold, no remote stop 20 ms later.
    const stopsBefore = remoteStops.length;
    const offline = await session({ cp: 'CP-PAYER', connectorId: 2, idTag: 'RETAIL-NO-CARD', day: 25, meterStart: 0, readings: [], stop: [10, 1_000], reason: 'DeAuthorized' });
    expect(offline.status).toBe('Blocked');
    expect(offline.price.billing.profile.kind).toBe('no-payer');
    expect(remoteStops.length).toBe(stopsBefore);
  });

  it('a fleet session at a site in another currency is never claimed by a statement that does not bill it', async () => {
    const chf = { ...DEMO.tariff, id: 'CHF-DAY', currency: 'CHF', voltledger: undefined };
    expect((await admin(stack, 'PUT', '/tariffs/CHF-DAY', JSON.parse(JSON.stringify(chf)))).status).toBe(201);
    await ownChargePoint('CP-ZRH', 22, 'CHF-DAY', 'Europe/Zurich');
    await ownChargePoint('CP-FLEET', 22);
    const account = await admin(stack, 'PUT', '/fleet-accounts/ACME', {
      name: 'ACME Logistics GmbH',
      currency: 'EUR',
      billingContact: { email: 'billing@acme.example' },
      plan: { kind: 'per_session' },
      taxDetails: { vatPercent: '19', treatment: 'standard', country: 'DE' },
      timeZone: 'Europe/Berlin',
    });
    expect(account.status).toBe(200);

    const eur = await session({ cp: 'CP-FLEET', idTag: 'DEMO-FLEET-1', day: 26, meterStart: 0, readings: [], stop: [30, 5_000] });
    const inChf = await session({ cp: 'CP-ZRH', idTag: 'DEMO-FLEET-1', day: 27, meterStart: 0, readings: [], stop: [30, 5_000] });
    expect(inChf.price.currency).toBe('CHF');

    const issued = await admin(stack, 'POST', '/fleet-accounts/ACME/statements/2026-12/issue');
    expect(issued.status).toBe(200);
    const statement = issued.body.statement;
    expect(statement.lines.map((l: any) => l.sessionId)).toContain(eur.sessionId);
    expect(statement.lines.map((l: any) => l.sessionId)).not.toContain(inChf.sessionId);
    expect(statement.excluded).toEqual([{ sessionId: inChf.sessionId, reason: expect.stringMatching(/priced in CHF/) }]);
    const stored = (await admin(stack, 'GET', '/fleet-accounts/ACME/statements')).body.statements.find((s: any) => s.period === '2026-12');
    expect(stored.sessionIds).not.toContain(inChf.sessionId);

    // Still unclaimed, still reported: on the re-read statement and on the next period's preview.
    expect((await admin(stack, 'GET', '/fleet-accounts/ACME/statements/2026-12')).body.statement.excluded).toEqual([expect.objectContaining({ sessionId: inChf.sessionId })]);
    expect((await admin(stack, 'GET', '/fleet-accounts/ACME/statements/2027-01')).body.statement.excluded).toEqual([expect.objectContaining({ sessionId: inChf.sessionId })]);
    expect(warnings.some((w) => /another currency left unclaimed/.test(w.message))).toBe(true);
  });
});
