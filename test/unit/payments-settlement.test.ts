import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { minimumChargeMinor } from '../../functions/shared/money.ts';
import {
  fallbackAfterExpiredHold,
  fallbackAfterRefusedIncrement,
  type HoldState,
  planSettlement,
  type SettlementInput,
  type SettlementPlan,
} from '../../functions/payments/domain/settlement.ts';

function aHold(overrides: Partial<HoldState> = {}): HoldState {
  return { paymentIntentId: 'pi_hold', status: 'usable', capturableMinor: 2_000, capturedMinor: 0, incrementable: false, ...overrides };
}

function input(overrides: Partial<SettlementInput> = {}): SettlementInput {
  return { currency: 'EUR', sessionTotalMinor: 1_234, hold: aHold(), canChargeOffSession: true, smallAmount: 'carry', canCarry: true, ...overrides };
}

/** The plan with every field, for exact comparisons. */
function plan(overrides: Partial<SettlementPlan> & Pick<SettlementPlan, 'outcome' | 'dueMinor'>): SettlementPlan {
  return {
    currency: 'EUR',
    sessionTotalMinor: overrides.dueMinor,
    carriedInMinor: 0,
    carriedInSessionIds: [],
    captureMinor: 0,
    cancelHold: false,
    chargeMinor: 0,
    waiveMinor: 0,
    carryMinor: 0,
    uncollectableMinor: 0,
    ...overrides,
  };
}

const sumOf = (p: SettlementPlan) => p.captureMinor + p.chargeMinor + p.waiveMinor + p.carryMinor + p.uncollectableMinor;

