import type { OutgoingEvent } from '../../../../events/contract.ts';
import type { HoldFailureReason } from '../../../../events/payment-events.ts';
import type { PaymentTariff } from '../../../../functions/payments/domain/amounts.ts';
import type { CarryItem, ReaderAuthorization, ReaderRecord, SessionPayment } from '../../../../functions/payments/domain/model.ts';
import type { PaymentPolicy, PolicyScope } from '../../../../functions/payments/domain/policy.ts';
import type {
  CardEntitlementGrant,
  ChargeAttempt,
  ChargePointFacts,
  ChargePointReader,
  DriverPaymentFacts,
  DriverReader,
  EntitlementReader,
  EntitlementWriter,
  EventPublisher,
  HoldAttempt,
  HoldSnapshot,
  MeterReading,
  OffSessionPayment,
  PaymentGateway,
  PaymentSession,
  PaymentStore,
  ReaderStore,
  SessionCostEstimator,
  SessionReader,
  SessionStopper,
  TariffParser,
  TariffReader,
} from '../../../../functions/payments/domain/ports.ts';
import { fixedClock } from '../../../../functions/shared/clock.ts';

/**
 * In-memory implementations of card payments' ports (functions/payments/domain/ports.ts): no
 * DynamoDB, no Stripe. Records are copied in and out, as a table would, so a test sees only what
 * was written.
 */

const copy = <T>(value: T): T => structuredClone(value);

export class InMemoryPaymentStore implements PaymentStore, ReaderStore {
  readonly payments = new Map<string, SessionPayment>();
  readonly carries = new Map<string, CarryItem>();
  readonly policies = new Map<string, PaymentPolicy>();
  readonly readers = new Map<string, ReaderRecord>();
  readonly authorizations = new Map<string, ReaderAuthorization & { released?: boolean }>();
  /** Writes to payment records (create and each saved update). */
  writes = 0;

  async get(sessionId: string) {
    const found = this.payments.get(sessionId);
    return found ? copy(found) : undefined;
  }

  async create(record: SessionPayment) {
    if (this.payments.has(record.sessionId)) return false;
    this.payments.set(record.sessionId, copy(record));
    this.writes += 1;
    return true;
  }

  async update(sessionId: string, change: (current: SessionPayment) => SessionPayment | undefined) {
    const current = await this.get(sessionId);
    if (!current) return undefined;
    const next = change(current);
    if (!next) return current;
    const saved = { ...next, version: current.version + 1 };
    this.payments.set(sessionId, copy(saved));
    this.writes += 1;
    return copy(saved);
  }

  async carried(key: string, currency: string, sessionId: string) {
    return [...this.carries.entries()]
      .filter(([k, item]) => k.startsWith(`${key}#${currency}#`) && (!item.consumedBy || item.consumedBy === sessionId) && item.fromSessionId !== sessionId)
      .map(([, item]) => copy(item));
  }

  async claimCarried(key: string, item: CarryItem, sessionId: string) {
    const stored = this.carries.get(`${key}#${item.currency}#${item.fromSessionId}`);
    if (!stored || (stored.consumedBy && stored.consumedBy !== sessionId)) return false;
    stored.consumedBy = sessionId;
    return true;
  }

  async carry(key: string, item: Omit<CarryItem, 'consumedBy'>) {
    const k = `${key}#${item.currency}#${item.fromSessionId}`;
    if (!this.carries.has(k)) this.carries.set(k, copy(item));
  }

  setPolicy(scope: PolicyScope, id: string, policy: PaymentPolicy) {
    this.policies.set(`${scope}#${id}`, policy);
  }

  async getPolicy(scope: PolicyScope, id: string) {
    const found = this.policies.get(`${scope}#${id}`);
    return found ? copy(found) : undefined;
  }

  async getReader(readerId: string) {
    const found = this.readers.get(readerId);
    return found ? copy(found) : undefined;
  }

  async putReader(reader: ReaderRecord) {
    // Through JSON, as a table would store it: a field set to undefined is gone.
    this.readers.set(reader.readerId, JSON.parse(JSON.stringify(reader)) as ReaderRecord);
  }

  async listReaders() {
    return [...this.readers.values()].map(copy);
  }

  async putReaderAuthorization(auth: ReaderAuthorization) {
    if (!this.authorizations.has(auth.paymentIntentId)) this.authorizations.set(auth.paymentIntentId, copy(auth));
    return auth;
  }

  async readerAuthorizations(chargePointId: string, connectorId: number) {
    return [...this.authorizations.values()]
      .filter((a) => a.chargePointId === chargePointId && a.connectorId === connectorId)
      .sort((a, b) => b.authorizedAt.localeCompare(a.authorizedAt))
      .map(({ released: _released, ...a }) => copy(a));
  }

