import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import type { StripeEmulatorControl } from '../../lib/local/stripe/index.ts';
import { runningClock } from '../../functions/shared/clock.ts';
import { admin, connectChargePoint, energySample, startTestStack, waitFor, type ChargePointClient, CARD_TEST_POLICY as POLICY } from '../support/stack.ts';

/**
 * Berlin 10:00 plus `minutes` on the test's own day (sessions of different tests never overlap on
 * a connector): the DEMO-TOU day rate up to 720 minutes, 0.49 EUR/kWh + 19 % VAT = 0.5831 EUR per kWh.
 */
let day = 0;
const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + day * 86_400_000 + minutes * 60_000).toISOString();

/** The policy every test starts from: a 20.00 EUR hold, raised at 80 % by half the running cost (at least 10.00), at most 100.00. */


/**
 * Card payments end to end: a strict OCPP 1.6J charge point (ocpp-rpc) charging on the local stack,
 * the payments consumer on the local bus, the real Stripe SDK against the local Stripe emulator
 * (holds, increments, captures, declines, expiry, faults, Terminal readers) and its signed webhooks.
 */
describe('card payments end to end (local stack, Stripe emulator)', () => {
  const serverClock = runningClock('2027-01-15T00:00:00Z');
  let stack: LocalStack;
  let stripe: Stripe;
  let control: StripeEmulatorControl;
  let cp: ChargePointClient;
  const remoteCalls: Array<{ action: string; params: any }> = [];
  const events: Array<{ type: string; id: string; data: any }> = [];
  let driverCount = 0;
  /** The stack's warnings: the bus logs each failed delivery it will retry. */
  const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];

  beforeEach(() => {
    day += 1;
  });

  beforeAll(async () => {
    // No SDK retries: a Stripe failure surfaces to the consumer, and the bus's retry is what recovers.
    const log = { debug() {}, info() {}, error() {}, warn: (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, ...(fields ? { fields } : {}) }) };
    // The stack lives after every test day (t() is up to a few weeks after 2026-11-23): the messages are
    // queued ones, trusted as stamped, whatever the real date (docs/clocks.md corrects future stamps).
    stack = await startTestStack({ log, clock: serverClock, stripe: { emulator: { options: { webhookRetry: { baseDelayMs: 50 } }, client: { maxNetworkRetries: 0, timeout: 1500 } } } });
    stripe = stack.stripeEmulator!.client;
    control = stack.stripeEmulator!.emulator.control;
    stack.bus.subscribe((event: any) => events.push({ type: event['detail-type'], id: event.detail.metadata.id, data: event.detail.data }));
    cp = await connectChargePoint(stack, 'CP-001', {
      handlers: {
        RemoteStopTransaction: (params) => {
          remoteCalls.push({ action: 'RemoteStopTransaction', params });
          return { status: 'Accepted' };
        },
        RemoteStartTransaction: (params) => {
          remoteCalls.push({ action: 'RemoteStartTransaction', params });
          return { status: 'Accepted' };
        },
      },
    });
    expect((await admin(stack, 'PUT', '/payment-policies/default', POLICY)).status).toBe(200);
    // These sessions draw up to 60 kW (20 kWh in 20 min): rate CP-001 for it, or pricing would not
    // bill the energy a 22 kW charger cannot deliver (docs/meters.md).
    expect((await admin(stack, 'PUT', '/charge-points/CP-001', { maxPowerKw: 150 })).status).toBeLessThan(300);
  });

  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await stack?.close();
  });

  /** A driver with a saved card (a Stripe test token) and one idTag that pays through the app. */
  async function driverWith(card: string): Promise<{ idTag: string; driverId: string; customerId: string }> {
    driverCount += 1;
    const driverId = `driver-${driverCount}`;
    const idTag = `CARD-TEST-${driverCount}`;
    const customer = await stripe.customers.create({ email: `${driverId}@example.com`, payment_method: card, invoice_settings: { default_payment_method: card } });
    const paymentMethod = customer.invoice_settings.default_payment_method as string;
    expect((await admin(stack, 'PUT', `/drivers/${driverId}`, { stripeCustomerId: customer.id, defaultPaymentMethodId: paymentMethod, idTags: [idTag] })).status).toBe(201);
    return { idTag, driverId, customerId: customer.id };
  }

  const settle = async () => {
    await control.drainWebhooks();
    await stack.bus.drain();
    await control.drainWebhooks();
    await stack.bus.drain();
  };

  async function start(idTag: string, connectorId: number, minute: number, timestamp = t(minute)) {
    const started = await cp.call('StartTransaction', { connectorId, idTag, meterStart: 0, timestamp });
    await stack.bus.drain();
    return { transactionId: started.transactionId as number, sessionId: `sess_${started.transactionId}`, status: started.idTagInfo.status as string };
  }

  async function meter(transactionId: number, connectorId: number, minute: number, wh: number) {
    await cp.call('MeterValues', { connectorId, transactionId, meterValue: [energySample(t(minute), wh)] });
    await stack.bus.drain();
  }

  async function stop(transactionId: number, connectorId: number, minute: number, wh: number, reason?: string) {
    await cp.call('StopTransaction', { transactionId, meterStop: wh, timestamp: t(minute), ...(reason ? { reason } : {}), transactionData: [energySample(t(minute), wh)] });
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'Available', timestamp: t(minute) });
    await settle();
  }

  const paymentOf = async (sessionId: string) => (await admin(stack, 'GET', `/sessions/${sessionId}`)).body.payment;
  const eventsOf = (sessionId: string, type?: string) => events.filter((e) => e.data.sessionId === sessionId && (!type || e.type === type));
  const settledOnce = (sessionId: string) => {
    const settled = eventsOf(sessionId, 'SessionPaymentSettled');
    expect(new Set(settled.map((e) => e.id)).size).toBe(1);
    return settled[0]!.data;
  };

  it('normal session: holds 20.00 at start, captures the priced 5.83 at the end and releases the rest', async () => {
    const { idTag, customerId } = await driverWith('pm_card_visa');
    const { transactionId, sessionId } = await start(idTag, 1, 0);
    const held = await paymentOf(sessionId);
    expect(held).toMatchObject({ provider: 'stripe', channel: 'app', status: 'held', currency: 'EUR', authorizedMinor: 2000, capturedMinor: 0, customerId });
    const pi = await stripe.paymentIntents.retrieve(held.paymentIntentIds[0]);
    expect(pi).toMatchObject({ status: 'requires_capture', capture_method: 'manual', amount: 2000, currency: 'eur', customer: customerId, metadata: { sessionId, purpose: 'hold' } });
    expect(eventsOf(sessionId, 'PaymentHoldPlaced')[0]!.data).toMatchObject({ amountMinor: 2000, incrementalAuthorization: true, channel: 'app' });

    await meter(transactionId, 1, 10, 5_000);
    await stop(transactionId, 1, 30, 10_000);

    const payment = await paymentOf(sessionId);
    expect(payment).toMatchObject({ status: 'settled', authorizedMinor: 2000, capturedMinor: 583, refundedMinor: 0 });
    expect(payment.outcome).toMatchObject({ outcome: 'captured', sessionTotalMinor: 583, dueMinor: 583, capturedMinor: 583, topUpMinor: 0, outstandingMinor: 0 });
    const after = await stripe.paymentIntents.retrieve(pi.id, { expand: ['latest_charge'] });
    expect(after).toMatchObject({ status: 'succeeded', amount_received: 583 });
    expect(settledOnce(sessionId)).toMatchObject({ outcome: 'captured', capturedMinor: 583 });
    // The money fact from Stripe's webhook, for accounting: captured, released, fee and net.
    const captured = eventsOf(sessionId, 'PaymentCaptured');
    expect(captured[0]!.data).toMatchObject({ paymentIntentId: pi.id, authorizedMinor: 2000, capturedMinor: 583, releasedMinor: 1417, feeMinor: 34, netMinor: 549 });
  });

  it('MeterValues reach payments only for sessions a card pays for', async () => {
    const { idTag } = await driverWith('pm_card_visa');
    const card = await start(idTag, 1, 0);
    await meter(card.transactionId, 1, 10, 5_000);
    await stop(card.transactionId, 1, 20, 8_000);
    const fleet = await start('DEMO-FLEET-1', 2, 0);
    await meter(fleet.transactionId, 2, 10, 5_000);
    await stop(fleet.transactionId, 2, 20, 8_000);
    expect(eventsOf(card.sessionId, 'SessionMeterValues')).toHaveLength(1);
    expect(eventsOf(fleet.sessionId, 'SessionMeterValues')).toEqual([]);
    // The fleet session's samples are stored and priced all the same.
    expect((await admin(stack, 'GET', `/sessions/${fleet.sessionId}`)).body.meterSamples).toHaveLength(2);
    expect(await paymentOf(fleet.sessionId)).toBeNull();
  });

  it('zero-cost session: cancels the hold and records nothing due', async () => {
    const { idTag } = await driverWith('pm_card_visa');
    const { transactionId, sessionId } = await start(idTag, 1, 60);
    await stop(transactionId, 1, 60, 0);
    const payment = await paymentOf(sessionId);
    expect(payment.outcome).toMatchObject({ outcome: 'nothing_due', dueMinor: 0, capturedMinor: 0 });
    expect((await stripe.paymentIntents.retrieve(payment.paymentIntentIds[0])).status).toBe('canceled');
    expect(eventsOf(sessionId, 'PaymentHoldReleased')[0]!.data).toMatchObject({ reason: 'canceled', amountMinor: 2000 });
  });

  it('below the minimum charge: the hold is cancelled and the amount carried to the driver’s next session', async () => {
    const { idTag } = await driverWith('pm_card_visa');
    const first = await start(idTag, 1, 0);
    await stop(first.transactionId, 1, 5, 50); // 0.05 kWh = 0.03 EUR
    expect((await paymentOf(first.sessionId)).outcome).toMatchObject({ outcome: 'carried_forward', dueMinor: 3, carriedOutMinor: 3, capturedMinor: 0 });

    const second = await start(idTag, 1, 60);
    await stop(second.transactionId, 1, 90, 10_000);
    const outcome = (await paymentOf(second.sessionId)).outcome;
    expect(outcome).toMatchObject({ outcome: 'captured', sessionTotalMinor: 583, carriedInMinor: 3, carriedInSessionIds: [first.sessionId], dueMinor: 586, capturedMinor: 586 });
  });

  it('a session that outgrows its hold: incremental authorization raises it as MeterValues arrive, the priced total is captured', async () => {
    const { idTag } = await driverWith('pm_card_visa');
    const { transactionId, sessionId } = await start(idTag, 1, 0);
    await meter(transactionId, 1, 20, 20_000); // 11.66 EUR: below 80 % of 20.00
    expect((await paymentOf(sessionId)).authorizedMinor).toBe(2000);
    await meter(transactionId, 1, 40, 30_000); // 17.49 EUR >= 16.00: raise to max(17.49 x 1.5, 20.00 + 10.00) = 30.00
    const raised = await paymentOf(sessionId);
    expect(raised).toMatchObject({ authorizedMinor: 3000, runningCost: { costMinor: 1749 } });
    expect(raised.increments).toEqual([expect.objectContaining({ fromMinor: 2000, toMinor: 3000 })]);
    expect(eventsOf(sessionId, 'PaymentHoldIncreased')[0]!.data).toMatchObject({ fromMinor: 2000, toMinor: 3000, runningCostMinor: 1749 });
    await stop(transactionId, 1, 60, 45_000); // 26.24 EUR
    const payment = await paymentOf(sessionId);
    expect(payment.outcome).toMatchObject({ outcome: 'captured', dueMinor: 2624, holdMinor: 3000, capturedMinor: 2624, topUpMinor: 0 });
    expect((await stripe.paymentIntents.retrieve(payment.paymentIntentIds[0])).amount_received).toBe(2624);
  });

  it('a session that outgrows a hold the card cannot raise: continues by policy, captures the hold and charges the difference off-session', async () => {
    const { idTag } = await driverWith('pm_card_mastercard');
    const { transactionId, sessionId } = await start(idTag, 1, 0);
    await meter(transactionId, 1, 30, 30_000);
    const refused = await paymentOf(sessionId);
    expect(refused.incrementRefused).toMatchObject({ reason: 'increment_unavailable', action: 'continue', stopRequested: false });
    expect(eventsOf(sessionId, 'PaymentHoldIncreaseRefused')[0]!.data).toMatchObject({ holdMinor: 2000, runningCostMinor: 1749, action: 'continue' });
    await stop(transactionId, 1, 60, 45_000);
    const payment = await paymentOf(sessionId);
    expect(payment.outcome).toMatchObject({ outcome: 'captured_with_top_up', dueMinor: 2624, capturedMinor: 2000, topUpMinor: 624, outstandingMinor: 0 });
    expect(payment.capturedMinor).toBe(2624);
    const topUp = await stripe.paymentIntents.retrieve(payment.outcome.chargePaymentIntentId);
    expect(topUp).toMatchObject({ status: 'succeeded', amount_received: 624, metadata: { sessionId, purpose: 'top_up' } });
    expect(settledOnce(sessionId).outcome).toBe('captured_with_top_up');
  });

  it('a site that stops sessions it cannot cover: RemoteStopTransaction when the hold cannot be raised', async () => {
    expect((await admin(stack, 'PUT', '/payment-policies/charge-points/CP-001', { ...POLICY, onIncrementUnavailable: 'stop' })).status).toBe(200);
    try {
      const { idTag } = await driverWith('pm_card_mastercard');
      const { transactionId, sessionId } = await start(idTag, 2, 0);
      await meter(transactionId, 2, 30, 30_000);
      await waitFor('RemoteStopTransaction', async () => remoteCalls.find((c) => c.action === 'RemoteStopTransaction' && c.params.transactionId === transactionId));
      expect((await paymentOf(sessionId)).incrementRefused).toMatchObject({ action: 'stop', stopRequested: true });
      // Stopped at 30.5 kWh: 17.78 EUR, within the hold.
      await stop(transactionId, 2, 31, 30_500, 'Remote');
      expect((await paymentOf(sessionId)).outcome).toMatchObject({ outcome: 'captured', capturedMinor: 1778 });
    } finally {
      await admin(stack, 'DELETE', '/payment-policies/charge-points/CP-001');
    }
  });

  it('a declined hold stops the session, says why, and the session still ends in one recorded outcome', async () => {
    const { idTag } = await driverWith('pm_card_chargeDeclined');
    const { transactionId, sessionId } = await start(idTag, 1, 0);
    await waitFor('RemoteStopTransaction', async () => remoteCalls.find((c) => c.action === 'RemoteStopTransaction' && c.params.transactionId === transactionId));
    const failed = await paymentOf(sessionId);
    expect(failed).toMatchObject({ status: 'hold_failed', holdFailure: { reason: 'card_declined', code: 'card_declined', declineCode: 'generic_decline', stopRequested: true } });
    expect(eventsOf(sessionId, 'PaymentHoldFailed')[0]!.data).toMatchObject({ reason: 'card_declined', driverAction: 'update_payment_method', stopRequested: true });
    // The charge point stops a minute later, having delivered 2 kWh: 1.17 EUR is still owed and the off-session charge is declined too.
    await stop(transactionId, 1, 1, 2_000, 'Remote');
    expect((await paymentOf(sessionId)).outcome).toMatchObject({ outcome: 'collection_failed', dueMinor: 117, capturedMinor: 0, outstandingMinor: 117, failure: { code: 'card_declined' } });
    expect(settledOnce(sessionId).outcome).toBe('collection_failed');
  });

  it('a card that needs the driver (3-D Secure) off-session: the session is stopped and the app is told to authenticate', async () => {
    const { idTag } = await driverWith('pm_card_authenticationRequired');
    const { transactionId, sessionId } = await start(idTag, 1, 0);
    await waitFor('RemoteStopTransaction', async () => remoteCalls.find((c) => c.action === 'RemoteStopTransaction' && c.params.transactionId === transactionId));
    expect((await paymentOf(sessionId)).holdFailure).toMatchObject({ reason: 'authentication_required', code: 'authentication_required', stopRequested: true });
    expect(eventsOf(sessionId, 'PaymentHoldFailed')[0]!.data).toMatchObject({ reason: 'authentication_required', driverAction: 'authenticate' });
    await stop(transactionId, 1, 0, 0, 'Remote');
    expect(settledOnce(sessionId).outcome).toBe('nothing_due');
  });

  it('an expired hold: the whole amount is charged off-session instead', async () => {
    const { idTag } = await driverWith('pm_card_visa');
    const { transactionId, sessionId } = await start(idTag, 1, 0);
    const holdId = (await paymentOf(sessionId)).paymentIntentIds[0];
    control.advanceTime(8 * 24 * 3600); // past capture_before (7 days): Stripe releases the authorization
    await settle();
    expect((await stripe.paymentIntents.retrieve(holdId)).status).toBe('canceled');
    await stop(transactionId, 1, 30, 10_000);
    const payment = await paymentOf(sessionId);
    expect(payment.outcome).toMatchObject({ outcome: 'charged_off_session', dueMinor: 583, capturedMinor: 0, topUpMinor: 583 });
    const charge = await stripe.paymentIntents.retrieve(payment.outcome.chargePaymentIntentId);
    expect(charge).toMatchObject({ status: 'succeeded', amount_received: 583, metadata: { purpose: 'off_session_charge' } });
  });

  it.each([
    ['a 500 after Stripe applied the capture', { kind: 'api_error', when: 'after' }],
    ['a 500 before Stripe applied it', { kind: 'api_error', when: 'before' }],
    ['a timeout after Stripe applied it', { kind: 'timeout', when: 'after', hangMs: 3000 }],
  ] as const)('%s: the consumer fails, the bus retries, and exactly one capture happens', async (_name, fault) => {
    const { idTag } = await driverWith('pm_card_visa');
    const { transactionId, sessionId } = await start(idTag, 1, 0);
    const holdId = (await paymentOf(sessionId)).paymentIntentIds[0];
    control.failNext({ path: '/v1/payment_intents/*/capture', ...fault });
    const retriesBefore = warnings.filter((w) => w.message === 'event delivery failed; retrying' && w.fields?.target === 'payments').length;
    await stop(transactionId, 1, 30, 10_000);
    await waitFor('the settlement', async () => ((await paymentOf(sessionId)).outcome ? true : undefined));
    // The fault reached the consumer: its delivery of SessionPriced failed once and was retried.
    expect(warnings.filter((w) => w.message === 'event delivery failed; retrying' && w.fields?.target === 'payments').length).toBe(retriesBefore + 1);
    expect((await paymentOf(sessionId)).outcome).toMatchObject({ outcome: 'captured', capturedMinor: 583 });
    const charges = await stripe.charges.list({ payment_intent: holdId });
    expect(charges.data).toHaveLength(1);
    expect(charges.data[0]).toMatchObject({ captured: true, amount_captured: 583 });
    const capturedEvents = control.events().filter((e) => e.type === 'charge.captured' && (e.data.object as { payment_intent?: string }).payment_intent === holdId);
    expect(capturedEvents).toHaveLength(1);
    expect(settledOnce(sessionId).capturedMinor).toBe(583);
  });

  it('a re-delivered SessionPriced republishes the same outcome and never captures twice', async () => {
    const { idTag } = await driverWith('pm_card_visa');
    const { transactionId, sessionId } = await start(idTag, 1, 0);
    await stop(transactionId, 1, 30, 10_000);
    const priced = events.find((e) => e.type === 'SessionPriced' && e.data.sessionId === sessionId)!;
    await stack.payments!.payments.onSessionPriced(priced.data);
    await stack.payments!.payments.onSessionPriced(priced.data);
    await stack.bus.drain();
    const holdId = (await paymentOf(sessionId)).paymentIntentIds[0];
    expect((await stripe.charges.list({ payment_intent: holdId })).data.map((c) => c.amount_captured)).toEqual([583]);
    expect(settledOnce(sessionId).capturedMinor).toBe(583);
  });

  it('refunds from the admin API (partial, then the rest), with duplicate and out-of-order webhooks', async () => {
    const { idTag } = await driverWith('pm_card_mastercard');
    const { transactionId, sessionId } = await start(idTag, 1, 0);
    await meter(transactionId, 1, 30, 30_000);
    await stop(transactionId, 1, 60, 45_000); // 20.00 captured + 6.24 top-up
    control.setDeliveryChaos({ duplicate: true, outOfOrder: true });
    try {
      const tooMuch = await admin(stack, 'POST', `/sessions/${sessionId}/refunds`, { amountMinor: 5000 });
      expect(tooMuch).toMatchObject({ status: 400, body: { field: 'amountMinor' } });
      const partial = await admin(stack, 'POST', `/sessions/${sessionId}/refunds`, { amountMinor: 1000, reason: 'requested_by_customer', note: 'connector fault' });
      expect(partial.status).toBe(201);
      // Newest money first: 6.24 from the top-up, 3.76 from the hold's capture.
      expect(partial.body.refunds.map((r: { amountMinor: number }) => r.amountMinor)).toEqual([624, 376]);
      const rest = await admin(stack, 'POST', `/sessions/${sessionId}/refunds`, { reason: 'requested_by_customer' });
      expect(rest.body.refunds.map((r: { amountMinor: number }) => r.amountMinor)).toEqual([1624]);
      expect((await admin(stack, 'POST', `/sessions/${sessionId}/refunds`, {})).status).toBe(409);
      await settle();
      const payment = await paymentOf(sessionId);
      expect(payment).toMatchObject({ capturedMinor: 2624, refundedMinor: 2624 });
      expect(payment.refunds).toHaveLength(3);
      const refunded = eventsOf(sessionId, 'PaymentRefunded');
      expect(new Set(refunded.map((e) => e.id)).size).toBe(3);
      expect(refunded.every((e) => e.data.status === 'succeeded')).toBe(true);
    } finally {
      control.setDeliveryChaos({ duplicate: false, outOfOrder: false });
    }
  });

  it('a card presented at the charger’s reader starts the session (RemoteStartTransaction) and pays for it', async () => {
    const location = await stripe.terminal.locations.create({ display_name: 'Depot', address: { country: 'DE', line1: 'Street 1', city: 'Berlin', postal_code: '10115' } });
    // Its own connector, at the emulator's time: the other tests' sessions (on connector 1, on
    // their own days in November) never share a status timeline with this one, whatever the order.
    const reader = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: location.id, label: 'CP-001 connector 3' });
    // Registering arms it: a card_present manual-capture PaymentIntent for the connector's hold, collected by the reader.
    const armed = await admin(stack, 'PUT', `/readers/${reader.id}`, { chargePointId: 'CP-001', connectorId: 3 });
    expect(armed.status).toBe(200);
    expect(armed.body.armed).toMatchObject({ amountMinor: 2000, currency: 'EUR' });
    expect(((await stripe.terminal.readers.retrieve(reader.id)) as Stripe.Terminal.Reader).action).toMatchObject({ type: 'process_payment_intent', status: 'in_progress' });
    // Arming a reader that is collecting already is a conflict, not a second PaymentIntent on it.
    expect((await admin(stack, 'POST', `/readers/${reader.id}/arm`)).status).toBe(409);

    // A refused card: the reader is armed again on a fresh PaymentIntent, the refused one cancelled.
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader.id, { card_present: { number: '4000000000000002' } });
    await settle();
    const rearmed = await waitFor('the reader re-armed after the refusal', async () => {
      const view = (await admin(stack, 'GET', `/readers/${reader.id}`)).body;
      return view.armed && view.armed.paymentIntentId !== armed.body.armed.paymentIntentId ? view : undefined;
    });
    expect(rearmed.lastAction).toMatchObject({ status: 'failed', failureCode: 'card_declined' });
    expect((await stripe.paymentIntents.retrieve(armed.body.armed.paymentIntentId)).status).toBe('canceled');
    armed.body.armed = rearmed.armed;

    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader.id);
    await settle();
    const remoteStart = await waitFor('RemoteStartTransaction', async () => remoteCalls.find((c) => c.action === 'RemoteStartTransaction'));
    expect(remoteStart.params.connectorId).toBe(3);
    const idTag = remoteStart.params.idTag as string;
    // The charge point does what RemoteStartTransaction asks: Authorize, then StartTransaction now.
    expect((await cp.call('Authorize', { idTag })).idTagInfo.status).toBe('Accepted');
    // The charge point's clock is in sync with the server's (the emulator's may have been advanced by another test).
    const at = (seconds: number) => new Date(serverClock.now().getTime() + seconds * 1000).toISOString();
    // Started 55 s before now (within the minute a start may precede the card): 2 kWh by the stop is
    // what the charger can deliver in that time, so it is billed (docs/meters.md).
    const { transactionId, sessionId } = await start(idTag, 3, 0, at(-55));
    const held = await paymentOf(sessionId);
    expect(held).toMatchObject({ channel: 'reader', status: 'held', readerId: reader.id, authorizedMinor: 2000, paymentIntentIds: [armed.body.armed.paymentIntentId] });
    await cp.call('StopTransaction', { transactionId, meterStop: 2_000, timestamp: at(1) });
    await cp.call('StatusNotification', { connectorId: 3, errorCode: 'NoError', status: 'Available', timestamp: at(1) });
    await settle();
    const payment = await paymentOf(sessionId);
    expect(payment.outcome.outcome).toBe('captured');
    expect(payment.outcome.capturedMinor).toBe(payment.outcome.sessionTotalMinor);
    const pi = await stripe.paymentIntents.retrieve(armed.body.armed.paymentIntentId, { expand: ['latest_charge'] });
    expect(pi.status).toBe('succeeded');
    expect((pi.latest_charge as Stripe.Charge).payment_method_details?.type).toBe('card_present');
    // Paid: the reader is ready for the next driver.
    const next = (await admin(stack, 'GET', `/readers/${reader.id}`)).body;
    expect(next.armed.paymentIntentId).not.toBe(armed.body.armed.paymentIntentId);
    expect(((await stripe.terminal.readers.retrieve(reader.id)) as Stripe.Terminal.Reader).action).toMatchObject({ type: 'process_payment_intent', status: 'in_progress' });
  });
});