describe('planSettlement: a usable hold', () => {
  it('captures the amount due when it is within the hold (the rest is released)', () => {
    expect(planSettlement(input({ sessionTotalMinor: 1_234 }))).toEqual(plan({ dueMinor: 1_234, captureMinor: 1_234, outcome: 'captured' }));
  });

  it('captures the whole hold when exactly that much is due', () => {
    expect(planSettlement(input({ sessionTotalMinor: 2_000 }))).toEqual(plan({ dueMinor: 2_000, captureMinor: 2_000, outcome: 'captured' }));
  });

  it('above an incrementable hold: raise it to the amount due, then capture it whole', () => {
    expect(planSettlement(input({ sessionTotalMinor: 2_600, hold: aHold({ incrementable: true }) }))).toEqual(
      plan({ dueMinor: 2_600, incrementToMinor: 2_600, captureMinor: 2_600, outcome: 'captured' }),
    );
  });

  it('above a hold that cannot be raised: capture the hold and top up the rest off-session', () => {
    expect(planSettlement(input({ sessionTotalMinor: 2_600 }))).toEqual(
      plan({ dueMinor: 2_600, captureMinor: 2_000, chargeMinor: 600, chargePurpose: 'top_up', outcome: 'captured_with_top_up' }),
    );
  });

  it('a top-up exactly at the currency minimum is charged', () => {
    expect(planSettlement(input({ sessionTotalMinor: 2_050 }))).toMatchObject({ captureMinor: 2_000, chargeMinor: 50, chargePurpose: 'top_up', outcome: 'captured_with_top_up' });
  });

  it('a top-up below the currency minimum follows the small-amount policy: carry', () => {
    expect(planSettlement(input({ sessionTotalMinor: 2_049 }))).toEqual(plan({ dueMinor: 2_049, captureMinor: 2_000, carryMinor: 49, outcome: 'captured' }));
  });

  it('a top-up below the currency minimum follows the small-amount policy: waive, or carry when the driver cannot carry', () => {
    expect(planSettlement(input({ sessionTotalMinor: 2_049, smallAmount: 'waive' }))).toEqual(plan({ dueMinor: 2_049, captureMinor: 2_000, waiveMinor: 49, outcome: 'captured' }));
    expect(planSettlement(input({ sessionTotalMinor: 2_049, canCarry: false }))).toEqual(plan({ dueMinor: 2_049, captureMinor: 2_000, waiveMinor: 49, outcome: 'captured' }));
  });

  it('a top-up that cannot be charged off-session is uncollectable', () => {
    expect(planSettlement(input({ sessionTotalMinor: 2_600, canChargeOffSession: false }))).toEqual(
      plan({ dueMinor: 2_600, captureMinor: 2_000, uncollectableMinor: 600, outcome: 'collection_failed' }),
    );
  });

  it('nothing due: cancel the hold', () => {
    expect(planSettlement(input({ sessionTotalMinor: 0 }))).toEqual(plan({ dueMinor: 0, cancelHold: true, outcome: 'nothing_due' }));
  });

  it('below the currency minimum: cancel the hold and carry the amount', () => {
    expect(planSettlement(input({ sessionTotalMinor: 49 }))).toEqual(plan({ dueMinor: 49, cancelHold: true, carryMinor: 49, outcome: 'carried_forward' }));
  });

  it('below the currency minimum: cancel the hold and waive it (policy waive, or no way to carry)', () => {
    expect(planSettlement(input({ sessionTotalMinor: 49, smallAmount: 'waive' }))).toEqual(plan({ dueMinor: 49, cancelHold: true, waiveMinor: 49, outcome: 'waived' }));
    expect(planSettlement(input({ sessionTotalMinor: 49, canCarry: false }))).toEqual(plan({ dueMinor: 49, cancelHold: true, waiveMinor: 49, outcome: 'waived' }));
  });

  it('exactly the currency minimum is captured', () => {
    expect(planSettlement(input({ sessionTotalMinor: 50 }))).toEqual(plan({ dueMinor: 50, captureMinor: 50, outcome: 'captured' }));
  });

  it("uses the currency's minimum: GBP 0.30, DKK 2.50", () => {
    expect(planSettlement(input({ currency: 'GBP', sessionTotalMinor: 30 }))).toMatchObject({ captureMinor: 30, outcome: 'captured' });
    expect(planSettlement(input({ currency: 'GBP', sessionTotalMinor: 29 }))).toMatchObject({ carryMinor: 29, cancelHold: true, outcome: 'carried_forward' });
    expect(planSettlement(input({ currency: 'DKK', sessionTotalMinor: 249, smallAmount: 'waive' }))).toMatchObject({ waiveMinor: 249, cancelHold: true, outcome: 'waived' });
    // GBP top-up of 29 after a 2000 hold: below the GBP minimum
    expect(planSettlement(input({ currency: 'GBP', sessionTotalMinor: 2_029 }))).toMatchObject({ captureMinor: 2_000, carryMinor: 29, chargeMinor: 0, outcome: 'captured' });
  });
});

describe('planSettlement: amounts Stripe takes only in steps (functions/shared/money.ts stripeStepMinor)', () => {
  it('BHD: Stripe wants the last of three digits 0; the fils beyond follow the small-amount policy', () => {
    const bhd = planSettlement(input({ currency: 'BHD', sessionTotalMinor: 5_124, hold: aHold({ capturableMinor: 20_000 }) }));
    expect(bhd).toMatchObject({ dueMinor: 5_124, captureMinor: 5_120, carryMinor: 4, outcome: 'captured' });
    expect(sumOf(bhd)).toBe(5_124);
    const waived = planSettlement(input({ currency: 'BHD', sessionTotalMinor: 5_124, hold: aHold({ capturableMinor: 20_000 }), smallAmount: 'waive' }));
    expect(waived).toMatchObject({ captureMinor: 5_120, waiveMinor: 4, carryMinor: 0, outcome: 'captured' });
  });

  it('MGA: ISO has two digits, Stripe whole ariary: the hundredths are never sent', () => {
    const mga = planSettlement(input({ currency: 'MGA', sessionTotalMinor: 123_456, hold: undefined, smallAmount: 'waive' }));
    expect(mga).toMatchObject({ dueMinor: 123_456, chargeMinor: 123_400, waiveMinor: 56, chargePurpose: 'off_session_charge', outcome: 'charged_off_session' });
    expect(sumOf(mga)).toBe(123_456);
  });

  it('an increment and its fallback ask Stripe for whole steps only', () => {
    const i = input({ currency: 'KWD', sessionTotalMinor: 30_005, hold: aHold({ capturableMinor: 20_000, incrementable: true }) });
    const planned = planSettlement(i);
    expect(planned).toMatchObject({ incrementToMinor: 30_000, captureMinor: 30_000, carryMinor: 5, dueMinor: 30_005, outcome: 'captured' });
    const fallback = fallbackAfterRefusedIncrement(planned, i);
    expect(fallback).toMatchObject({ captureMinor: 20_000, chargeMinor: 10_000, carryMinor: 5, dueMinor: 30_005, outcome: 'captured_with_top_up' });
    expect(fallback.incrementToMinor).toBeUndefined();
    expect(sumOf(fallback)).toBe(30_005);
  });

  it('below the minimum the whole amount is small, as before', () => {
    expect(planSettlement(input({ currency: 'BHD', sessionTotalMinor: 45 }))).toMatchObject({ carryMinor: 45, cancelHold: true, outcome: 'carried_forward' });
  });
});

