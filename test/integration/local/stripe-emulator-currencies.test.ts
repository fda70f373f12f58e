import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StripePaymentGateway } from '../../../functions/payments/adapters/stripe-gateway.ts';
import { toPaymentCaptured } from '../../../functions/payments/stripe-money-events.ts';
import { systemClock } from '../../../functions/shared/clock.ts';
import { minimumChargeMinor, stripeAmount } from '../../../functions/shared/money.ts';
import { startStripeEmulator, stripeClientFor, type StripeEmulator } from '../../../lib/local/stripe/index.ts';
import { rejection } from '../../support/stripe.ts';

/**
 * The emulator treats currencies as docs.stripe.com/currencies documents them (zero-decimal and
 * three-decimal amounts, ISK/UGX in whole units written with two decimals, minimums per currency),
 * and the product's Stripe adapters, converting its ISO 4217 minor units at the boundary, agree.
 */
let emulator: StripeEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emulator = await startStripeEmulator({ host: '127.0.0.1', port: 0, webhookSecret: 'whsec_test_currencies' });
  stripe = stripeClientFor(emulator);
});

afterAll(async () => {
  await emulator?.close();
});

const hold = (amount: number, currency: string) =>
  stripe.paymentIntents.create({
    amount,
    currency,
    payment_method: 'pm_card_visa',
    confirm: true,
    capture_method: 'manual',
    payment_method_options: { card: { request_incremental_authorization: 'if_available' } },
  });

describe('Stripe emulator: currencies', () => {
  it('zero-decimal JPY: the amount is yen, the minimum 50 yen', async () => {
    const error = await rejection(hold(49, 'jpy'));
    expect(error).toMatchObject({ code: 'amount_too_small', param: 'amount', statusCode: 400 });
    expect(error.message).toContain('¥50');
    expect(error.message).not.toContain('0.50');
    expect((await hold(50, 'jpy')).amount).toBe(50);
  });

  it("the minimums of Stripe's table, in Stripe's integers", async () => {
    for (const [currency, minimum] of [
      ['huf', 17_500], // 175.00 Ft
      ['gbp', 30],
      ['mxn', 1000],
      ['thb', 1000],
      ['krw', 50],
      ['aed', 200],
    ] as const) {
      expect(await rejection(hold(minimum - 1, currency)), currency).toMatchObject({ code: 'amount_too_small' });
      expect((await hold(minimum, currency)).status, currency).toBe('requires_capture');
    }
  });

  it('ISK and UGX: whole units, written with two decimals ("to charge 5 ISK, provide 500")', async () => {
    for (const currency of ['isk', 'ugx']) {
      const error = await rejection(hold(190_550, currency));
      expect(error, currency).toMatchObject({ code: 'invalid_charge_amount_no_decimal_compatible', param: 'amount', statusCode: 400 });
      const intent = await hold(190_500, currency);
      expect(await rejection(stripe.paymentIntents.capture(intent.id, { amount_to_capture: 150_050 }))).toMatchObject({ code: 'invalid_charge_amount_no_decimal_compatible', param: 'amount_to_capture' });
      const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 150_000 });
      const charge = await stripe.charges.retrieve(captured.latest_charge as string, { expand: ['balance_transaction'] });
      const txn = charge.balance_transaction as Stripe.BalanceTransaction;
      // The fee is whole units too, so every balance amount is one Stripe can state.
      expect(txn.fee % 100).toBe(0);
      expect(txn.net % 100).toBe(0);
      expect(await rejection(stripe.refunds.create({ payment_intent: intent.id, amount: 1050 }))).toMatchObject({ code: 'invalid_charge_amount_no_decimal_compatible' });
      expect((await stripe.refunds.create({ payment_intent: intent.id, amount: 1000 })).amount).toBe(1000);
    }
  });

  it('three-decimal KWD and BHD: thousandths whose last digit is 0', async () => {
    for (const currency of ['kwd', 'bhd']) {
      expect(await rejection(hold(5124, currency)), currency).toMatchObject({ code: 'invalid_charge_amount', param: 'amount', statusCode: 400 });
      const intent = await hold(5130, currency);
      expect(await rejection(stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 6001 }))).toMatchObject({ param: 'amount', statusCode: 400 });
      expect((await stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 6000 })).amount).toBe(6000);
      const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 5120 });
      const charge = await stripe.charges.retrieve(captured.latest_charge as string, { expand: ['balance_transaction'] });
      expect((charge.balance_transaction as Stripe.BalanceTransaction).fee % 10).toBe(0);
      expect(await rejection(stripe.refunds.create({ payment_intent: intent.id, amount: 1001 }))).toMatchObject({ code: 'invalid_charge_amount' });
    }
  });

  it('invoice items and prices follow the same rules', async () => {
    const customer = await stripe.customers.create({ email: 'isk@example.com' });
    expect(await rejection(stripe.invoiceItems.create({ customer: customer.id, currency: 'isk', amount: 150 }))).toMatchObject({ code: 'invalid_charge_amount_no_decimal_compatible', param: 'amount' });
    expect((await stripe.invoiceItems.create({ customer: customer.id, currency: 'isk', amount: 1500 })).amount).toBe(1500);
    expect(await rejection(stripe.prices.create({ currency: 'kwd', unit_amount: 1005, product_data: { name: 'Plus' } }))).toMatchObject({ code: 'invalid_charge_amount', param: 'unit_amount' });
  });
});