  async claimReaderAuthorization(auth: ReaderAuthorization, sessionId: string) {
    const stored = this.authorizations.get(auth.paymentIntentId);
    if (!stored || stored.canceledAt || (stored.claimedBySessionId && stored.claimedBySessionId !== sessionId)) return false;
    stored.claimedBySessionId = sessionId;
    return true;
  }

  async cancelReaderAuthorization(auth: ReaderAuthorization, at: string) {
    const stored = this.authorizations.get(auth.paymentIntentId);
    if (!stored || stored.claimedBySessionId) return false;
    stored.canceledAt ??= at;
    return true;
  }

  async markReaderAuthorizationReleased(auth: ReaderAuthorization, at: string) {
    const stored = this.authorizations.get(auth.paymentIntentId);
    if (!stored?.canceledAt) throw new Error('not cancelled');
    stored.releasedAt ??= at;
    stored.released = true;
  }

  async recordRemoteStart(auth: ReaderAuthorization, remoteStart: NonNullable<ReaderAuthorization['remoteStart']>) {
    const stored = this.authorizations.get(auth.paymentIntentId);
    if (stored) stored.remoteStart = copy(remoteStart);
  }

  async expiredReaderAuthorizations(before: string) {
    return [...this.authorizations.values()].filter((a) => !a.claimedBySessionId && !a.released && a.expiresAt < before).map(({ released: _released, ...a }) => copy(a));
  }
}

interface FakeIntent {
  id: string;
  kind: 'hold' | 'charge' | 'reader';
  amountMinor: number;
  capturedMinor: number;
  currency: string;
  status: HoldSnapshot['status'];
  incrementable: boolean;
  metadata: Record<string, string>;
}

/**
 * The card provider as a script: holds succeed unless `nextHold` says otherwise, increments unless
 * `incrementRefusal` is set, charges unless `chargeDecline` is set. Every call with an
 * idempotency key is answered once and replayed after, as Stripe does.
 */
export class FakeGateway implements PaymentGateway {
  readonly intents = new Map<string, FakeIntent>();
  readonly refunds = new Map<string, { refundId: string; paymentIntentId: string; sessionId?: string; amountMinor: number; status: string; reason?: string; createdAt: string }>();
  readonly calls: Array<{ method: string; key?: string; paymentIntentId?: string; amountMinor?: number }> = [];
  readonly knownReaders = new Set<string>();
  private readonly answers = new Map<string, unknown>();
  private sequence = 0;
  /** The next hold's answer: placed (incrementable or not) or refused with a reason. */
  nextHold: { incrementable: boolean } | { refuse: HoldFailureReason; code?: string; declineCode?: string } = { incrementable: true };
  incrementRefusal: { reason: HoldFailureReason; message: string } | undefined;
  chargeDecline: { code: string; declineCode?: string; message: string } | undefined;
  createdAt = '2026-11-23T12:00:00.000Z';

  private once<T>(key: string, answer: () => T): T {
    if (!this.answers.has(key)) this.answers.set(key, answer());
    return copy(this.answers.get(key) as T);
  }

  private newIntent(kind: FakeIntent['kind'], amountMinor: number, currency: string, metadata: Record<string, string>, incrementable: boolean): FakeIntent {
    this.sequence += 1;
    const intent: FakeIntent = { id: `pi_${kind}_${this.sequence}`, kind, amountMinor, capturedMinor: 0, currency, status: 'usable', incrementable, metadata };
    this.intents.set(intent.id, intent);
    return intent;
  }

  intent(id: string): FakeIntent {
    const found = this.intents.get(id);
    if (!found) throw new Error(`no PaymentIntent ${id}`);
    return found;
  }

  callsTo(method: string) {
    return this.calls.filter((c) => c.method === method);
  }

  async createHold(input: OffSessionPayment): Promise<HoldAttempt> {
    this.calls.push({ method: 'createHold', key: input.idempotencyKey, amountMinor: input.amountMinor });
    return this.once(input.idempotencyKey, (): HoldAttempt => {
      const script = this.nextHold;
      if ('refuse' in script) {
        return { ok: false, reason: script.refuse, ...(script.code ? { code: script.code } : {}), ...(script.declineCode ? { declineCode: script.declineCode } : {}), message: `hold refused: ${script.refuse}` };
      }
      const intent = this.newIntent('hold', input.amountMinor, input.currency, input.metadata, script.incrementable);
      return { ok: true, paymentIntentId: intent.id, amountMinor: intent.amountMinor, captureBefore: '2026-11-30T12:00:00.000Z', incrementable: intent.incrementable };
    });
  }