describe('planSettlement: no usable hold', () => {
  it.each(['expired', 'canceled'] as const)('a %s hold: charge everything off-session (nothing to cancel)', (status) => {
    expect(planSettlement(input({ sessionTotalMinor: 1_500, hold: aHold({ status, capturableMinor: 0 }) }))).toEqual(
      plan({ dueMinor: 1_500, chargeMinor: 1_500, chargePurpose: 'off_session_charge', outcome: 'charged_off_session' }),
    );
  });

  it('no hold at all: charge off-session', () => {
    expect(planSettlement(input({ sessionTotalMinor: 1_500, hold: undefined }))).toEqual(
      plan({ dueMinor: 1_500, chargeMinor: 1_500, chargePurpose: 'off_session_charge', outcome: 'charged_off_session' }),
    );
  });

  it('an expired hold ignores its stale capturable amount', () => {
    expect(planSettlement(input({ sessionTotalMinor: 1_500, hold: aHold({ status: 'expired', capturableMinor: 2_000 }) }))).toMatchObject({
      captureMinor: 0,
      chargeMinor: 1_500,
      outcome: 'charged_off_session',
    });
  });

  it('cannot charge off-session: collection_failed with everything uncollectable', () => {
    expect(planSettlement(input({ sessionTotalMinor: 1_500, hold: undefined, canChargeOffSession: false }))).toEqual(
      plan({ dueMinor: 1_500, uncollectableMinor: 1_500, outcome: 'collection_failed' }),
    );
    expect(planSettlement(input({ sessionTotalMinor: 1_500, hold: aHold({ status: 'expired', capturableMinor: 0 }), canChargeOffSession: false }))).toMatchObject({
      uncollectableMinor: 1_500,
      chargeMinor: 0,
      outcome: 'collection_failed',
    });
  });

  it('small amounts and zero without a hold: carry/waive, nothing to cancel', () => {
    expect(planSettlement(input({ sessionTotalMinor: 0, hold: undefined }))).toEqual(plan({ dueMinor: 0, outcome: 'nothing_due' }));
    expect(planSettlement(input({ sessionTotalMinor: 20, hold: undefined }))).toEqual(plan({ dueMinor: 20, carryMinor: 20, outcome: 'carried_forward' }));
    expect(planSettlement(input({ sessionTotalMinor: 20, hold: aHold({ status: 'expired', capturableMinor: 0 }), smallAmount: 'waive' }))).toEqual(
      plan({ dueMinor: 20, waiveMinor: 20, outcome: 'waived' }),
    );
  });
});

