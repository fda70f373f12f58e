import { describe, expect, it } from 'vitest';
import { paymentView } from '../../../functions/payments/domain/payment-view.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../../functions/shared/errors.ts';
import { paymentsHarness, type PaymentsHarness } from './support/harness.ts';

/** S-1 settled at 62.00 EUR: 50.00 captured from a hold that could not grow, 12.00 topped up. */
async function settledWithTopUp(h: PaymentsHarness) {
  h.gateway.nextHold = { incrementable: false };
  await h.payments.onSessionStarted(h.started(1));
  await h.payments.onSessionPriced(h.priced(1, 6_200));
  const outcome = (await h.store.get('S-1'))!.settlement!.outcome!;
  return { hold: outcome.holdPaymentIntentId!, topUp: outcome.chargePaymentIntentId! };
}

describe('refunds', () => {
  it('a full refund gives back the newest money first (the top-up, then the capture); a retry repeats nothing', async () => {
    const h = paymentsHarness();
    const { hold, topUp } = await settledWithTopUp(h);
    const issued = await h.refunds.refund('S-1', { reason: 'requested_by_customer', note: 'charger fault' }, 'req-1');

    expect(issued.map((r) => [r.paymentIntentId, r.amountMinor, r.status])).toEqual([
      [topUp, 1_200, 'pending'],
      [hold, 5_000, 'pending'],
    ]);
    expect(h.gateway.callsTo('refund')).toEqual([
      { method: 'refund', key: `voltledger:S-1:refund:req-1:${topUp}`, paymentIntentId: topUp, amountMinor: 1_200 },
      { method: 'refund', key: `voltledger:S-1:refund:req-1:${hold}`, paymentIntentId: hold, amountMinor: 5_000 },
    ]);
    const payment = (await h.store.get('S-1'))!;
    expect(payment.refundRequests!['req-1']).toEqual({
      amountMinor: 6_200,
      parts: [
        { paymentIntentId: topUp, amountMinor: 1_200 },
        { paymentIntentId: hold, amountMinor: 5_000 },
      ],
      reason: 'requested_by_customer',
      note: 'charger fault',
      requestedAt: '2026-11-23T12:00:00.000Z',
    });

    const again = await h.refunds.refund('S-1', {}, 'req-1');
    expect(again).toEqual(issued);
    expect(h.gateway.refunds.size).toBe(2);
    await expect(h.refunds.refund('S-1', {}, 'req-2')).rejects.toThrow(ConflictError);
  });

  it('a partial refund splits across PaymentIntents; what is left is the limit of the next one', async () => {
    const h = paymentsHarness();
    const { hold, topUp } = await settledWithTopUp(h);
    const first = await h.refunds.refund('S-1', { amountMinor: 1_500 }, 'req-1');
    expect(first.map((r) => [r.paymentIntentId, r.amountMinor])).toEqual([
      [topUp, 1_200],
      [hold, 300],
    ]);

    await expect(h.refunds.refund('S-1', { amountMinor: 4_701 }, 'req-2')).rejects.toThrow(ValidationError);
    await expect(h.refunds.refund('S-1', { amountMinor: 1_000 }, 'req-1')).rejects.toThrow(ConflictError);
    const second = await h.refunds.refund('S-1', { amountMinor: 4_700 }, 'req-2');
    expect(second.map((r) => [r.paymentIntentId, r.amountMinor])).toEqual([[hold, 4_700]]);
  });

  it('only a settled card payment can be refunded', async () => {
    const h = paymentsHarness();
    await expect(h.refunds.refund('S-1', {}, 'req-1')).rejects.toThrow(NotFoundError);
    await h.payments.onSessionStarted(h.started(1));
    await expect(h.refunds.refund('S-1', {}, 'req-1')).rejects.toThrow(ConflictError);
    expect(h.gateway.callsTo('refund')).toEqual([]);
  });

  it('a refund webhook records the refund status; an unchanged one writes nothing', async () => {
    const h = paymentsHarness();
    await settledWithTopUp(h);
    const [refund] = await h.refunds.refund('S-1', { amountMinor: 1_000 }, 'req-1');
    h.gateway.refunds.get(refund!.refundId)!.status = 'succeeded';

    await h.refunds.onRefundEvent(refund!.refundId);
    const payment = (await h.store.get('S-1'))!;
    expect(payment.refunds[refund!.refundId]).toMatchObject({ status: 'succeeded', amountMinor: 1_000 });
    expect(paymentView(payment)).toMatchObject({ capturedMinor: 6_200, refundedMinor: 1_000, authorizedMinor: 5_000, status: 'settled' });

    const writes = h.store.writes;
    await h.refunds.onRefundEvent(refund!.refundId);
    expect(h.store.writes).toBe(writes);
  });
});
