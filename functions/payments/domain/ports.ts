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

// ---------------------------------------------------------------------------------------------
// What card payments read and write in other contexts, declared here as payments needs it (the
// methods it calls, the fields it reads). The composition root (functions/payments/deps.ts) passes
// the OCPP gateway's and the memberships' stores, which satisfy these structurally.
// ---------------------------------------------------------------------------------------------

/**
 * The OCPP sessions being paid for: a session and its meter samples. `Session` and `Sample` are the
 * records as the OCPP context stores them (payments hands them to pricing unchanged), so they are
 * parameters here rather than copies of that context's model.
 */
export interface SessionReader<Session, Sample> {
  getSession(transactionId: number): Promise<Session | undefined>;
  samples(transactionId: number): Promise<Sample[]>;
}

/** What payments reads of a charge point: its tariff (currency, hold estimate), site (policy) and maximum power. */
export interface ChargePointFacts {
  tariffId?: string;
  siteId?: string;
  maxPowerKw?: number;
}

/** The charge point registry: a charge point and a connector's status history (`Status`: the OCPP context's status record). */
export interface ChargePointReader<Status> {
  getChargePoint(chargePointId: string): Promise<ChargePointFacts | undefined>;
  statusTimeline(chargePointId: string, connectorId?: number, since?: string): Promise<Status[]>;
}

/** Stored tariffs: a version's JSON exactly as accepted, and the version current now. */
export interface TariffReader {
  get(tariffId: string, version?: number): Promise<{ tariffJson: string } | undefined>;
  currentVersion(tariffId: string): Promise<{ version: number } | undefined>;
}

/** What payments reads of an idTag's entitlement: the driver whose saved card pays for its sessions. */
export interface EntitlementReader {
  get(idTag: string): Promise<{ driverId?: string } | undefined>;
}

/** The entitlement a card approved at a reader grants its one-off idTag until the authorization's window closes. */
export interface CardEntitlementGrant {
  idTag: string;
  status: 'Accepted';
  expiryDate: string;
  billing: { kind: 'retail'; channel: 'card' };
  updatedAt: string;
}

export interface EntitlementWriter {
  put(record: CardEntitlementGrant): Promise<void>;
}

/** What payments reads of a driver: the Stripe customer and saved card an off-session hold is placed on. */
export interface DriverPaymentFacts {
  stripeCustomerId?: string;
  defaultPaymentMethodId?: string;
}

export interface DriverReader {
  getDriver(driverId: string): Promise<DriverPaymentFacts | undefined>;
}
