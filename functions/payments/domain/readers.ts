import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Log } from '../../shared/log.ts';
import { holdAmount } from './amounts.ts';
import type { Payments } from './card-payments.ts';
import type { ReaderAuthorization, ReaderRecord } from './model.ts';
import type { ChargePointReader, EntitlementWriter, PaymentGateway, ReaderStore, SessionStopper, TariffParser, TariffReader } from './ports.ts';

export interface ReaderDeps {
  store: ReaderStore;
  gateway: PaymentGateway;
  stopper: SessionStopper;
  payments: Pick<Payments, 'policyFor'>;
  registry: Pick<ChargePointReader<unknown>, 'getChargePoint'>;
  tariffs: TariffReader;
  tariffParser: TariffParser;
  entitlements: EntitlementWriter;
  clock: Clock;
  log: Log;
}

/** A reader's action succeeded (a card approved): the PaymentIntent it processed, if it was one, and when. */
export interface ReaderApproval {
  readerId: string;
  paymentIntentId?: string;
  occurredAt: string;
}

/** A reader's action failed (a card refused); `eventId` (the provider's event) keys the release and re-arm, so a redelivery repeats nothing. */
export interface ReaderRefusal {
  eventId: string;
  readerId: string;
  paymentIntentId?: string;
  failureCode?: string;
  failureMessage?: string;
  occurredAt: string;
}

/** The idTag a reader payment starts its session with: `CARD-` and 15 characters derived from the PaymentIntent (OCPP CiString20). */
export function readerIdTag(paymentIntentId: string): string {
  return `CARD-${createHash('sha256').update(paymentIntentId).digest('hex').slice(0, 15).toUpperCase()}`;
}

/**
 * Card readers on chargers (Stripe Terminal, server-driven): a reader belongs to one connector;
 * arming it creates a card_present manual-capture PaymentIntent for the connector's hold and asks
 * the reader to collect it. When the card is approved (terminal.reader.action_succeeded) the
 * authorization waits for a session on that connector for the policy's window: VoltLedger sends
 * RemoteStartTransaction with an idTag accepted only for this payment until the window closes, and
 * any session starting on the connector within the window is matched to it. An authorization no
 * session claims is cancelled (the hold released) by the sweep.
 */