  async getHold(paymentIntentId: string): Promise<HoldSnapshot> {
    const i = this.intent(paymentIntentId);
    return {
      paymentIntentId: i.id,
      status: i.status,
      amountMinor: i.amountMinor,
      capturableMinor: i.status === 'usable' ? i.amountMinor : 0,
      capturedMinor: i.capturedMinor,
      currency: i.currency,
      incrementable: i.incrementable,
      metadata: copy(i.metadata),
    };
  }

  async incrementHold(paymentIntentId: string, toMinor: number, _currency: string, idempotencyKey: string) {
    this.calls.push({ method: 'incrementHold', key: idempotencyKey, paymentIntentId, amountMinor: toMinor });
    return this.once(idempotencyKey, () => {
      if (this.incrementRefusal) return { ok: false as const, ...this.incrementRefusal };
      this.intent(paymentIntentId).amountMinor = toMinor;
      return { ok: true as const, amountMinor: toMinor };
    });
  }

  async capture(paymentIntentId: string, amountMinor: number, _currency: string, idempotencyKey: string) {
    this.calls.push({ method: 'capture', key: idempotencyKey, paymentIntentId, amountMinor });
    return this.once(idempotencyKey, () => {
      const i = this.intent(paymentIntentId);
      if (i.status !== 'usable') return { ok: false as const, expired: true as const, message: `PaymentIntent ${i.id} is ${i.status}` };
      i.status = 'captured';
      i.capturedMinor = amountMinor;
      return { ok: true as const, capturedMinor: amountMinor };
    });
  }

  async cancel(paymentIntentId: string, idempotencyKey: string) {
    this.calls.push({ method: 'cancel', key: idempotencyKey, paymentIntentId });
    this.once(idempotencyKey, () => {
      this.intent(paymentIntentId).status = 'canceled';
      return true;
    });
  }

  async chargeOffSession(input: OffSessionPayment): Promise<ChargeAttempt> {
    this.calls.push({ method: 'chargeOffSession', key: input.idempotencyKey, amountMinor: input.amountMinor });
    return this.once(input.idempotencyKey, (): ChargeAttempt => {
      const intent = this.newIntent('charge', input.amountMinor, input.currency, input.metadata, false);
      if (this.chargeDecline) {
        intent.status = 'not_authorized';
        return { ok: false, paymentIntentId: intent.id, ...this.chargeDecline };
      }
      intent.status = 'captured';
      intent.capturedMinor = input.amountMinor;
      return { ok: true, paymentIntentId: intent.id, amountMinor: input.amountMinor };
    });
  }

  async refund(input: Parameters<PaymentGateway['refund']>[0]) {
    this.calls.push({ method: 'refund', key: input.idempotencyKey, paymentIntentId: input.paymentIntentId, amountMinor: input.amountMinor });
    return this.once(input.idempotencyKey, () => {
      const refundId = `re_${this.refunds.size + 1}`;
      const refund = { refundId, paymentIntentId: input.paymentIntentId, amountMinor: input.amountMinor, status: 'pending', createdAt: this.createdAt, ...(input.metadata.sessionId ? { sessionId: input.metadata.sessionId } : {}), ...(input.reason ? { reason: input.reason } : {}) };
      this.refunds.set(refundId, refund);
      return { refundId, status: refund.status, amountMinor: refund.amountMinor, createdAt: refund.createdAt };
    });
  }

  async getRefund(refundId: string) {
    const found = this.refunds.get(refundId);
    if (!found) throw new Error(`no refund ${refundId}`);
    return copy(found);
  }

  async armReader(input: Parameters<PaymentGateway['armReader']>[0]) {
    this.calls.push({ method: 'armReader', key: input.idempotencyKey, amountMinor: input.amountMinor });
    return this.once(input.idempotencyKey, () => ({ paymentIntentId: this.newIntent('reader', input.amountMinor, input.currency, input.metadata, true).id }));
  }

  async readerExists(readerId: string) {
    return this.knownReaders.has(readerId);
  }
}

/** A session as the OCPP context would report it, with the fields payments reads. */
export interface FakeSession extends PaymentSession {
  sessionId: string;
  idTag: string;
  billingProfile: Record<string, unknown> | null;
}