describe('the product against the emulator: ISO 4217 minor units in, Stripe integers on the wire', () => {
  async function aSavedCard() {
    const customer = await stripe.customers.create({ email: 'driver@example.com', payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    return { customerId: customer.id, paymentMethodId: customer.invoice_settings.default_payment_method as string };
  }

  it.each([
    // [currency, hold and capture in the product's minor units, what Stripe holds]
    ['ISK', 1905, 1500, 190_500], // 1,905 kr
    ['UGX', 5000, 4000, 500_000],
    ['HUF', 190_500, 150_000, 190_500], // 1,905.00 Ft
    ['JPY', 1905, 1500, 1905],
    ['EUR', 1905, 1500, 1905],
    ['KWD', 5130, 5120, 5130],
    ['MGA', 123_400, 100_000, 1234], // ISO hundredths of an ariary; Stripe whole ariary
  ] as const)('%s: hold %i, capture %i (Stripe holds %i)', async (currency, holdMinor, captureMinor, stripeHeld) => {
    const gateway = new StripePaymentGateway(stripe, systemClock);
    const card = await aSavedCard();
    const attempt = await gateway.createHold({ idempotencyKey: `hold-${currency}-${Date.now()}`, amountMinor: holdMinor, currency, ...card, description: 'test', metadata: { sessionId: `S-${currency}` } });
    expect(attempt).toMatchObject({ ok: true, amountMinor: holdMinor });
    const paymentIntentId = (attempt as { paymentIntentId: string }).paymentIntentId;
    expect((await stripe.paymentIntents.retrieve(paymentIntentId)).amount).toBe(stripeHeld);
    expect(stripeAmount(holdMinor, currency)).toBe(stripeHeld);
    expect(await gateway.getHold(paymentIntentId)).toMatchObject({ status: 'usable', amountMinor: holdMinor, capturableMinor: holdMinor, currency });

    const captured = await gateway.capture(paymentIntentId, captureMinor, currency, `capture-${paymentIntentId}`);
    expect(captured).toEqual({ ok: true, capturedMinor: captureMinor });
    const charge = await stripe.charges.retrieve((await stripe.paymentIntents.retrieve(paymentIntentId)).latest_charge as string, { expand: ['balance_transaction', 'payment_intent'] });
    const event = toPaymentCaptured(charge);
    expect(event?.detail.data).toMatchObject({ currency, authorizedMinor: holdMinor, capturedMinor: captureMinor, releasedMinor: holdMinor - captureMinor, sessionId: `S-${currency}` });

    const refund = await gateway.refund({ paymentIntentId, amountMinor: captureMinor, currency, metadata: { sessionId: `S-${currency}` }, idempotencyKey: `refund-${paymentIntentId}` });
    expect(refund.amountMinor).toBe(captureMinor);
    expect(await gateway.getRefund(refund.refundId)).toMatchObject({ amountMinor: captureMinor, paymentIntentId });
  });

  it("HUF's minimum reaches Stripe as 175.00 Ft", async () => {
    const gateway = new StripePaymentGateway(stripe, systemClock);
    const card = await aSavedCard();
    const below = await rejection(gateway.createHold({ idempotencyKey: `huf-min-${Date.now()}`, amountMinor: minimumChargeMinor('HUF') - 1, currency: 'HUF', ...card, description: 'test', metadata: {} }));
    expect(below).toMatchObject({ code: 'amount_too_small' });
    const at = await gateway.createHold({ idempotencyKey: `huf-at-${Date.now()}`, amountMinor: minimumChargeMinor('HUF'), currency: 'HUF', ...card, description: 'test', metadata: {} });
    expect(at).toMatchObject({ ok: true, amountMinor: 17_500 });
  });
});
