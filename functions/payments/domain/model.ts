import type { HoldFailureReason, PaymentChannel, SettlementOutcome } from '../../../events/payment-events.ts';
import type { HoldEstimate } from './amounts.ts';
import type { PaymentPolicy } from './policy.ts';
import type { SettlementInput, SettlementPlan } from './settlement.ts';

export type PaymentStatus = 'authorizing' | 'held' | 'hold_failed' | 'settling' | 'settled';

/** The hold placed for a session (a manual-capture PaymentIntent). */
export interface Hold {
  paymentIntentId: string;
  /** Authorized now (after increments). */
  amountMinor: number;
  captureBefore?: string;
  incrementable: boolean;
  estimate?: HoldEstimate;
  placedAt: string;
}

export interface HoldFailure {
  reason: HoldFailureReason;
  code?: string;
  declineCode?: string;
  message: string;
  paymentIntentId?: string;
  failedAt: string;
  stopRequested: boolean;
}

/** What a settlement's steps did, recorded as they happen so a retry resumes instead of repeating. */
export interface SettlementProgress {
  plan: SettlementPlan;
  /** What the plan was made from (the hold as Stripe reported it, carried amounts); fallbacks replan from it. */
  input: SettlementInput;
  plannedAt: string;
  incremented?: 'ok' | 'refused';
  capturedMinor?: number;
  canceled?: boolean;
  charge?: { paymentIntentId?: string; amountMinor: number; status: 'succeeded' | 'failed'; code?: string; declineCode?: string; message?: string };
  outcome?: SettlementRecord;
}

/** The one recorded outcome (the data of SessionPaymentSettled). */
export interface SettlementRecord {
  outcome: SettlementOutcome;
  currency: string;
  sessionTotalMinor: number;
  carriedInMinor: number;
  carriedInSessionIds: string[];
  dueMinor: number;
  holdMinor: number;
  capturedMinor: number;
  topUpMinor: number;
  waivedMinor: number;
  carriedOutMinor: number;
  outstandingMinor: number;
  holdPaymentIntentId?: string;
  chargePaymentIntentId?: string;
  failure?: { code?: string; declineCode?: string; message: string };
  /** Held for review: the part of `outstandingMinor` above the payment policy's maximum, not taken (docs/payments.md). */
  review?: { amountMinor: number; limitMinor: number; reason: string };
  settledAt: string;
}

export interface RefundRecord {
  refundId: string;
  paymentIntentId: string;
  amountMinor: number;
  status: string;
  reason?: string;
  note?: string;
  createdAt: string;
}

/**
 * An admin refund request as planned before any money moved, by its request key (the
 * `Idempotency-Key` header): which PaymentIntents give back how much. A retry of the request
 * executes this plan again with the same Stripe idempotency keys instead of planning anew from
 * what is left by then.
 */
export interface RefundRequest {
  amountMinor: number;
  parts: Array<{ paymentIntentId: string; amountMinor: number }>;
  reason?: string;
  note?: string;
  requestedAt: string;
}

/**
 * A session's payment: who pays, the hold, what the running cost did to it, and the settlement.
 * One per session; every change is a conditional write on `version`.
 */
export interface SessionPayment {
  sessionId: string;
  transactionId: number;
  chargePointId: string;
  connectorId: number;
  idTag: string;
  siteId?: string;
  driverId?: string;
  channel: PaymentChannel;
  provider: 'stripe';
  currency: string;
  customerId?: string;
  paymentMethodId?: string;
  readerId?: string;
  policy: PaymentPolicy;
  status: PaymentStatus;
  hold?: Hold;
  holdFailure?: HoldFailure;
  running?: { costMinor: number; at: string };
  /** Each raise of the hold; `runningCostMinor` is what the running cost was when it was asked for. */
  increments: Array<{ fromMinor: number; toMinor: number; at: string; runningCostMinor?: number }>;
  incrementRefused?: { reason: HoldFailureReason; message: string; action: 'stop' | 'continue'; stopRequested: boolean; at: string };
  settlement?: SettlementProgress;
  refunds: Record<string, RefundRecord>;
  /** Admin refund requests by request key, planned once (see RefundRequest). */
  refundRequests?: Record<string, RefundRequest>;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** One small amount carried from a session to the payer's next one. */
export interface CarryItem {
  fromSessionId: string;
  currency: string;
  amountMinor: number;
  /** The session that took it into its settlement. */
  consumedBy?: string;
}

/** Small amounts carried to a driver's next session, per currency. */
export interface CarryBalance {
  key: string;
  currency: string;
  amountMinor: number;
  sessionIds: string[];
  version: number;
}

/** A Stripe Terminal reader attached to a connector. */
export interface ReaderRecord {
  readerId: string;
  chargePointId: string;
  connectorId: number;
  label?: string;
  /**
   * Re-arm by itself (default true): when registered, after a refused card, after an unclaimed
   * authorization was released, and after the session it paid for was settled, so the next driver
   * finds it ready without an operator.
   */
  autoArm?: boolean;
  /** The PaymentIntent the reader is collecting now (process_payment_intent sent). */
  armed?: { paymentIntentId: string; amountMinor: number; currency: string; armedAt: string };
  lastAction?: { status: 'succeeded' | 'failed'; paymentIntentId?: string; failureCode?: string; failureMessage?: string; at: string };
  updatedAt: string;
}

/** A card authorized at a reader, waiting for a session to start on the reader's connector. */
export interface ReaderAuthorization {
  paymentIntentId: string;
  readerId: string;
  chargePointId: string;
  connectorId: number;
  /** The idTag RemoteStartTransaction starts the session with (and Authorize accepts until `expiresAt`). */
  idTag: string;
  amountMinor: number;
  currency: string;
  captureBefore?: string;
  incrementable: boolean;
  authorizedAt: string;
  expiresAt: string;
  claimedBySessionId?: string;
  canceledAt?: string;
  /** The hold of a cancelled authorization was released at Stripe. */
  releasedAt?: string;
  remoteStart?: { messageId?: string; error?: string };
}