export function createReaders(deps: ReaderDeps) {
  const { store, gateway, clock, log } = deps;
  const now = () => clock.now().toISOString();

  async function register(input: { readerId: string; chargePointId: string; connectorId: number; label?: string; autoArm?: boolean }): Promise<ReaderRecord> {
    if (!(await deps.registry.getChargePoint(input.chargePointId))) throw new ValidationError(`charge point ${input.chargePointId} does not exist`, 'chargePointId');
    if (!(await gateway.readerExists(input.readerId))) throw new NotFoundError(`Stripe has no Terminal reader ${input.readerId}`);
    const existing = await store.getReader(input.readerId);
    const reader: ReaderRecord = { ...existing, ...input, autoArm: input.autoArm ?? existing?.autoArm ?? true, updatedAt: now() };
    await store.putReader(reader);
    if (reader.autoArm && !reader.armed) return (await rearm(reader.readerId, `registered:${reader.chargePointId}:${reader.connectorId}:${reader.updatedAt}`)) ?? reader;
    return reader;
  }

  /**
   * Arms the reader again when it re-arms by itself; a failure (reader offline, no tariff) is
   * logged and leaves it for an operator or the next trigger. `trigger` makes the request idempotent.
   */
  async function rearm(readerId: string, trigger: string): Promise<ReaderRecord | undefined> {
    const reader = await store.getReader(readerId);
    if (!reader || reader.autoArm === false) return undefined;
    try {
      return await arm(readerId, `auto:${trigger}`);
    } catch (error) {
      log.warn('reader could not be re-armed', { readerId, trigger, error: String(error) });
      return undefined;
    }
  }

  /** Asks the reader to collect a card for its connector's hold. */
  async function arm(readerId: string, requestKey: string): Promise<ReaderRecord> {
    const reader = await store.getReader(readerId);
    if (!reader) throw new NotFoundError(`reader ${readerId} is not registered`);
    const chargePoint = await deps.registry.getChargePoint(reader.chargePointId);
    if (!chargePoint?.tariffId) throw new ConflictError(`charge point ${reader.chargePointId} has no tariff: no currency or hold amount`);
    const version = await deps.tariffs.currentVersion(chargePoint.tariffId);
    const stored = version ? await deps.tariffs.get(chargePoint.tariffId, version.version) : undefined;
    if (!stored) throw new ConflictError(`tariff ${chargePoint.tariffId} is not stored`);
    const tariff = deps.tariffParser.parse(stored.tariffJson);
    const policy = await deps.payments.policyFor(reader.chargePointId, chargePoint.siteId);
    const estimate = holdAmount({ policy, tariff, currency: tariff.currency, ...(chargePoint.maxPowerKw ? { chargerMaxPowerKw: chargePoint.maxPowerKw } : {}) });
    const { paymentIntentId } = await gateway.armReader({
      readerId,
      amountMinor: estimate.amountMinor,
      currency: tariff.currency,
      description: `Charging at ${reader.chargePointId}/${reader.connectorId} (card reader ${readerId})`,
      metadata: { purpose: 'hold', readerId, chargePointId: reader.chargePointId, connectorId: String(reader.connectorId) },
      idempotencyKey: `voltledger:reader:${readerId}:${requestKey}`,
    });
    const armed: ReaderRecord = { ...reader, armed: { paymentIntentId, amountMinor: estimate.amountMinor, currency: tariff.currency, armedAt: now() }, updatedAt: now() };
    await store.putReader(armed);
    log.info('reader armed', { readerId, paymentIntentId, amountMinor: estimate.amountMinor });
    return armed;
  }

  async function onActionSucceeded(approval: ReaderApproval): Promise<void> {
    const piId = approval.paymentIntentId;
    if (!piId) return;
    const reader = await store.getReader(approval.readerId);
    if (!reader) {
      log.warn('reader action for a reader VoltLedger does not know', { readerId: approval.readerId, paymentIntentId: piId });
      return;
    }
    // The webhook's snapshot may be stale or out of order: read the PaymentIntent itself.
    const hold = await gateway.getHold(piId);
    if (hold.status !== 'usable') {
      log.warn('reader payment is not an open hold; nothing to start', { readerId: reader.readerId, paymentIntentId: piId, status: hold.status });
      return;
    }
    const policy = await deps.payments.policyFor(reader.chargePointId, undefined);
    const authorizedAt = approval.occurredAt;
    const idTag = readerIdTag(piId);
    const auth: ReaderAuthorization = {
      paymentIntentId: piId,
      readerId: reader.readerId,
      chargePointId: reader.chargePointId,
      connectorId: reader.connectorId,
      idTag,
      amountMinor: hold.capturableMinor,
      currency: hold.currency,
      ...(hold.captureBefore ? { captureBefore: hold.captureBefore } : {}),
      incrementable: hold.incrementable,
      authorizedAt,
      expiresAt: new Date(Date.parse(authorizedAt) + policy.readerMatchWindowSeconds * 1000).toISOString(),
    };
    // Authorize accepts the payment's idTag until the window closes (expiryDate), nothing after.
    await deps.entitlements.put({ idTag, status: 'Accepted', expiryDate: auth.expiresAt, billing: { kind: 'retail', channel: 'card' }, updatedAt: now() });
    await store.putReaderAuthorization(auth);
    await store.putReader({ ...reader, armed: undefined, lastAction: { status: 'succeeded', paymentIntentId: piId, at: authorizedAt }, updatedAt: now() });
    const existing = (await store.readerAuthorizations(reader.chargePointId, reader.connectorId)).find((a) => a.paymentIntentId === piId);
    if (existing?.remoteStart || existing?.claimedBySessionId) return; // a re-delivery: the start went out already
    const started = await deps.stopper.start(reader.chargePointId, reader.connectorId, idTag);
    await store.recordRemoteStart(auth, started.sent ? { ...(started.messageId ? { messageId: started.messageId } : {}) } : { error: started.error ?? 'not sent' });
    log.info('card approved at reader; starting the session', { readerId: reader.readerId, paymentIntentId: piId, idTag, remoteStartSent: started.sent });
  }

  async function onActionFailed(refusal: ReaderRefusal): Promise<void> {
    const reader = await store.getReader(refusal.readerId);
    if (!reader) return;
    const pi = refusal.paymentIntentId;
    await store.putReader({
      ...reader,
      armed: undefined,
      lastAction: {
        status: 'failed',
        ...(pi ? { paymentIntentId: pi } : {}),
        ...(refusal.failureCode ? { failureCode: refusal.failureCode } : {}),
        ...(refusal.failureMessage ? { failureMessage: refusal.failureMessage } : {}),
        at: refusal.occurredAt,
      },
      updatedAt: now(),
    });
    log.warn('card refused at reader', { readerId: reader.readerId, failureCode: refusal.failureCode });
    // The refused PaymentIntent is not used again; the driver may try another card on a fresh one.
    if (pi) await gateway.cancel(pi, `voltledger:reader-failed:${refusal.eventId}:cancel`).catch((error) => log.warn('refused reader payment could not be cancelled', { error: String(error) }));
    await rearm(reader.readerId, `after-failure:${refusal.eventId}`);
  }

  /** Releases card authorizations no session claimed within the window. Returns how many. */
  async function releaseUnmatched(): Promise<number> {
    let released = 0;
    for (const auth of await store.expiredReaderAuthorizations(now())) {
      // First close it to sessions, then release the hold, then unlist it: a failure in between
      // leaves it listed (and unclaimable), so the next sweep releases it.
      if (!(await store.cancelReaderAuthorization(auth, now()))) continue; // a session claimed it meanwhile
      await gateway.cancel(auth.paymentIntentId, `voltledger:reader-auth:${auth.paymentIntentId}:cancel`);
      await store.markReaderAuthorizationReleased(auth, now());
      released += 1;
      log.info('unmatched reader payment released', { paymentIntentId: auth.paymentIntentId, readerId: auth.readerId });
      await rearm(auth.readerId, `after-release:${auth.paymentIntentId}`);
    }
    return released;
  }

  return { register, arm, rearm, onActionSucceeded, onActionFailed, releaseUnmatched, list: () => store.listReaders(), get: (id: string) => store.getReader(id) };
}

export type Readers = ReturnType<typeof createReaders>;
