import type { OutgoingEvent } from '../../../events/contract.ts';
import type { HoldFailureReason } from '../../../events/payment-events.ts';
import type { PaymentTariff } from './amounts.ts';
import type { CarryItem, ReaderAuthorization, ReaderRecord, SessionPayment } from './model.ts';
import type { PaymentPolicy, PolicyScope } from './policy.ts';

// ---------------------------------------------------------------------------------------------
// What card payments own: the Payments table (functions/payments/adapters/dynamo-payments.ts).
// ---------------------------------------------------------------------------------------------

/** Sessions' payment records, small amounts carried between sessions, and payment policies. */
export interface PaymentStore {
  get(sessionId: string): Promise<SessionPayment | undefined>;
  /** Creates the record; false when one exists already. */
  create(record: SessionPayment): Promise<boolean>;
  /**
   * Read-modify-write with optimistic concurrency (`version`), retried on a lost race. `change`
   * returns the new record, or undefined to leave it as it is (the current record is returned then).
   * Resolves undefined when there is no record.
   */
  update(sessionId: string, change: (current: SessionPayment) => SessionPayment | undefined): Promise<SessionPayment | undefined>;
  /** Carried amounts of a payer in a currency not yet consumed, plus those `sessionId` consumed already. */
  carried(key: string, currency: string, sessionId: string): Promise<CarryItem[]>;
  /** Claims a carried amount for `sessionId`; false when another session took it first. */
  claimCarried(key: string, item: CarryItem, sessionId: string): Promise<boolean>;
  /** Records a small amount to carry to the payer's next session (idempotent per source session). */
  carry(key: string, item: Omit<CarryItem, 'consumedBy'>, at: string): Promise<void>;
  getPolicy(scope: PolicyScope, id: string): Promise<PaymentPolicy | undefined>;
}

/** Card readers and the card authorizations waiting at them for a session. */
export interface ReaderStore {
  getReader(readerId: string): Promise<ReaderRecord | undefined>;
  putReader(reader: ReaderRecord): Promise<void>;
  listReaders(): Promise<ReaderRecord[]>;
  /** Stores an authorization; idempotent per PaymentIntent. */
  putReaderAuthorization(auth: ReaderAuthorization): Promise<ReaderAuthorization>;
  /** Authorizations on a connector, newest first. */
  readerAuthorizations(chargePointId: string, connectorId: number): Promise<ReaderAuthorization[]>;
  /** Matches an authorization to a session; false when another session (or a cancel) took it. */
  claimReaderAuthorization(auth: ReaderAuthorization, sessionId: string): Promise<boolean>;
  /** Closes an unmatched authorization to sessions; false when a session claimed it first. It stays pending until released. */
  cancelReaderAuthorization(auth: ReaderAuthorization, at: string): Promise<boolean>;
  /** The hold of a cancelled authorization was released at the provider: no longer pending. */
  markReaderAuthorizationReleased(auth: ReaderAuthorization, at: string): Promise<void>;
  recordRemoteStart(auth: ReaderAuthorization, remoteStart: NonNullable<ReaderAuthorization['remoteStart']>): Promise<void>;
  /** Unmatched authorizations (cancelled but not released included) whose window closed before `before`. */
  expiredReaderAuthorizations(before: string): Promise<ReaderAuthorization[]>;
}

/** The event bus: payment events out. Throws when any event is not accepted. */
export interface EventPublisher {
  publish(events: OutgoingEvent[]): Promise<void>;
}

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
// implementations that satisfy these structurally.
// ---------------------------------------------------------------------------------------------

/** A tariff version as a session or charge point refers to it. */
export interface TariffVersionRef {
  tariffId: string;
  version: number;
}

/** What payments reads of a charging session (the OCPP context's session record has these fields and more). */
export interface PaymentSession {
  transactionId: number;
  chargePointId: string;
  connectorId: number;
  /** `started` while charging; `stopped` / `completed` after. */
  state: string;
  startedAt: string;
  meterStartWh: number;
  meterStopWh?: number;
  stoppedAt?: string;
  tariff: TariffVersionRef | null;
}

/** A meter sample as stored: its timestamp and OCPP SampledValues (`value`, `measurand`, `unit`, `phase`, ...). */
export interface MeterReading {
  timestamp: string;
  sampledValue: ReadonlyArray<Readonly<Record<string, string>>>;
}

/**
 * The sessions being paid for: a session and its meter samples. `Session` and `Sample` are the
 * records as the OCPP context stores them, passed on whole to the {@link SessionCostEstimator}, so
 * they are parameters here, constrained to what payments itself reads.
 */
export interface SessionReader<Session extends PaymentSession = PaymentSession, Sample extends MeterReading = MeterReading> {
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

/**
 * Reads a stored tariff's JSON under pricing's rules. `Tariff` is pricing's parsed tariff, which
 * has the fields payments reads and more; payments hands it whole to the {@link SessionCostEstimator}.
 */
export interface TariffParser<Tariff extends PaymentTariff = PaymentTariff> {
  /** @throws ValidationError when the JSON is not a valid tariff. */
  parse(tariffJson: string): Tariff;
}

/**
 * The exact price of a session so far, by pricing's rules: the running cost that decides when a
 * hold is raised. `session` arrives as if it had stopped at the latest register reading, and
 * `completedAt` is that reading's time.
 */
export interface SessionCostEstimator<Session extends PaymentSession = PaymentSession, Sample extends MeterReading = MeterReading, Status = unknown, Tariff extends PaymentTariff = PaymentTariff> {
  /** The total incl. VAT in integer minor units of the tariff's currency. @throws ValidationError when the session's billing profile is invalid. */
  costSoFar(input: { session: Session; samples: Sample[]; statusTimeline: Status[]; tariff: Tariff; completedAt: string; maxPowerKw?: number }): Promise<number>;
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