describe('planSettlement: carried-in amounts', () => {
  const carriedIn = { amountMinor: 45, sessionIds: ['sess_a', 'sess_b'] };

  it('adds them to the amount due and records their sessions', () => {
    expect(planSettlement(input({ sessionTotalMinor: 1_000, carriedIn }))).toEqual(
      plan({ sessionTotalMinor: 1_000, carriedInMinor: 45, carriedInSessionIds: ['sess_a', 'sess_b'], dueMinor: 1_045, captureMinor: 1_045, outcome: 'captured' }),
    );
  });

  it('lifts a small session total over the minimum', () => {
    // 10 + 45 = 55 >= 50: captured, no longer small
    expect(planSettlement(input({ sessionTotalMinor: 10, carriedIn }))).toMatchObject({ dueMinor: 55, captureMinor: 55, carryMinor: 0, outcome: 'captured' });
  });

  it('a zero session with carried-in amounts below the minimum carries them again', () => {
    expect(planSettlement(input({ sessionTotalMinor: 0, carriedIn }))).toEqual(
      plan({ sessionTotalMinor: 0, carriedInMinor: 45, carriedInSessionIds: ['sess_a', 'sess_b'], dueMinor: 45, cancelHold: true, carryMinor: 45, outcome: 'carried_forward' }),
    );
  });

  it('pushes the amount due above the hold: top-up', () => {
    expect(planSettlement(input({ sessionTotalMinor: 1_990, carriedIn: { amountMinor: 40, sessionIds: ['sess_a'] } }))).toMatchObject({
      dueMinor: 2_030,
      captureMinor: 2_000,
      carryMinor: 30,
      outcome: 'captured',
    });
  });
});

describe('planSettlement: a retry after the hold was captured', () => {
  it('charges only what the capture left (a top-up)', () => {
    expect(planSettlement(input({ sessionTotalMinor: 2_600, hold: aHold({ status: 'captured', capturableMinor: 0, capturedMinor: 2_000 }) }))).toEqual(
      plan({ dueMinor: 2_600, chargeMinor: 600, chargePurpose: 'top_up', outcome: 'captured_with_top_up' }),
    );
  });

  it('plans nothing more when the capture covered the amount due', () => {
    expect(planSettlement(input({ sessionTotalMinor: 1_234, hold: aHold({ status: 'captured', capturableMinor: 0, capturedMinor: 1_234 }) }))).toEqual(
      plan({ dueMinor: 1_234, outcome: 'captured' }),
    );
  });

  it('handles a small remainder by the small-amount policy and an uncollectable one', () => {
    expect(planSettlement(input({ sessionTotalMinor: 2_010, hold: aHold({ status: 'captured', capturedMinor: 2_000 }), smallAmount: 'waive' }))).toEqual(
      plan({ dueMinor: 2_010, waiveMinor: 10, outcome: 'captured' }),
    );
    expect(planSettlement(input({ sessionTotalMinor: 2_600, hold: aHold({ status: 'captured', capturedMinor: 2_000 }), canChargeOffSession: false }))).toEqual(
      plan({ dueMinor: 2_600, uncollectableMinor: 600, outcome: 'collection_failed' }),
    );
  });
});

describe('fallbacks', () => {
  it('after a refused increment: capture the hold, top up the rest', () => {
    const settlement = input({ sessionTotalMinor: 2_600, hold: aHold({ incrementable: true }) });
    const first = planSettlement(settlement);
    expect(first.incrementToMinor).toBe(2_600);
    const fallback = fallbackAfterRefusedIncrement(first, settlement);
    expect(fallback).toEqual(plan({ dueMinor: 2_600, captureMinor: 2_000, chargeMinor: 600, chargePurpose: 'top_up', outcome: 'captured_with_top_up' }));
    expect('incrementToMinor' in fallback).toBe(false);
  });

  it('after a refused increment: a small rest is carried or waived; without off-session charging it is uncollectable', () => {
    const small = input({ sessionTotalMinor: 2_030, hold: aHold({ incrementable: true }) });
    expect(fallbackAfterRefusedIncrement(planSettlement(small), small)).toEqual(plan({ dueMinor: 2_030, captureMinor: 2_000, carryMinor: 30, outcome: 'captured' }));
    const waive = { ...small, smallAmount: 'waive' as const };
    expect(fallbackAfterRefusedIncrement(planSettlement(waive), waive)).toEqual(plan({ dueMinor: 2_030, captureMinor: 2_000, waiveMinor: 30, outcome: 'captured' }));
    const reader = input({ sessionTotalMinor: 2_600, hold: aHold({ incrementable: true }), canChargeOffSession: false, canCarry: false });
    expect(fallbackAfterRefusedIncrement(planSettlement(reader), reader)).toEqual(plan({ dueMinor: 2_600, captureMinor: 2_000, uncollectableMinor: 600, outcome: 'collection_failed' }));
  });

  it('after a refused increment, carried-in amounts are kept', () => {
    const settlement = input({ sessionTotalMinor: 2_500, carriedIn: { amountMinor: 100, sessionIds: ['sess_a'] }, hold: aHold({ incrementable: true }) });
    expect(fallbackAfterRefusedIncrement(planSettlement(settlement), settlement)).toEqual(
      plan({ sessionTotalMinor: 2_500, carriedInMinor: 100, carriedInSessionIds: ['sess_a'], dueMinor: 2_600, captureMinor: 2_000, chargeMinor: 600, chargePurpose: 'top_up', outcome: 'captured_with_top_up' }),
    );
  });

  it('after the hold expired: charge everything off-session', () => {
    const settlement = input({ sessionTotalMinor: 1_234 });
    expect(fallbackAfterExpiredHold(planSettlement(settlement), settlement)).toEqual(
      plan({ dueMinor: 1_234, chargeMinor: 1_234, chargePurpose: 'off_session_charge', outcome: 'charged_off_session' }),
    );
    const reader = input({ sessionTotalMinor: 1_234, canChargeOffSession: false });
    expect(fallbackAfterExpiredHold(planSettlement(reader), reader)).toEqual(plan({ dueMinor: 1_234, uncollectableMinor: 1_234, outcome: 'collection_failed' }));
  });
});

