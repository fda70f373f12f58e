import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeEmulator, stripeClientFor, type StripeEmulator } from '../../../lib/local/stripe/index.ts';
import { rejection } from '../../support/stripe.ts';

const DAY = 86_400;
let emulator: StripeEmulator;
let stripe: Stripe;
const dirs: string[] = [];

beforeAll(async () => {
  emulator = await startStripeEmulator({ host: '127.0.0.1', port: 0, webhookSecret: 'whsec_test_money' });
  stripe = stripeClientFor(emulator);
});

afterAll(async () => {
  await emulator?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function aCapturedCharge(amount = 10_000, currency = 'eur'): Promise<{ intent: Stripe.PaymentIntent; charge: Stripe.Charge }> {
  const hold = await stripe.paymentIntents.create({ amount, currency, payment_method: 'pm_card_visa', confirm: true, capture_method: 'manual' });
  const intent = await stripe.paymentIntents.capture(hold.id);
  const charge = await stripe.charges.retrieve(intent.latest_charge as string);
  return { intent, charge };
}

describe('Stripe emulator: money movements', () => {
  describe('refunds', () => {
    it('refunds partially, then the rest, then refuses: charge_already_refunded', async () => {
      const { intent, charge } = await aCapturedCharge();

      const partial = await stripe.refunds.create({ payment_intent: intent.id, amount: 2500, reason: 'requested_by_customer' });
      expect(partial).toMatchObject({ object: 'refund', amount: 2500, status: 'succeeded', charge: charge.id, payment_intent: intent.id, reason: 'requested_by_customer' });
      expect(partial.id).toMatch(/^re_/);
      expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ amount_refunded: 2500, refunded: false });

      const rest = await stripe.refunds.create({ charge: charge.id });
      expect(rest.amount).toBe(7500);
      expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ amount_refunded: 10_000, refunded: true });

      const error = await rejection(stripe.refunds.create({ charge: charge.id, amount: 1 }));
      expect(error).toMatchObject({ code: 'charge_already_refunded', statusCode: 400 });
    });

    it('refuses to refund more than what is left: amount_too_large', async () => {
      const { intent } = await aCapturedCharge(3000);
      await stripe.refunds.create({ payment_intent: intent.id, amount: 1000 });

      const error = await rejection(stripe.refunds.create({ payment_intent: intent.id, amount: 2001 }));

      expect(error).toMatchObject({ code: 'amount_too_large', param: 'amount', statusCode: 400 });
    });

    it('refunds only the captured part of a partial capture', async () => {
      const hold = await stripe.paymentIntents.create({ amount: 8000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, capture_method: 'manual' });
      await stripe.paymentIntents.capture(hold.id, { amount_to_capture: 3000 });

      const error = await rejection(stripe.refunds.create({ payment_intent: hold.id, amount: 3001 }));
      const refund = await stripe.refunds.create({ payment_intent: hold.id });

      expect(error).toMatchObject({ code: 'amount_too_large' });
      expect(refund.amount).toBe(3000);
    });

    it('emits refund.created and charge.refunded, and refund.updated on an update', async () => {
      const { intent } = await aCapturedCharge(2000);
      const refund = await stripe.refunds.create({ payment_intent: intent.id });
      await stripe.refunds.update(refund.id, { metadata: { reason: 'idle fee waived' } });

      const types = emulator.control.events().filter((e) => e.data.object.id === refund.id || e.data.object.payment_intent === intent.id).map((e) => e.type);

      expect(types).toEqual(expect.arrayContaining(['refund.created', 'charge.refunded', 'refund.updated']));
    });
  });

  describe('balance transactions', () => {
    it('records a charge with fee 1.5% + 25, net, and available_on two days later', async () => {
      const { charge } = await aCapturedCharge(10_000);

      const txn = await stripe.balanceTransactions.retrieve(charge.balance_transaction as string);

      expect(txn).toMatchObject({ type: 'charge', amount: 10_000, fee: 175, net: 9825, currency: 'eur', source: charge.id, status: 'pending', reporting_category: 'charge' });
      expect(txn.available_on).toBe(txn.created + 2 * DAY);
      expect(txn.fee_details).toEqual([expect.objectContaining({ type: 'stripe_fee', amount: 175 })]);
    });

    it('rounds the percentage half up in integer minor units', async () => {
      const { charge } = await aCapturedCharge(1_033);

      const txn = await stripe.balanceTransactions.retrieve(charge.balance_transaction as string);

      // 1033 × 1.5% = 15.495 -> 15, plus 25
      expect(txn.fee).toBe(40);
    });

    it('uses a configured fee', async () => {
      const custom = await startStripeEmulator({ webhookSecret: 'whsec_x', feePercent: 2.9, feeFixedMinor: 30 });
      try {
        const client = stripeClientFor(custom);
        const paid = await client.paymentIntents.create({ amount: 10_000, currency: 'usd', payment_method: 'pm_card_visa', confirm: true, expand: ['latest_charge.balance_transaction'] });

        const txn = (paid.latest_charge as Stripe.Charge).balance_transaction as Stripe.BalanceTransaction;
        expect(txn).toMatchObject({ fee: 320, net: 9680 });
      } finally {
        await custom.close();
      }
    });

    it('records refunds as negative transactions', async () => {
      const { intent } = await aCapturedCharge(5000);
      const refund = await stripe.refunds.create({ payment_intent: intent.id, amount: 1200 });

      const txn = await stripe.balanceTransactions.retrieve(refund.balance_transaction as string);

      expect(txn).toMatchObject({ type: 'refund', amount: -1200, fee: 0, net: -1200, source: refund.id });
    });
  });

  describe('disputes', () => {
    it('opens a dispute with a withdrawal and a fee, and closes it as won with a reinstatement', async () => {
      const { charge } = await aCapturedCharge(6000);

      const opened = emulator.control.openDispute(charge.id, { reason: 'product_not_received' });
      expect(opened).toMatchObject({ object: 'dispute', amount: 6000, charge: charge.id, status: 'needs_response', reason: 'product_not_received' });
      expect(opened.balance_transactions).toEqual([expect.objectContaining({ type: 'adjustment', amount: -6000, fee: 1500, net: -7500, reporting_category: 'dispute' })]);
      expect((await stripe.charges.retrieve(charge.id)).disputed).toBe(true);
      expect(await rejection(stripe.refunds.create({ charge: charge.id }))).toMatchObject({ code: 'charge_disputed' });

      const won = emulator.control.closeDispute(opened.id, 'won');

      expect(won.status).toBe('won');
      expect(won.balance_transactions.map((t: Stripe.BalanceTransaction) => t.amount)).toEqual([-6000, 6000]);
      const dispute = await stripe.disputes.retrieve(opened.id);
      expect(dispute.status).toBe('won');
      const types = emulator.control.events().filter((e) => e.data.object.id === opened.id).map((e) => e.type);
      expect(types).toEqual(['charge.dispute.created', 'charge.dispute.funds_withdrawn', 'charge.dispute.funds_reinstated', 'charge.dispute.closed']);
    });

    it('a dispute accepted through the API (close) is lost and keeps the withdrawal', async () => {
      const { charge } = await aCapturedCharge(6000);
      const opened = emulator.control.openDispute(charge.id);

      const lost = await stripe.disputes.close(opened.id);

      expect(lost.status).toBe('lost');
      expect(lost.balance_transactions).toHaveLength(1);
      const closed = emulator.control.events().find((e) => e.type === 'charge.dispute.closed' && e.data.object.id === opened.id)!;
      expect(closed.data.previous_attributes).toEqual({ status: 'needs_response' });
    });
  });

  describe('payouts', () => {
    it('pays out the available balance and links the balance transactions it settles', async () => {
      const isolated = await startStripeEmulator({ webhookSecret: 'whsec_payouts' });
      try {
        const client = stripeClientFor(isolated);
        const first = await client.paymentIntents.create({ amount: 10_000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
        const second = await client.paymentIntents.create({ amount: 5_000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
        await client.refunds.create({ payment_intent: second.id, amount: 1_000 });

        expect(isolated.control.payout()).toEqual([]); // charges are still pending
        const pending = await client.balance.retrieve();
        expect(pending.pending[0]).toMatchObject({ currency: 'eur', amount: 9825 + 4900 });

        isolated.control.advanceTime(2 * DAY + 1);
        const [payout] = isolated.control.payout();

        expect(payout).toMatchObject({ object: 'payout', amount: 9825 + 4900 - 1000, currency: 'eur', status: 'paid', automatic: true });
        const linked = await client.balanceTransactions.list({ payout: payout!.id, limit: 100 });
        expect(linked.data.map((t) => t.type).sort()).toEqual(['charge', 'charge', 'payout', 'refund']);
        expect(linked.data.reduce((sum, t) => sum + t.net, 0)).toBe(0);
        const charges = await client.charges.list({ limit: 10 });
        expect(charges.data.map((c) => c.payment_intent).sort()).toEqual([first.id, second.id].sort());
        expect((await client.balance.retrieve()).available[0]).toMatchObject({ currency: 'eur', amount: 0 });
        const payoutEvents = isolated.control.events().filter((e) => e.type.startsWith('payout.')).map((e) => e.type);
        expect(payoutEvents).toEqual(['payout.created', 'payout.paid']);
        expect((await client.payouts.retrieve(payout!.id)).balance_transaction).toBe(linked.data.find((t) => t.type === 'payout')!.id);
      } finally {
        await isolated.close();
      }
    });

    it('a failed payout returns the money: payout.failed', async () => {
      const isolated = await startStripeEmulator({ webhookSecret: 'whsec_payouts' });
      try {
        const client = stripeClientFor(isolated);
        await client.paymentIntents.create({ amount: 10_000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true });
        isolated.control.advanceTime(3 * DAY);

        const [payout] = isolated.control.payout({ fail: true });

        expect(payout).toMatchObject({ status: 'failed', failure_code: 'account_closed' });
        expect((await client.balance.retrieve()).available[0]!.amount).toBe(9825);
        expect(isolated.control.events().map((e) => e.type)).toContain('payout.failed');
      } finally {
        await isolated.close();
      }
    });
  });

  describe('persistence', () => {
    it('keeps objects, the clock and idempotency keys across a restart with a dataDir', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'voltledger-stripe-'));
      dirs.push(dataDir);
      const first = await startStripeEmulator({ webhookSecret: 'whsec_persist', dataDir });
      const params = { amount: 4200, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, capture_method: 'manual' as const };
      const hold = await stripeClientFor(first).paymentIntents.create(params, { idempotencyKey: 'hold-persist' });
      first.control.advanceTime(DAY);
      const clock = first.control.now();
      await first.close();

      const second = await startStripeEmulator({ webhookSecret: 'whsec_persist', dataDir });
      try {
        const client = stripeClientFor(second);
        expect((await client.paymentIntents.retrieve(hold.id)).status).toBe('requires_capture');
        expect(second.control.now()).toBeGreaterThanOrEqual(clock);
        expect((await client.paymentIntents.create(params, { idempotencyKey: 'hold-persist' })).id).toBe(hold.id);
        const captured = await client.paymentIntents.capture(hold.id, { amount_to_capture: 4000 });
        expect(captured.amount_received).toBe(4000);
        expect((await client.events.list({ limit: 100 })).data.map((e) => e.type)).toContain('payment_intent.created');
      } finally {
        await second.close();
      }
    });
  });
});
