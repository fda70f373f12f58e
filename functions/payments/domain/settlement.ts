import type { SettlementOutcome } from '../../../events/payment-events.ts';
import { minimumChargeMinor, toStripeStep } from '../../shared/money.ts';

/** The hold as Stripe reports it when the session is settled. */
export interface HoldState {
  paymentIntentId: string;
  /** `usable`: requires_capture and before capture_before; `expired`/`canceled`: gone; `captured`: already taken (a retry). */
  status: 'usable' | 'expired' | 'canceled' | 'captured';
  capturableMinor: number;
  /** Already captured (status `captured`). */
  capturedMinor: number;
  /** Stripe can raise this authorization (incremental authorization available/supported). */
  incrementable: boolean;
}

/**
 * What settling a session will do, decided once and stored before any money moves, so every retry
 * executes the same plan with the same idempotency keys.
 */
export interface SettlementPlan {
  currency: string;
  sessionTotalMinor: number;
  carriedInMinor: number;
  carriedInSessionIds: string[];
  dueMinor: number;
  /** First try to raise the hold to this amount (then capture it whole); on refusal fall back to `capture` + `charge`. */
  incrementToMinor?: number;
  /** Capture this much from the hold (the rest is released). */
  captureMinor: number;
  /** Cancel the hold without capturing. */
  cancelHold: boolean;
  /** Charge this much off-session with the saved card (a top-up after a capture, or the whole amount). */
  chargeMinor: number;
  chargePurpose?: 'top_up' | 'off_session_charge';
  waiveMinor: number;
  carryMinor: number;
  /** Due but with no way to collect it (no saved card for a reader payment, no payment method), or held for review (below). */
  uncollectableMinor: number;
  /**
   * Part of `uncollectableMinor`: what is due above `SettlementInput.reviewAboveMinor`, not taken
   * until a person has reviewed the session (docs/payments.md "Amounts held for review").
   */
  reviewMinor?: number;
  /** The outcome if every step succeeds. */
  outcome: SettlementOutcome;
}

export interface SettlementInput {
  currency: string;
  sessionTotalMinor: number;
  carriedIn?: { amountMinor: number; sessionIds: string[] };
  hold: HoldState | undefined;
  /** A saved card can be charged off-session (app payments; not card-present). */
  canChargeOffSession: boolean;
  smallAmount: 'waive' | 'carry';
  /** Reader payments and drivers without an identity cannot carry to a next session. */
  canCarry: boolean;
  /**
   * The most taken without review (the payment policy's `maxHoldMinor`): above it, this much is
   * collected and the rest is held for review, never captured or charged off-session.
   */
  reviewAboveMinor?: number;
}

/**
 * Plans a session's settlement. Amounts incl. VAT, minor units. Invariant:
 * `due = capture + charge + waive + carry + uncollectable` (with an increment, `capture` is the
 * whole due amount and the fallback is recomputed by {@link fallbackAfterRefusedIncrement}).
 *
 * Stripe takes amounts in whole steps of the currency (functions/shared/money.ts stripeStepMinor:
 * 1 minor unit for most currencies, 10 fils for BHD, 1 ariary for MGA). What is due beyond the
 * last whole step is a small amount like one below the minimum: waived or carried, never sent.
 */
export function planSettlement(input: SettlementInput): SettlementPlan {
  const carriedIn = input.carriedIn ?? { amountMinor: 0, sessionIds: [] };
  const due = input.sessionTotalMinor + carriedIn.amountMinor;
  const limit = input.reviewAboveMinor === undefined ? undefined : toStripeStep(input.reviewAboveMinor, input.currency, 'down');
  if (limit !== undefined && due > limit) {
    // Above the policy's maximum nothing more is taken without review: collect up to it, hold the rest.
    const review = due - limit;
    const within = planDue(input, limit);
    return { ...within, dueMinor: due, uncollectableMinor: within.uncollectableMinor + review, reviewMinor: review, outcome: 'collection_failed' };
  }
  return planDue(input, due);
}

/** {@link planSettlement} for an amount `due` (the session total and what was carried in, or the review limit). */
function planDue(input: SettlementInput, due: number): SettlementPlan {
  const minimum = minimumChargeMinor(input.currency);
  const odd = due - toStripeStep(due, input.currency, 'down');
  // The minimum is a whole number of steps, so below it the whole amount is small anyway.
  if (odd === 0 || due < minimum) return planCollectible(input, due, minimum);
  return withOdd(planCollectible(input, due - odd, minimum), odd, input);
}

/** Adds the sub-step remainder `odd` to a plan made for `due - odd`: to the carry or the waiver, as the policy says. */
function withOdd(plan: SettlementPlan, odd: number, input: SettlementInput): SettlementPlan {
  if (odd === 0) return plan;
  const carry = input.smallAmount === 'carry' && input.canCarry;
  return { ...plan, dueMinor: plan.dueMinor + odd, ...(carry ? { carryMinor: plan.carryMinor + odd } : { waiveMinor: plan.waiveMinor + odd }) };
}