// ---- properties ----

const holdArb: fc.Arbitrary<HoldState | undefined> = fc.option(
  fc.record({
    paymentIntentId: fc.constant('pi_hold'),
    status: fc.constantFrom('usable', 'expired', 'canceled', 'captured') as fc.Arbitrary<HoldState['status']>,
    capturableMinor: fc.integer({ min: 0, max: 20_000 }),
    capturedMinor: fc.integer({ min: 0, max: 20_000 }),
    incrementable: fc.boolean(),
  }),
  { nil: undefined },
);

const inputArb: fc.Arbitrary<SettlementInput> = fc.record({
  currency: fc.constantFrom('EUR', 'GBP', 'DKK', 'HUF', 'JPY', 'USD'),
  sessionTotalMinor: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 40_000 })),
  carriedIn: fc.option(
    fc.record({ amountMinor: fc.integer({ min: 1, max: 300 }), sessionIds: fc.array(fc.stringMatching(/^sess_[a-z0-9]{4}$/), { minLength: 1, maxLength: 3 }) }),
    { nil: undefined },
  ),
  hold: holdArb,
  canChargeOffSession: fc.boolean(),
  smallAmount: fc.constantFrom('waive', 'carry') as fc.Arbitrary<'waive' | 'carry'>,
  canCarry: fc.boolean(),
});

