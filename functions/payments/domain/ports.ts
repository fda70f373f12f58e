import type { HoldFailureReason } from '../../../events/payment-events.ts';

/**
 * The card provider (Stripe) as the payment flows need it. Transient failures throw; card outcomes
 * are answers. Amounts are the product's minor units (ISO 4217, functions/shared/money.ts) both
 * ways; the adapter converts to and from the provider's own integers, so every amount passed
 * comes with its currency.
 */
export interface PaymentGateway {
  /** A manual-capture authorization on the saved card (incremental authorization requested where available). */
  createHold(input: OffSessionPayment): Promise<HoldAttempt>;
  getHold(paymentIntentId: string): Promise<HoldSnapshot>;
  incrementHold(paymentIntentId: string, toMinor: number, currency: string, idempotencyKey: string): Promise<{ ok: true; amountMinor: number } | { ok: false; reason: HoldFailureReason; code?: string; declineCode?: string; message: string }>;
  capture(paymentIntentId: string, amountMinor: number, currency: string, idempotencyKey: string): Promise<{ ok: true; capturedMinor: number } | { ok: false; expired: true; message: string }>;
  cancel(paymentIntentId: string, idempotencyKey: string): Promise<void>;
  /** An immediate charge on the saved card (a top-up, or the whole amount when the hold is gone). */
  chargeOffSession(input: OffSessionPayment): Promise<ChargeAttempt>;
  refund(input: { paymentIntentId: string; amountMinor: number; currency: string; reason?: 'duplicate' | 'fraudulent' | 'requested_by_customer'; metadata: Record<string, string>; idempotencyKey: string }): Promise<{ refundId: string; status: string; amountMinor: number; createdAt: string }>;
  /** A refund as Stripe has it now, with the session of its PaymentIntent (metadata.sessionId). */
  getRefund(refundId: string): Promise<{ refundId: string; paymentIntentId?: string; sessionId?: string; amountMinor: number; status: string; reason?: string; createdAt: string }>;
  /** Creates a card_present manual-capture PaymentIntent and asks the reader to collect it. */
  armReader(input: { readerId: string; amountMinor: number; currency: string; description: string; metadata: Record<string, string>; idempotencyKey: string }): Promise<{ paymentIntentId: string }>;
  readerExists(readerId: string): Promise<boolean>;
}

/** A payment on a driver's saved card without the driver present. */
export interface OffSessionPayment {
  idempotencyKey: string;
  amountMinor: number;
  currency: string;
  customerId: string;
  paymentMethodId: string;
  description: string;
  metadata: Record<string, string>;
}

export type HoldAttempt =
  | { ok: true; paymentIntentId: string; amountMinor: number; captureBefore?: string; incrementable: boolean }
  | { ok: false; reason: HoldFailureReason; code?: string; declineCode?: string; message: string; paymentIntentId?: string };

export type ChargeAttempt =
  | { ok: true; paymentIntentId: string; amountMinor: number }
  | { ok: false; code?: string; declineCode?: string; message: string; paymentIntentId?: string };

/** A PaymentIntent as settlement sees it. */
export interface HoldSnapshot {
  paymentIntentId: string;
  status: 'usable' | 'expired' | 'canceled' | 'captured' | 'not_authorized';
  amountMinor: number;
  capturableMinor: number;
  capturedMinor: number;
  currency: string;
  captureBefore?: string;
  incrementable: boolean;
  metadata: Record<string, string>;
}

/** Stops a running session at its charge point (RemoteStopTransaction through the command path). */
export interface SessionStopper {
  /** Resolves true when the call went out; false when the charge point is offline (recorded, not thrown). */
  stop(chargePointId: string, transactionId: number): Promise<{ sent: boolean; messageId?: string; error?: string }>;
  /** Starts a session for a reader payment (RemoteStartTransaction). */
  start(chargePointId: string, connectorId: number, idTag: string): Promise<{ sent: boolean; messageId?: string; error?: string }>;
}