/** {@link planSettlement} for a `due` Stripe can collect whole (a multiple of the currency's step, or below the minimum). */
function planCollectible(input: SettlementInput, due: number, minimum: number): SettlementPlan {
  const carriedIn = input.carriedIn ?? { amountMinor: 0, sessionIds: [] };
  const base = {
    currency: input.currency,
    sessionTotalMinor: input.sessionTotalMinor,
    carriedInMinor: carriedIn.amountMinor,
    carriedInSessionIds: carriedIn.sessionIds,
    dueMinor: due,
    captureMinor: 0,
    cancelHold: false,
    chargeMinor: 0,
    waiveMinor: 0,
    carryMinor: 0,
    uncollectableMinor: 0,
  };
  const hold = input.hold;
  const holdUsable = hold?.status === 'usable';
  const small = (amount: number) =>
    input.smallAmount === 'carry' && input.canCarry ? { carryMinor: amount, waiveMinor: 0 } : { carryMinor: 0, waiveMinor: amount };

  // A retry after the capture happened (the plan was lost, or Stripe captured on an earlier attempt).
  if (hold?.status === 'captured') {
    const rest = due - hold.capturedMinor;
    return withRest({ ...base, captureMinor: 0 }, Math.max(rest, 0), 'top_up', input, minimum, small, hold.capturedMinor);
  }
  if (due === 0) return { ...base, cancelHold: holdUsable, outcome: 'nothing_due' };
  if (due < minimum) {
    const s = small(due);
    return { ...base, ...s, cancelHold: holdUsable, outcome: s.carryMinor > 0 ? 'carried_forward' : 'waived' };
  }
  if (holdUsable && due <= hold.capturableMinor) return { ...base, captureMinor: due, outcome: 'captured' };
  if (holdUsable) {
    if (hold.incrementable) return { ...base, incrementToMinor: due, captureMinor: due, outcome: 'captured' };
    return withRest({ ...base, captureMinor: hold.capturableMinor }, due - hold.capturableMinor, 'top_up', input, minimum, small, hold.capturableMinor);
  }
  // No usable hold: expired, cancelled, or never placed.
  return withRest({ ...base, cancelHold: false }, due, 'off_session_charge', input, minimum, small, 0);
}

/** The plan when the increment before capture was refused: capture the hold, charge or handle the rest. */
export function fallbackAfterRefusedIncrement(plan: SettlementPlan, input: SettlementInput): SettlementPlan {
  const hold = input.hold!;
  const { incrementToMinor: _dropped, reviewMinor: review = 0, ...rest } = plan;
  if (review > 0) {
    const within = fallbackAfterRefusedIncrement({ ...rest, dueMinor: plan.dueMinor - review }, input);
    return { ...within, dueMinor: plan.dueMinor, uncollectableMinor: within.uncollectableMinor + review, reviewMinor: review, outcome: 'collection_failed' };
  }
  const odd = plan.dueMinor - toStripeStep(plan.dueMinor, input.currency, 'down');
  const collectible = plan.dueMinor - odd;
  const fallback = withRest(
    { ...rest, dueMinor: collectible, captureMinor: hold.capturableMinor, chargeMinor: 0, waiveMinor: 0, carryMinor: 0, uncollectableMinor: 0 },
    collectible - hold.capturableMinor,
    'top_up',
    input,
    minimumChargeMinor(input.currency),
    (amount) => (input.smallAmount === 'carry' && input.canCarry ? { carryMinor: amount, waiveMinor: 0 } : { carryMinor: 0, waiveMinor: amount }),
    hold.capturableMinor,
  );
  return withOdd(fallback, odd, input);
}

/**
 * When the hold expired between planning and capturing: charge everything off-session instead.
 * The plan is re-made from the input alone; the parameter keeps the (plan, input) shape of
 * fallbackAfterRefusedIncrement, so the two fallbacks are called alike.
 */
export function fallbackAfterExpiredHold(_plan: SettlementPlan, input: SettlementInput): SettlementPlan {
  return planSettlement({ ...input, hold: input.hold ? { ...input.hold, status: 'expired', capturableMinor: 0 } : undefined });
}

function withRest(
  base: Omit<SettlementPlan, 'outcome'>,
  rest: number,
  purpose: 'top_up' | 'off_session_charge',
  input: SettlementInput,
  minimum: number,
  small: (amount: number) => { carryMinor: number; waiveMinor: number },
  taken: number,
): SettlementPlan {
  if (rest === 0) return { ...base, outcome: 'captured' };
  if (rest < minimum) {
    const s = small(rest);
    const outcome: SettlementOutcome = taken > 0 ? 'captured' : s.carryMinor > 0 ? 'carried_forward' : 'waived';
    return { ...base, ...s, outcome };
  }
  if (!input.canChargeOffSession) return { ...base, uncollectableMinor: rest, outcome: 'collection_failed' };
  return {
    ...base,
    chargeMinor: rest,
    chargePurpose: purpose,
    outcome: purpose === 'top_up' && taken > 0 ? 'captured_with_top_up' : 'charged_off_session',
  };
}
