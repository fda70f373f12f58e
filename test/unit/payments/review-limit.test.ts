import { describe, expect, it } from 'vitest';
import { SessionPaymentSettled } from '../../../events/payment-events.ts';
import { fallbackAfterRefusedIncrement, planSettlement, type SettlementInput } from '../../../functions/payments/domain/settlement.ts';
import { paymentsHarness } from './support/harness.ts';

// docs/payments.md, "Amounts held for review": nothing above the payment policy's maximum
// (maxHoldMinor, 300.00 under the default policy) is taken without a person looking (issue 15:
// a glitched meter captured 923.66 EUR, a capture plus an off-session top-up).

async function held(h: ReturnType<typeof paymentsHarness>, incrementable: boolean) {
  h.gateway.nextHold = { incrementable };
  await h.payments.onSessionStarted(h.started(1));
  return (await h.store.get('S-1'))!.hold!.paymentIntentId;
}

describe('settlement above the payment policy maximum', () => {
  const base: SettlementInput = {
    currency: 'EUR',
    sessionTotalMinor: 92_366,
    hold: { paymentIntentId: 'pi_1', status: 'usable', capturableMinor: 5_000, capturedMinor: 0, incrementable: false },
    canChargeOffSession: true,
    smallAmount: 'carry',
    canCarry: true,
    reviewAboveMinor: 30_000,
  };

  it('plans to take at most the maximum (capture and top-up together) and holds the rest for review', () => {
    const plan = planSettlement(base);
    expect(plan).toMatchObject({ dueMinor: 92_366, captureMinor: 5_000, chargeMinor: 25_000, chargePurpose: 'top_up', reviewMinor: 62_366, uncollectableMinor: 62_366, outcome: 'collection_failed' });
    expect(plan.captureMinor + plan.chargeMinor + plan.waiveMinor + plan.carryMinor + plan.uncollectableMinor).toBe(plan.dueMinor);
  });

  it('with an incrementable hold: raises it to the maximum only; a refused raise falls back within the maximum', () => {
    const input = { ...base, hold: { ...base.hold!, incrementable: true } };
    const plan = planSettlement(input);
    expect(plan).toMatchObject({ incrementToMinor: 30_000, captureMinor: 30_000, chargeMinor: 0, reviewMinor: 62_366 });
    const fallback = fallbackAfterRefusedIncrement(plan, input);
    expect(fallback).toMatchObject({ captureMinor: 5_000, chargeMinor: 25_000, reviewMinor: 62_366, uncollectableMinor: 62_366, outcome: 'collection_failed', dueMinor: 92_366 });
    expect(fallback.incrementToMinor).toBeUndefined();
  });

  it('without a usable hold: charges at most the maximum off-session', () => {
    const plan = planSettlement({ ...base, hold: undefined });
    expect(plan).toMatchObject({ chargeMinor: 30_000, chargePurpose: 'off_session_charge', reviewMinor: 62_366 });
  });

  it('at or below the maximum nothing changes', () => {
    const plan = planSettlement({ ...base, sessionTotalMinor: 30_000 });
    expect(plan.reviewMinor).toBeUndefined();
    expect(plan).toMatchObject({ captureMinor: 5_000, chargeMinor: 25_000, outcome: 'captured_with_top_up' });
  });

  it('card payments: captures and tops up to the maximum, no more, and settles as held for review', async () => {
    const h = paymentsHarness(); // FIXED_HOLD: 50.00 held, maxHoldMinor 300.00
    const pi = await held(h, false);
    await h.payments.onSessionPriced(h.priced(1, 92_366));

    expect(h.gateway.callsTo('capture')).toEqual([expect.objectContaining({ paymentIntentId: pi, amountMinor: 5_000 })]);
    expect(h.gateway.callsTo('chargeOffSession')).toEqual([{ method: 'chargeOffSession', key: 'voltledger:S-1:top_up:25000', amountMinor: 25_000 }]);
    const outcome = (await h.store.get('S-1'))!.settlement!.outcome!;
    expect(outcome).toMatchObject({
      outcome: 'collection_failed',
      dueMinor: 92_366,
      capturedMinor: 5_000,
      topUpMinor: 25_000,
      outstandingMinor: 62_366,
      review: { amountMinor: 62_366, limitMinor: 30_000 },
      failure: { message: expect.stringMatching(/held for review/) },
    });
    const [settled] = h.events.of('SessionPaymentSettled');
    expect(SessionPaymentSettled.data.safeParse(settled).success).toBe(true);
  });
});