export class InMemorySessions implements SessionReader<FakeSession, MeterReading> {
  readonly sessions = new Map<number, FakeSession>();
  readonly readings = new Map<number, MeterReading[]>();
  async getSession(transactionId: number) {
    const found = this.sessions.get(transactionId);
    return found ? copy(found) : undefined;
  }
  async samples(transactionId: number) {
    return copy(this.readings.get(transactionId) ?? []);
  }
  /** Adds an energy register reading in Wh. */
  meter(transactionId: number, timestamp: string, wh: number) {
    const list = this.readings.get(transactionId) ?? [];
    list.push({ timestamp, sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] });
    this.readings.set(transactionId, list);
  }
}

export class InMemoryRegistry implements ChargePointReader<never> {
  readonly chargePoints = new Map<string, ChargePointFacts>();
  async getChargePoint(chargePointId: string) {
    return this.chargePoints.get(chargePointId);
  }
  async statusTimeline() {
    return [];
  }
}

export class InMemoryTariffs implements TariffReader {
  readonly versions = new Map<string, string>();
  put(tariffId: string, version: number, tariff: PaymentTariff) {
    this.versions.set(`${tariffId}#${version}`, JSON.stringify(tariff));
  }
  async get(tariffId: string, version?: number) {
    const v = version ?? (await this.currentVersion(tariffId))?.version;
    const json = this.versions.get(`${tariffId}#${v}`);
    return json ? { tariffJson: json } : undefined;
  }
  async currentVersion(tariffId: string) {
    const versions = [...this.versions.keys()].filter((k) => k.startsWith(`${tariffId}#`)).map((k) => Number(k.split('#')[1]));
    return versions.length ? { version: Math.max(...versions) } : undefined;
  }
}

/** Reads the stored JSON as it is (the tests store only valid tariffs). */
export const plainTariffParser: TariffParser = { parse: (json) => JSON.parse(json) as PaymentTariff };

/**
 * A running cost of `minorPerKwh` per kWh charged, rounded up to the minor unit, in integers:
 * enough to drive the hold rules without pricing's engine. Records what it was asked.
 */
export class PerKwhCostEstimator implements SessionCostEstimator<FakeSession, MeterReading, never> {
  readonly asked: Array<{ meterStopWh?: number; stoppedAt?: string; completedAt: string }> = [];
  constructor(public minorPerKwh: number) {}
  async costSoFar(input: { session: FakeSession; completedAt: string }) {
    this.asked.push({ ...(input.session.meterStopWh !== undefined ? { meterStopWh: input.session.meterStopWh } : {}), ...(input.session.stoppedAt ? { stoppedAt: input.session.stoppedAt } : {}), completedAt: input.completedAt });
    const wh = (input.session.meterStopWh ?? input.session.meterStartWh) - input.session.meterStartWh;
    return Math.ceil((wh * this.minorPerKwh) / 1000);
  }
}

export class InMemoryEntitlements implements EntitlementReader, EntitlementWriter {
  readonly drivers = new Map<string, string>();
  readonly grants: CardEntitlementGrant[] = [];
  async get(idTag: string) {
    const driverId = this.drivers.get(idTag);
    return driverId ? { driverId } : undefined;
  }
  async put(record: CardEntitlementGrant) {
    this.grants.push(copy(record));
  }
}

export class InMemoryDrivers implements DriverReader {
  readonly drivers = new Map<string, DriverPaymentFacts>();
  async getDriver(driverId: string) {
    return this.drivers.get(driverId);
  }
}

export class RecordingStopper implements SessionStopper {
  readonly stops: Array<{ chargePointId: string; transactionId: number }> = [];
  readonly starts: Array<{ chargePointId: string; connectorId: number; idTag: string }> = [];
  offline = false;
  async stop(chargePointId: string, transactionId: number) {
    this.stops.push({ chargePointId, transactionId });
    return this.offline ? { sent: false, error: 'charge point offline' } : { sent: true, messageId: `stop-${this.stops.length}` };
  }
  async start(chargePointId: string, connectorId: number, idTag: string) {
    this.starts.push({ chargePointId, connectorId, idTag });
    return this.offline ? { sent: false, error: 'charge point offline' } : { sent: true, messageId: `start-${this.starts.length}` };
  }
}

export class RecordingPublisher implements EventPublisher {
  readonly published: OutgoingEvent[] = [];
  async publish(events: OutgoingEvent[]) {
    this.published.push(...events);
  }
  /** The data of each published event of a type, in order. */
  of(detailType: string): Array<Record<string, unknown>> {
    return this.published.filter((e) => e.contract.detailType === detailType).map((e) => e.detail.data as Record<string, unknown>);
  }
  ids(): string[] {
    return this.published.map((e) => e.detail.metadata.id);
  }
}

export const testClock = () => fixedClock('2026-11-23T12:00:00.000Z');
