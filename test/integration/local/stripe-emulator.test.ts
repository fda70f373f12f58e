import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeEmulator, stripeClientFor, type StripeEmulator } from '../../../lib/local/stripe/index.ts';
import { rejection } from '../../support/stripe.ts';

const DAY = 86_400;
let emulator: StripeEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emulator = await startStripeEmulator({ host: '127.0.0.1', port: 0, webhookSecret: 'whsec_test_local' });
  stripe = stripeClientFor(emulator);
});

afterAll(async () => {
  await emulator?.close();
});

/** A confirmed manual-capture hold, as VoltLedger places it when a session starts. */
function aHold(overrides: Partial<Stripe.PaymentIntentCreateParams> = {}) {
  return stripe.paymentIntents.create({
    amount: 5000,
    currency: 'eur',
    payment_method: 'pm_card_visa',
    confirm: true,
    off_session: true,
    capture_method: 'manual',
    metadata: { sessionId: 'session-1' },
    payment_method_options: { card: { request_incremental_authorization: 'if_available' } },
    ...overrides,
  });
}

async function chargeOf(intent: Stripe.PaymentIntent): Promise<Stripe.Charge> {
  return stripe.charges.retrieve(intent.latest_charge as string);
}

describe('Stripe emulator: PaymentIntents', () => {
  describe('hold and capture', () => {
    it('places a hold with amount_capturable and capture_before 7 days after authorization', async () => {
      const hold = await aHold();

      expect(hold.id).toMatch(/^pi_/);
      expect(hold.status).toBe('requires_capture');
      expect(hold.amount_capturable).toBe(5000);
      expect(hold.amount_received).toBe(0);
      expect(hold.metadata).toEqual({ sessionId: 'session-1' });
      const charge = await chargeOf(hold);
      expect(charge.id).toMatch(/^ch_/);
      expect(charge.captured).toBe(false);
      expect(charge.balance_transaction).toBeNull();
      expect(charge.payment_method_details?.card?.capture_before).toBe(charge.created + 7 * DAY);
    });

    it('captures the full hold', async () => {
      const hold = await aHold();

      const captured = await stripe.paymentIntents.capture(hold.id);

      expect(captured.status).toBe('succeeded');
      expect(captured.amount_received).toBe(5000);
      expect(captured.amount_capturable).toBe(0);
      const charge = await chargeOf(captured);
      expect(charge).toMatchObject({ captured: true, amount_captured: 5000, amount_refunded: 0, refunded: false });
      expect(charge.balance_transaction).toMatch(/^txn_/);
    });

    it('captures part of the hold and releases the rest', async () => {
      const hold = await aHold();

      const captured = await stripe.paymentIntents.capture(hold.id, { amount_to_capture: 1234 });

      expect(captured.amount_received).toBe(1234);
      expect(captured.amount_capturable).toBe(0);
      const charge = await chargeOf(captured);
      expect(charge).toMatchObject({ amount: 5000, amount_captured: 1234, amount_refunded: 5000 - 1234 });
      await expect(stripe.paymentIntents.capture(hold.id)).rejects.toMatchObject({ code: 'payment_intent_unexpected_state', statusCode: 400 });
    });

    it('refuses to capture more than the hold: amount_too_large', async () => {
      const hold = await aHold();

      const error = await rejection(stripe.paymentIntents.capture(hold.id, { amount_to_capture: 5001 }));

      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({ code: 'amount_too_large', param: 'amount_to_capture', statusCode: 400 });
      expect((await stripe.paymentIntents.retrieve(hold.id)).status).toBe('requires_capture');
    });

    it('refuses to capture below the currency minimum: amount_too_small', async () => {
      const hold = await aHold();

      const error = await rejection(stripe.paymentIntents.capture(hold.id, { amount_to_capture: 49 }));

      expect(error).toMatchObject({ code: 'amount_too_small', statusCode: 400 });
    });

    it('cancels a hold, releasing it', async () => {
      const hold = await aHold();

      const canceled = await stripe.paymentIntents.cancel(hold.id, { cancellation_reason: 'abandoned' });

      expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned', amount_capturable: 0 });
      expect(await chargeOf(canceled)).toMatchObject({ refunded: true, amount_refunded: 5000, captured: false });
    });
  });

  describe('incremental authorization', () => {
    it('raises the hold when the charge says available (pm_card_visa)', async () => {
      const hold = await aHold();
      expect((await chargeOf(hold)).payment_method_details?.card?.incremental_authorization?.status).toBe('available');

      const raised = await stripe.paymentIntents.incrementAuthorization(hold.id, { amount: 8000 });

      expect(raised).toMatchObject({ amount: 8000, amount_capturable: 8000, status: 'requires_capture' });
      const captured = await stripe.paymentIntents.capture(hold.id, { amount_to_capture: 7500 });
      expect(captured.amount_received).toBe(7500);
    });

    it('refuses when the charge says unavailable (pm_card_mastercard)', async () => {
      const hold = await aHold({ payment_method: 'pm_card_mastercard' });
      expect((await chargeOf(hold)).payment_method_details?.card?.incremental_authorization?.status).toBe('unavailable');

      const error = await rejection(stripe.paymentIntents.incrementAuthorization(hold.id, { amount: 8000 }));

      expect(error).toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 400 });
      expect((await stripe.paymentIntents.retrieve(hold.id)).amount_capturable).toBe(5000);
    });

    it('is unavailable when it was not requested, even for pm_card_visa', async () => {
      const hold = await aHold({ payment_method_options: {} });

      expect((await chargeOf(hold)).payment_method_details?.card?.incremental_authorization?.status).toBe('unavailable');
    });
  });

  describe('hold expiry', () => {
    it('refuses to capture after capture_before: charge_expired_for_capture, and emits charge.expired', async () => {
      const hold = await aHold();

      emulator.control.advanceTime(7 * DAY + 60);
      const error = await rejection(stripe.paymentIntents.capture(hold.id));

      expect(error).toMatchObject({ code: 'charge_expired_for_capture', statusCode: 400 });
      const intent = await stripe.paymentIntents.retrieve(hold.id);
      expect(intent).toMatchObject({ status: 'canceled', cancellation_reason: 'automatic' });
      const expired = await stripe.events.list({ type: 'charge.expired' });
      expect(expired.data.map((e) => (e.data.object as Stripe.Charge).payment_intent)).toContain(hold.id);
    });
  });

  describe('test cards', () => {
    it.each([
      ['pm_card_chargeDeclined', 'card_declined', 'generic_decline'],
      ['pm_card_chargeDeclinedInsufficientFunds', 'card_declined', 'insufficient_funds'],
      ['pm_card_visa_chargeDeclinedExpiredCard', 'expired_card', 'expired_card'],
    ])('%s declines with %s / %s', async (card, code, declineCode) => {
      const error = await rejection(aHold({ payment_method: card }));

      expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
      expect(error).toMatchObject({ statusCode: 402, code, decline_code: declineCode });
      const intent = error.payment_intent!;
      expect(intent.status).toBe('requires_payment_method');
      expect(intent.last_payment_error).toMatchObject({ code, decline_code: declineCode });
      expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_payment_method');
    });

    it('pm_card_authenticationRequired needs action on-session and completes after authentication', async () => {
      const intent = await aHold({ payment_method: 'pm_card_authenticationRequired', off_session: false });

      expect(intent.status).toBe('requires_action');
      expect(intent.next_action?.type).toBe('use_stripe_sdk');
      const authenticated = emulator.control.authenticate(intent.id);
      expect(authenticated.status).toBe('requires_capture');
    });

    it('pm_card_authenticationRequired off-session fails with authentication_required', async () => {
      const error = await rejection(aHold({ payment_method: 'pm_card_authenticationRequired' }));

      expect(error).toMatchObject({ statusCode: 402, code: 'authentication_required', decline_code: 'authentication_required' });
    });

    it('refuses an amount below the currency minimum: amount_too_small', async () => {
      const error = await rejection(aHold({ amount: 49 }));

      expect(error).toMatchObject({ code: 'amount_too_small', param: 'amount', statusCode: 400 });
      expect((error as Error).message).toContain('€0.50');
    });

    it('answers 404 resource_missing for an unknown id', async () => {
      const error = await rejection(stripe.paymentIntents.retrieve('pi_doesnotexist'));

      expect(error).toMatchObject({ code: 'resource_missing', statusCode: 404 });
    });

    it('automatic capture succeeds at once with amount_received', async () => {
      const paid = await stripe.paymentIntents.create({ amount: 2500, currency: 'usd', payment_method: 'pm_card_mastercard', confirm: true, allowed_payment_method_types: ['card'] });

      expect(paid).toMatchObject({ status: 'succeeded', amount_received: 2500, amount_capturable: 0 });
    });

    it('a card_present hold carries card_present details and its own incremental flag', async () => {
      const hold = await aHold({
        allowed_payment_method_types: ['card_present'],
        payment_method_options: { card_present: { request_incremental_authorization_support: true } },
      });

      const charge = await chargeOf(hold);
      expect(charge.payment_method_details?.type).toBe('card_present');
      expect(charge.payment_method_details?.card_present?.incremental_authorization_supported).toBe(true);
      expect((await stripe.paymentIntents.incrementAuthorization(hold.id, { amount: 6000 })).amount).toBe(6000);
    });
  });

  describe('idempotency', () => {
    it('replays the same answer for the same key and parameters', async () => {
      const params = { amount: 3000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, capture_method: 'manual' as const };

      const first = await stripe.paymentIntents.create(params, { idempotencyKey: 'hold-session-42' });
      const second = await stripe.paymentIntents.create(params, { idempotencyKey: 'hold-session-42' });

      expect(second.id).toBe(first.id);
      expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
      const holds = await stripe.paymentIntents.list({ limit: 100 });
      expect(holds.data.filter((pi) => pi.id === first.id)).toHaveLength(1);
    });

    it('answers idempotency_error for the same key with different parameters', async () => {
      await stripe.paymentIntents.create({ amount: 3000, currency: 'eur' }, { idempotencyKey: 'reused-key' });

      const error = await rejection(stripe.paymentIntents.create({ amount: 3001, currency: 'eur' }, { idempotencyKey: 'reused-key' }));

      expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
      expect(error).toMatchObject({ type: 'StripeIdempotencyError', statusCode: 400 });
    });
  });

  describe('faults', () => {
    async function capturesOf(intentId: string) {
      const events = await stripe.events.list({ type: 'charge.captured', limit: 100 });
      return events.data.filter((e) => (e.data.object as Stripe.Charge).payment_intent === intentId).length;
    }

    it('a 500 before processing, then a retry with the same key: one capture', async () => {
      const hold = await aHold();
      emulator.control.failNext({ path: '/v1/payment_intents/*/capture', kind: 'api_error' });

      const error = await rejection(stripe.paymentIntents.capture(hold.id, {}, { idempotencyKey: `capture-${hold.id}` }));
      expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
      expect(error.statusCode).toBe(500);
      expect((await stripe.paymentIntents.retrieve(hold.id)).status).toBe('requires_capture');

      const retried = await stripe.paymentIntents.capture(hold.id, {}, { idempotencyKey: `capture-${hold.id}` });
      expect(retried.status).toBe('succeeded');
      expect(await capturesOf(hold.id)).toBe(1);
    });

    it('a 500 after processing, then a retry with the same key replays the capture: one capture', async () => {
      const hold = await aHold();
      emulator.control.failNext({ path: '/v1/payment_intents/*/capture', kind: 'api_error', when: 'after' });

      await rejection(stripe.paymentIntents.capture(hold.id, {}, { idempotencyKey: `capture-${hold.id}` }));
      const retried = await stripe.paymentIntents.capture(hold.id, {}, { idempotencyKey: `capture-${hold.id}` });

      expect(retried.status).toBe('succeeded');
      expect(retried.lastResponse.headers['idempotent-replayed']).toBe('true');
      expect(await capturesOf(hold.id)).toBe(1);
    });

    it('a hang past the client timeout, then a retry with the same key: one capture', async () => {
      const hold = await aHold();
      emulator.control.failNext({ path: '/v1/payment_intents/*/capture', kind: 'timeout', hangMs: 5_000 });
      const impatient = stripeClientFor(emulator, { timeout: 300 });

      const error = await rejection(impatient.paymentIntents.capture(hold.id, {}, { idempotencyKey: `capture-${hold.id}` }));
      expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);

      const retried = await stripe.paymentIntents.capture(hold.id, {}, { idempotencyKey: `capture-${hold.id}` });
      expect(retried.status).toBe('succeeded');
      expect(await capturesOf(hold.id)).toBe(1);
      const charge = await chargeOf(retried);
      const txns = await stripe.balanceTransactions.list({ source: charge.id });
      expect(txns.data).toHaveLength(1);
    });

    it('an injected decline declines the authorization and then clears', async () => {
      emulator.control.failNext({ path: '/v1/payment_intents', kind: 'card_declined', declineCode: 'do_not_honor' });

      const error = await rejection(aHold());
      expect(error).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'do_not_honor' });

      expect((await aHold()).status).toBe('requires_capture');
    });

    it('the SDK retries an injected 500 by itself when retries are enabled', async () => {
      const hold = await aHold();
      emulator.control.failNext({ path: '/v1/payment_intents/*/capture', kind: 'api_error', count: 2 });
      const patient = stripeClientFor(emulator, { maxNetworkRetries: 3 });

      const captured = await patient.paymentIntents.capture(hold.id);

      expect(captured.status).toBe('succeeded');
      expect(await capturesOf(hold.id)).toBe(1);
    });

    it('answers the control API over HTTP', async () => {
      const before = emulator.control.now();
      const response = await fetch(`${emulator.url}/_emulator/time/advance`, { method: 'POST', body: JSON.stringify({ seconds: 10 }) });

      expect(response.status).toBe(200);
      expect(((await response.json()) as { now: number }).now).toBeGreaterThanOrEqual(before + 10);
    });
  });
});

describe('Stripe emulator: control API over HTTP', () => {
  it('answers Stripe-shaped errors for control calls on unknown objects', async () => {
    const response = await fetch(`${emulator.url}/_emulator/disputes`, { method: 'POST', body: JSON.stringify({ charge: 'ch_unknown' }) });

    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('resource_missing');
  });

  it('arms a fault over HTTP', async () => {
    const armed = await fetch(`${emulator.url}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ path: '/v1/customers', kind: 'api_error' }) });
    expect(armed.status).toBe(200);

    const error = await rejection(stripe.customers.create({ email: 'fault@example.com' }));

    expect(error).toMatchObject({ statusCode: 500, type: 'StripeAPIError' });
    expect((await stripe.customers.create({ email: 'fault@example.com' })).id).toMatch(/^cus_/);
  });
});