/** The invariants every plan (and every fallback plan) keeps. */
function checkPlan(p: SettlementPlan, i: SettlementInput): void {
  const minimum = minimumChargeMinor(i.currency);
  expect(p.dueMinor).toBe(i.sessionTotalMinor + (i.carriedIn?.amountMinor ?? 0));
  expect(p.carriedInMinor).toBe(i.carriedIn?.amountMinor ?? 0);
  expect(p.carriedInSessionIds).toEqual(i.carriedIn?.sessionIds ?? []);
  for (const amount of [p.captureMinor, p.chargeMinor, p.waiveMinor, p.carryMinor, p.uncollectableMinor]) {
    expect(Number.isSafeInteger(amount) && amount >= 0).toBe(true);
  }
  if (p.incrementToMinor !== undefined) {
    expect(p.captureMinor).toBe(p.dueMinor);
    expect(p.incrementToMinor).toBe(p.dueMinor);
    expect(i.hold?.status).toBe('usable');
    expect(i.hold?.incrementable).toBe(true);
    expect(p.dueMinor).toBeGreaterThan(i.hold!.capturableMinor);
    expect(p.chargeMinor + p.waiveMinor + p.carryMinor + p.uncollectableMinor).toBe(0);
  } else if (i.hold?.status === 'captured') {
    // a retry: what was captured already counts towards the amount due
    expect(p.captureMinor).toBe(0);
    expect(Math.min(i.hold.capturedMinor, p.dueMinor) + sumOf(p)).toBe(p.dueMinor);
  } else {
    expect(sumOf(p)).toBe(p.dueMinor);
    // never capture more than the hold allows, nor anything from a hold that is not usable
    expect(p.captureMinor).toBeLessThanOrEqual(i.hold?.status === 'usable' ? i.hold.capturableMinor : 0);
  }
  // never charge below the currency minimum
  if (p.chargeMinor > 0) {
    expect(p.chargeMinor).toBeGreaterThanOrEqual(minimum);
    expect(i.canChargeOffSession).toBe(true);
    expect(p.chargePurpose).toBeDefined();
  } else {
    expect(p.chargePurpose).toBeUndefined();
  }
  // small amounts only below the minimum; carried only when allowed
  expect(p.waiveMinor + p.carryMinor).toBeLessThan(minimum);
  if (p.carryMinor > 0) expect(i.smallAmount === 'carry' && i.canCarry).toBe(true);
  if (p.waiveMinor > 0) expect(i.smallAmount === 'waive' || !i.canCarry).toBe(true);
  if (p.uncollectableMinor > 0) {
    expect(i.canChargeOffSession).toBe(false);
    expect(p.outcome).toBe('collection_failed');
  }
  if (p.cancelHold) {
    expect(i.hold?.status).toBe('usable');
    expect(p.captureMinor).toBe(0);
  }
  // outcomes match what moves
  const taken = p.captureMinor + (i.hold?.status === 'captured' ? i.hold.capturedMinor : 0);
  const expectedOutcome =
    p.uncollectableMinor > 0
      ? 'collection_failed'
      : p.chargeMinor > 0
        ? p.chargePurpose === 'top_up' && taken > 0
          ? 'captured_with_top_up'
          : 'charged_off_session'
        : taken > 0
          ? 'captured'
          : p.carryMinor > 0
            ? 'carried_forward'
            : p.waiveMinor > 0
              ? 'waived'
              : i.hold?.status === 'captured'
                ? 'captured'
                : 'nothing_due';
  expect(p.outcome).toBe(expectedOutcome);
}

describe('planSettlement: properties', () => {
  it('due = capture + charge + waive + carry + uncollectable (the increment plan captures all due); no over-capture; no charge below the minimum', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        checkPlan(planSettlement(i), i);
      }),
      { numRuns: 2_000 },
    );
  });

  it('the fallbacks keep the same invariants', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const first = planSettlement(i);
        if (first.incrementToMinor !== undefined) {
          const fallback = fallbackAfterRefusedIncrement(first, i);
          expect(fallback.incrementToMinor).toBeUndefined();
          expect(fallback.captureMinor).toBe(i.hold!.capturableMinor);
          checkPlan(fallback, i);
        }
        const expiredInput: SettlementInput = { ...i, hold: i.hold ? { ...i.hold, status: 'expired', capturableMinor: 0 } : undefined };
        const expired = fallbackAfterExpiredHold(first, i);
        expect(expired.captureMinor).toBe(0);
        checkPlan(expired, expiredInput);
      }),
      { numRuns: 1_000 },
    );
  });

  it('a plan is a pure function of its input (same input, same plan: retries execute the same steps)', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        expect(planSettlement(structuredClone(i))).toEqual(planSettlement(i));
      }),
    );
  });

  it('within a usable hold, the amount due is captured whole and the hold is never cancelled', () => {
    fc.assert(
      fc.property(inputArb, (i) => {
        const due = i.sessionTotalMinor + (i.carriedIn?.amountMinor ?? 0);
        fc.pre(i.hold?.status === 'usable' && due >= minimumChargeMinor(i.currency) && due <= i.hold.capturableMinor);
        const p = planSettlement(i);
        expect(p).toMatchObject({ captureMinor: due, cancelHold: false, chargeMinor: 0, outcome: 'captured' });
      }),
      { numRuns: 300 },
    );
  });
});
