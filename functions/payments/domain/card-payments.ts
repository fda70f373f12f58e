import { buildEvent, type EventData } from '../../../events/contract.ts';
import {
  PaymentHoldFailed,
  PaymentHoldIncreased,
  PaymentHoldIncreaseRefused,
  PaymentHoldPlaced,
  SessionPaymentSettled,
  type HoldFailureReason,
} from '../../../events/payment-events.ts';
import { BillingProfileSchema, paidByCard } from '../../../events/billing.ts';
import type { SessionPriced } from '../../../events/pricing-events.ts';
import type { SessionMeterValues, SessionStarted } from '../../../events/session-events.ts';
import type { Clock } from '../../shared/clock.ts';
import { validationErrorFrom } from '../../shared/errors.ts';
import type { Log } from '../../shared/log.ts';
import { holdAmount, incrementDecision, type PaymentTariff } from './amounts.ts';
import type { HoldFailure, SessionPayment, SettlementProgress, SettlementRecord } from './model.ts';
import { DEFAULT_PAYMENT_POLICY, type PaymentPolicy } from './policy.ts';
import type {
  ChargePointReader,
  DriverReader,
  EntitlementReader,
  EventPublisher,
  HoldSnapshot,
  MeterReading,
  PaymentGateway,
  PaymentSession,
  PaymentStore,
  ReaderStore,
  SessionCostEstimator,
  SessionReader,
  SessionStopper,
  TariffParser,
  TariffReader,
} from './ports.ts';
import { latestRegisterWh } from './running.ts';
import { fallbackAfterExpiredHold, fallbackAfterRefusedIncrement, planSettlement, type HoldState, type SettlementInput, type SettlementPlan } from './settlement.ts';

/**
 * What card payments need, as ports (domain/ports.ts). `Session`, `Sample` and `Status` are the
 * OCPP context's records as its stores return them, `Tariff` pricing's parsed tariff; payments reads
 * the fields its port types name and hands them whole to the cost estimator.
 */
export interface PaymentsDeps<Session extends PaymentSession = PaymentSession, Sample extends MeterReading = MeterReading, Status = unknown, Tariff extends PaymentTariff = PaymentTariff> {
  store: PaymentStore & Pick<ReaderStore, 'readerAuthorizations' | 'claimReaderAuthorization'>;
  gateway: PaymentGateway;
  stopper: SessionStopper;
  sessions: SessionReader<Session, Sample>;
  registry: ChargePointReader<Status>;
  tariffs: Pick<TariffReader, 'get'>;
  tariffParser: TariffParser<Tariff>;
  costs: SessionCostEstimator<Session, Sample, Status, Tariff>;
  entitlements: EntitlementReader;
  drivers: DriverReader;
  events: EventPublisher;
  clock: Clock;
  log: Log;
  /** Called once a session's payment is settled (reader payments re-arm their reader); a failure here is logged, not retried. */
  afterSettled?: (payment: SessionPayment) => Promise<void>;
}

/**
 * Validates a session's billing profile snapshot.
 * @throws ValidationError naming the offending field.
 */
function validateBillingProfile(profile: Record<string, unknown>): void {
  const result = BillingProfileSchema.safeParse(profile);
  if (!result.success) throw validationErrorFrom(result.error, 'billing profile');
}

/** Idempotency keys: one per session and step, so a retry replays Stripe's first answer. */
const key = (sessionId: string, step: string) => `voltledger:${sessionId}:${step}`;

type SessionRef = Pick<SessionPayment, 'sessionId' | 'transactionId' | 'chargePointId' | 'connectorId' | 'idTag' | 'siteId' | 'driverId'>;

function refOf(p: SessionRef) {
  return {
    sessionId: p.sessionId,
    transactionId: p.transactionId,
    chargePointId: p.chargePointId,
    connectorId: p.connectorId,
    idTag: p.idTag,
    ...(p.siteId ? { siteId: p.siteId } : {}),
    ...(p.driverId ? { driverId: p.driverId } : {}),
  };
}

/**
 * Card payments of charging sessions:
 *
 * - SessionStarted: match a card presented at the connector's reader, or place a hold on the
 *   driver's saved card (manual-capture PaymentIntent, amount by the site's or charger's policy);
 *   a declined hold stops the session (RemoteStopTransaction) and says why.
 * - SessionMeterValues: keep a running cost and raise the hold before the session outgrows it,
 *   or apply the policy (stop, or continue and collect the rest after) when it cannot be raised.
 * - SessionPriced: plan the settlement once (stored before any money moves), then execute it with
 *   idempotency keys, recording each step, and record exactly one outcome.
 */
export function createPayments<Session extends PaymentSession, Sample extends MeterReading, Status, Tariff extends PaymentTariff>(deps: PaymentsDeps<Session, Sample, Status, Tariff>) {
  const { store, gateway, stopper, events, clock, log } = deps;
  const now = () => clock.now().toISOString();

  async function policyFor(chargePointId: string, siteId: string | undefined): Promise<PaymentPolicy> {
    return (
      (await store.getPolicy('charge-point', chargePointId)) ??
      (siteId ? await store.getPolicy('site', siteId) : undefined) ??
      (await store.getPolicy('default', 'default')) ??
      DEFAULT_PAYMENT_POLICY
    );
  }

  async function tariffOf(ref: { tariffId: string; version: number } | null): Promise<Tariff | undefined> {
    if (!ref) return undefined;
    const stored = await deps.tariffs.get(ref.tariffId, ref.version);
    return stored ? deps.tariffParser.parse(stored.tariffJson) : undefined;
  }

  function holdPlacedEvent(p: SessionPayment) {
    const hold = p.hold!;
    return buildEvent(
      PaymentHoldPlaced,
      {
        ...refOf(p),
        channel: p.channel,
        paymentIntentId: hold.paymentIntentId,
        amountMinor: p.increments.length ? p.increments[0]!.fromMinor : hold.amountMinor,
        currency: p.currency,
        ...(hold.captureBefore ? { captureBefore: hold.captureBefore } : {}),
        incrementalAuthorization: hold.incrementable,
        placedAt: hold.placedAt,
      },
      { id: `PaymentHoldPlaced:${p.sessionId}`, occurredAt: new Date(hold.placedAt), correlationId: p.sessionId },
    );
  }

  function holdFailedEvent(p: SessionPayment) {
    const f = p.holdFailure!;
    return buildEvent(
      PaymentHoldFailed,
      {
        ...refOf(p),
        channel: p.channel,
        reason: f.reason,
        ...(f.code ? { code: f.code } : {}),
        ...(f.declineCode ? { declineCode: f.declineCode } : {}),
        message: f.message,
        ...(f.paymentIntentId ? { paymentIntentId: f.paymentIntentId } : {}),
        driverAction: f.reason === 'authentication_required' ? 'authenticate' : f.reason === 'provider_error' ? 'none' : 'update_payment_method',
        stopRequested: f.stopRequested,
        failedAt: f.failedAt,
      },
      { id: `PaymentHoldFailed:${p.sessionId}`, occurredAt: new Date(f.failedAt), correlationId: p.sessionId },
    );
  }

  function settledEvent(p: SessionPayment, s: SettlementRecord) {
    return buildEvent(SessionPaymentSettled, { ...refOf(p), channel: p.channel, ...s }, { id: `SessionPaymentSettled:${p.sessionId}`, occurredAt: new Date(s.settledAt), correlationId: p.sessionId });
  }

  async function stopIfRunning(p: SessionRef, why: string): Promise<boolean> {
    const session = await deps.sessions.getSession(p.transactionId);
    if (session?.state !== 'started') return false;
    const result = await stopper.stop(p.chargePointId, p.transactionId);
    if (!result.sent) log.warn('could not stop the session at its charge point', { sessionId: p.sessionId, why, error: result.error });
    else log.info('stopping the session at its charge point', { sessionId: p.sessionId, why, messageId: result.messageId });
    return result.sent;
  }

  /** A new payment record for a session; what is known about the payer. */
  function newPayment(session: Pick<SessionPayment, 'sessionId' | 'transactionId' | 'chargePointId' | 'connectorId' | 'idTag' | 'siteId'>, extra: Partial<SessionPayment> & Pick<SessionPayment, 'channel' | 'currency' | 'policy' | 'status'>): SessionPayment {
    const at = now();
    return {
      sessionId: session.sessionId,
      transactionId: session.transactionId,
      chargePointId: session.chargePointId,
      connectorId: session.connectorId,
      idTag: session.idTag,
      ...(session.siteId ? { siteId: session.siteId } : {}),
      provider: 'stripe',
      increments: [],
      refunds: {},
      version: 0,
      createdAt: at,
      updatedAt: at,
      ...extra,
    };
  }

  async function payerOf(idTag: string): Promise<{ driverId?: string; customerId?: string; paymentMethodId?: string }> {
    const entitlement = await deps.entitlements.get(idTag);
    if (!entitlement?.driverId) return {};
    const driver = await deps.drivers.getDriver(entitlement.driverId);
    return {
      driverId: entitlement.driverId,
      ...(driver?.stripeCustomerId ? { customerId: driver.stripeCustomerId } : {}),
      ...(driver?.defaultPaymentMethodId ? { paymentMethodId: driver.defaultPaymentMethodId } : {}),
    };
  }

  // --- SessionStarted --------------------------------------------------------------------

  /** Matches a card authorized at this connector's reader to the session, if one is waiting. */
  async function matchReader(data: EventData<typeof SessionStarted>): Promise<SessionPayment | undefined> {
    const startedAt = Date.parse(data.startedAt);
    for (const auth of await store.readerAuthorizations(data.chargePointId, data.connectorId)) {
      if (auth.canceledAt || (auth.claimedBySessionId && auth.claimedBySessionId !== data.sessionId)) continue;
      const sameTag = auth.idTag === data.idTag.toUpperCase();
      // A charge point's clock may run a little behind: accept a start up to a minute before the card.
      const inWindow = startedAt >= Date.parse(auth.authorizedAt) - 60_000 && startedAt <= Date.parse(auth.expiresAt);
      if (!sameTag && !inWindow) continue;
      if (!(await store.claimReaderAuthorization(auth, data.sessionId))) continue;
      const policy = await policyFor(data.chargePointId, data.siteId);
      const record = newPayment(data, {
        channel: 'reader',
        currency: auth.currency,
        policy,
        status: 'held',
        readerId: auth.readerId,
        hold: {
          paymentIntentId: auth.paymentIntentId,
          amountMinor: auth.amountMinor,
          ...(auth.captureBefore ? { captureBefore: auth.captureBefore } : {}),
          incrementable: auth.incrementable,
          placedAt: auth.authorizedAt,
        },
      });
      if (!(await store.create(record))) return store.get(data.sessionId);
      log.info('reader payment matched to session', { sessionId: data.sessionId, paymentIntentId: auth.paymentIntentId, readerId: auth.readerId });
      return record;
    }
    return undefined;
  }

  async function onSessionStarted(data: EventData<typeof SessionStarted>): Promise<void> {
    let payment = await store.get(data.sessionId);
    if (!payment) payment = await matchReader(data);
    if (payment && payment.status !== 'authorizing') {
      if (payment.status === 'held') await events.publish([holdPlacedEvent(payment)]);
      if (payment.status === 'hold_failed') await events.publish([holdFailedEvent(payment)]);
      return;
    }
    if (!payment) {
      // Validated first: a malformed profile is an error, not a session nobody charges.
      if (data.billingProfile) validateBillingProfile(data.billingProfile);
      if (!paidByCard(data.billingProfile)) return;
      const tariff = await tariffOf(data.tariff);
      if (!tariff) {
        // Pricing reports the session (SessionPricingFailed); without a tariff there is no currency to hold in.
        log.warn('no tariff for a card session: no hold placed', { sessionId: data.sessionId });
        return;
      }
      const [policy, payer, chargePoint] = await Promise.all([policyFor(data.chargePointId, data.siteId), payerOf(data.idTag), deps.registry.getChargePoint(data.chargePointId)]);
      const estimate = holdAmount({ policy, tariff, currency: tariff.currency, ...(chargePoint?.maxPowerKw ? { chargerMaxPowerKw: chargePoint.maxPowerKw } : {}) });
      const created = newPayment(data, {
        channel: 'app',
        currency: tariff.currency,
        policy,
        status: 'authorizing',
        ...payer,
        hold: { paymentIntentId: '', amountMinor: estimate.amountMinor, incrementable: false, estimate, placedAt: now() },
      });
      if (!(await store.create(created))) return onSessionStarted(data);
      payment = created;
    }
    await placeHold(payment);
  }

  async function placeHold(payment: SessionPayment): Promise<void> {
    const amountMinor = payment.hold!.amountMinor;
    let failure: Omit<HoldFailure, 'failedAt' | 'stopRequested'> | undefined;
    if (!payment.customerId || !payment.paymentMethodId) {
      failure = { reason: 'no_payment_method', message: 'the driver has no saved payment method' };
    } else {
      const attempt = await gateway.createHold({
        idempotencyKey: key(payment.sessionId, `hold:${amountMinor}`),
        amountMinor,
        currency: payment.currency,
        customerId: payment.customerId,
        paymentMethodId: payment.paymentMethodId,
        description: `Charging session ${payment.sessionId} at ${payment.chargePointId}/${payment.connectorId}`,
        metadata: {
          sessionId: payment.sessionId,
          purpose: 'hold',
          transactionId: String(payment.transactionId),
          chargePointId: payment.chargePointId,
          connectorId: String(payment.connectorId),
          idTag: payment.idTag,
        },
      });
      if (attempt.ok) {
        const placed = await store.update(payment.sessionId, (p) =>
          p.status !== 'authorizing'
            ? undefined
            : {
                ...p,
                status: 'held',
                hold: { ...p.hold!, paymentIntentId: attempt.paymentIntentId, amountMinor: attempt.amountMinor, incrementable: attempt.incrementable, ...(attempt.captureBefore ? { captureBefore: attempt.captureBefore } : {}), placedAt: now() },
                updatedAt: now(),
              },
        );
        if (placed?.status === 'held') await events.publish([holdPlacedEvent(placed)]);
        log.info('hold placed', { sessionId: payment.sessionId, paymentIntentId: attempt.paymentIntentId, amountMinor: attempt.amountMinor });
        return;
      }
      const { ok: _ok, ...why } = attempt;
      failure = why;
    }
    log.warn('hold failed; stopping the session', { sessionId: payment.sessionId, reason: failure.reason, code: failure.code, declineCode: failure.declineCode });
    const stopRequested = await stopIfRunning(payment, `hold ${failure.reason}`);
    const failed = await store.update(payment.sessionId, (p) =>
      p.status !== 'authorizing' ? undefined : { ...p, status: 'hold_failed', holdFailure: { ...failure!, failedAt: now(), stopRequested }, updatedAt: now() },
    );
    if (failed?.status === 'hold_failed') await events.publish([holdFailedEvent(failed)]);
  }

  // --- SessionMeterValues ------------------------------------------------------------------

  /** The session's cost so far, incl. VAT, as if it stopped at the latest register reading. */
  async function runningCost(payment: SessionPayment): Promise<number | undefined> {
    const session = await deps.sessions.getSession(payment.transactionId);
    if (session?.state !== 'started') return undefined;
    const tariff = await tariffOf(session.tariff);
    if (!tariff) return undefined;
    const [samples, statusTimeline, chargePoint] = await Promise.all([
      deps.sessions.samples(session.transactionId),
      deps.registry.statusTimeline(session.chargePointId, session.connectorId, session.startedAt),
      deps.registry.getChargePoint(session.chargePointId),
    ]);
    const latest = latestRegisterWh(samples);
    if (!latest) return undefined;
    const asIfStopped: Session = { ...session, meterStopWh: Math.max(latest.wh, session.meterStartWh), stoppedAt: latest.at };
    // The charger's rating bounds the energy as in the final price (docs/meters.md).
    const maxPowerKw = chargePoint?.maxPowerKw;
    return deps.costs.costSoFar({ session: asIfStopped, samples, statusTimeline, tariff, completedAt: latest.at, ...(maxPowerKw ? { maxPowerKw } : {}) });
  }

  async function onMeterValues(data: EventData<typeof SessionMeterValues>): Promise<void> {
    const payment = await store.get(data.sessionId);
    if (payment?.status !== 'held' || !payment.hold || payment.incrementRefused) return;
    const cost = await runningCost(payment);
    if (cost === undefined) return;
    const at = now();
    const current = (await store.update(payment.sessionId, (p) => (p.running && p.running.costMinor >= cost ? undefined : { ...p, running: { costMinor: cost, at }, updatedAt: at })))!;
    const holdMinor = current.hold!.amountMinor;
    const decision = incrementDecision({ policy: current.policy, holdMinor, runningCostMinor: cost, currency: current.currency });
    if (decision.action === 'none') return;

    let refusal: { reason: HoldFailureReason; message: string } | undefined;
    if (decision.action === 'at-maximum') refusal = { reason: 'increment_unavailable', message: `the hold is at the policy's maximum (${current.policy.maxHoldMinor})` };
    else if (!current.hold!.incrementable) refusal = { reason: 'increment_unavailable', message: 'the card does not support incremental authorization' };
    else {
      const result = await gateway.incrementHold(current.hold!.paymentIntentId, decision.toMinor, current.currency, key(payment.sessionId, `increment:${decision.toMinor}`));
      if (result.ok) {
        await recordIncrease(payment.sessionId, current.hold!.paymentIntentId, result.amountMinor, cost);
        return;
      }
      refusal = { reason: result.reason, message: result.message };
    }

    const action = current.policy.onIncrementUnavailable;
    const claimed = await store.update(payment.sessionId, (p) =>
      p.incrementRefused ? undefined : { ...p, incrementRefused: { ...refusal!, action, stopRequested: false, at }, updatedAt: at },
    );
    if (!claimed || claimed.incrementRefused?.at !== at) return; // another delivery handled it
    const stopRequested = action === 'stop' ? await stopIfRunning(claimed, 'hold cannot be raised') : false;
    const refused = (await store.update(payment.sessionId, (p) => ({ ...p, incrementRefused: { ...p.incrementRefused!, stopRequested }, updatedAt: now() })))!;
    log.warn('hold cannot be raised', { sessionId: payment.sessionId, reason: refusal.reason, action, runningCostMinor: cost, holdMinor });
    await events.publish([
      buildEvent(
        PaymentHoldIncreaseRefused,
        {
          ...refOf(refused),
          paymentIntentId: refused.hold!.paymentIntentId,
          holdMinor,
          runningCostMinor: cost,
          currency: refused.currency,
          reason: refusal.reason,
          action,
          stopRequested,
          refusedAt: at,
        },
        { id: `PaymentHoldIncreaseRefused:${payment.sessionId}`, occurredAt: new Date(at), correlationId: payment.sessionId },
      ),
    ]);
  }

  // --- SessionPriced -------------------------------------------------------------------------

  function holdStateOf(snapshot: HoldSnapshot | undefined): HoldState | undefined {
    if (!snapshot || snapshot.status === 'not_authorized') return undefined;
    return {
      paymentIntentId: snapshot.paymentIntentId,
      status: snapshot.status,
      capturableMinor: snapshot.capturableMinor,
      capturedMinor: snapshot.capturedMinor,
      incrementable: snapshot.incrementable,
    };
  }

  const carryKeyOf = (p: SessionPayment) => (p.channel === 'reader' ? undefined : (p.driverId ?? p.idTag));

  async function plan(payment: SessionPayment, data: EventData<typeof SessionPriced>): Promise<SessionPayment> {
    const carryKey = carryKeyOf(payment);
    const carriedIn = { amountMinor: 0, sessionIds: [] as string[] };
    if (carryKey) {
      for (const item of await store.carried(carryKey, data.currency, payment.sessionId)) {
        if (await store.claimCarried(carryKey, item, payment.sessionId)) {
          carriedIn.amountMinor += item.amountMinor;
          carriedIn.sessionIds.push(item.fromSessionId);
        }
      }
    }
    const hold = payment.hold?.paymentIntentId && payment.status !== 'hold_failed' ? holdStateOf(await gateway.getHold(payment.hold.paymentIntentId)) : undefined;
    const input: SettlementInput = {
      currency: data.currency,
      sessionTotalMinor: data.totalMinor,
      carriedIn,
      hold,
      canChargeOffSession: payment.channel === 'app' && Boolean(payment.customerId && payment.paymentMethodId),
      smallAmount: payment.policy.smallAmount,
      canCarry: carryKey !== undefined,
      reviewAboveMinor: payment.policy.maxHoldMinor,
    };
    const settlementPlan = planSettlement(input);
    const at = now();
    return (await store.update(payment.sessionId, (p) =>
      p.settlement ? undefined : { ...p, status: 'settling', settlement: { plan: settlementPlan, input, plannedAt: at }, updatedAt: at },
    ))!;
  }

  async function progress(sessionId: string, change: (s: SettlementProgress) => Partial<SettlementProgress>): Promise<SessionPayment> {
    return (await store.update(sessionId, (p) => ({ ...p, settlement: { ...p.settlement!, ...change(p.settlement!) }, updatedAt: now() })))!;
  }

  async function execute(payment: SessionPayment): Promise<SessionPayment> {
    let p = payment;
    const s = () => p.settlement!;
    const pi = p.hold?.paymentIntentId ?? '';
    const meta = (purpose: string) => ({ sessionId: p.sessionId, purpose, transactionId: String(p.transactionId), chargePointId: p.chargePointId, idTag: p.idTag });

    if (s().plan.incrementToMinor !== undefined && !s().incremented) {
      const to = s().plan.incrementToMinor!;
      const result = await gateway.incrementHold(pi, to, s().plan.currency, key(p.sessionId, `settle-increment:${to}`));
      p = await progress(p.sessionId, (cur) => (result.ok ? { incremented: 'ok' } : { incremented: 'refused', plan: fallbackAfterRefusedIncrement(cur.plan, cur.input) }));
    }
    if (s().plan.cancelHold && !s().canceled) {
      await gateway.cancel(pi, key(p.sessionId, 'cancel'));
      p = await progress(p.sessionId, () => ({ canceled: true }));
    }
    if (s().plan.captureMinor > 0 && s().capturedMinor === undefined) {
      const amount = s().plan.captureMinor;
      const result = await gateway.capture(pi, amount, s().plan.currency, key(p.sessionId, `capture:${amount}`));
      if (result.ok) p = await progress(p.sessionId, () => ({ capturedMinor: result.capturedMinor }));
      else {
        log.warn('hold expired before capture; charging off-session instead', { sessionId: p.sessionId, paymentIntentId: pi });
        p = await progress(p.sessionId, (cur) => ({ plan: fallbackAfterExpiredHold(cur.plan, cur.input), capturedMinor: 0 }));
      }
    }
    const plan: SettlementPlan = s().plan;
    if (plan.chargeMinor > 0 && !s().charge) {
      const attempt = await gateway.chargeOffSession({
        idempotencyKey: key(p.sessionId, `${plan.chargePurpose}:${plan.chargeMinor}`),
        amountMinor: plan.chargeMinor,
        currency: plan.currency,
        customerId: p.customerId!,
        paymentMethodId: p.paymentMethodId!,
        description: `Charging session ${p.sessionId}: ${plan.chargePurpose === 'top_up' ? 'amount above the hold' : 'session total'}`,
        metadata: meta(plan.chargePurpose!),
      });
      p = await progress(p.sessionId, () => ({
        charge: attempt.ok
          ? { paymentIntentId: attempt.paymentIntentId, amountMinor: attempt.amountMinor, status: 'succeeded' as const }
          : {
              ...(attempt.paymentIntentId ? { paymentIntentId: attempt.paymentIntentId } : {}),
              amountMinor: plan.chargeMinor,
              status: 'failed' as const,
              ...(attempt.code ? { code: attempt.code } : {}),
              ...(attempt.declineCode ? { declineCode: attempt.declineCode } : {}),
              message: attempt.message,
            },
      }));
    }
    return p;
  }

  function outcomeOf(p: SessionPayment, at: string): SettlementRecord {
    const s = p.settlement!;
    const plan = s.plan;
    const captured = s.capturedMinor ?? 0;
    const chargeOk = s.charge?.status === 'succeeded';
    const chargeFailed = s.charge?.status === 'failed';
    const outstanding = plan.uncollectableMinor + (chargeFailed ? plan.chargeMinor : 0);
    const outcome = outstanding > 0 ? 'collection_failed' : plan.outcome;
    return {
      outcome,
      currency: plan.currency,
      sessionTotalMinor: plan.sessionTotalMinor,
      carriedInMinor: plan.carriedInMinor,
      carriedInSessionIds: plan.carriedInSessionIds,
      dueMinor: plan.dueMinor,
      holdMinor: p.hold?.paymentIntentId && p.status !== 'hold_failed' ? Math.max(p.hold.amountMinor, plan.incrementToMinor && s.incremented === 'ok' ? plan.incrementToMinor : 0) : 0,
      capturedMinor: captured,
      topUpMinor: chargeOk ? s.charge!.amountMinor : 0,
      waivedMinor: plan.waiveMinor,
      carriedOutMinor: plan.carryMinor,
      outstandingMinor: outstanding,
      ...(p.hold?.paymentIntentId && p.status !== 'hold_failed' ? { holdPaymentIntentId: p.hold.paymentIntentId } : {}),
      ...(s.charge?.paymentIntentId ? { chargePaymentIntentId: s.charge.paymentIntentId } : {}),
      ...(plan.reviewMinor
        ? {
            review: {
              amountMinor: plan.reviewMinor,
              limitMinor: plan.dueMinor - plan.reviewMinor,
              reason: `the amount due (${plan.dueMinor}) is above the payment policy's maximum (${p.policy.maxHoldMinor}): the rest is held for review, not taken`,
            },
          }
        : {}),
      ...(chargeFailed
        ? { failure: { ...(s.charge!.code ? { code: s.charge!.code } : {}), ...(s.charge!.declineCode ? { declineCode: s.charge!.declineCode } : {}), message: s.charge!.message ?? 'the charge failed' } }
        : plan.uncollectableMinor > 0
          ? {
              failure: {
                message: plan.reviewMinor
                  ? `held for review: ${plan.reviewMinor} above the payment policy's maximum of ${p.policy.maxHoldMinor} was not taken`
                  : p.channel === 'reader'
                    ? 'a card presented at a reader cannot be charged again off-session'
                    : 'the driver has no saved payment method',
              },
            }
          : {}),
      settledAt: at,
    };
  }

  async function onSessionPriced(data: EventData<typeof SessionPriced>): Promise<void> {
    let payment = await store.get(data.sessionId);
    if (!payment) {
      // Validated first: a malformed profile is an error, not a session nobody charges.
      if (data.billingProfile) validateBillingProfile(data.billingProfile);
      if (!paidByCard(data.billingProfile)) return;
      // No hold was ever placed (no tariff at start, or SessionStarted not yet handled): charge what is due.
      const [policy, payer] = await Promise.all([policyFor(data.chargePointId, data.siteId), payerOf(data.idTag)]);
      const created = newPayment(data, { channel: 'app', currency: data.currency, policy, status: 'settling', ...payer });
      if (!(await store.create(created))) return onSessionPriced(data);
      payment = created;
    }
    if (payment.settlement?.outcome) {
      await events.publish([settledEvent(payment, payment.settlement.outcome)]);
      return;
    }
    if (payment.status === 'authorizing') {
      // The hold request is still in flight or its answer was lost: finish it first (same key).
      await placeHold(payment);
      payment = (await store.get(data.sessionId))!;
    }
    if (!payment.settlement) payment = await plan(payment, data);
    payment = await execute(payment);
    const at = now();
    const record = outcomeOf(payment, at);
    const carryKey = carryKeyOf(payment);
    if (record.carriedOutMinor > 0 && carryKey) {
      await store.carry(carryKey, { fromSessionId: payment.sessionId, currency: record.currency, amountMinor: record.carriedOutMinor }, at);
    }
    const settled = (await store.update(payment.sessionId, (p) =>
      p.settlement?.outcome ? undefined : { ...p, status: 'settled', settlement: { ...p.settlement!, outcome: record }, updatedAt: at },
    ))!;
    if (record.review) log.warn('session payment held for review', { sessionId: payment.sessionId, reviewMinor: record.review.amountMinor, limitMinor: record.review.limitMinor });
    log.info('session payment settled', { sessionId: payment.sessionId, outcome: settled.settlement!.outcome!.outcome, dueMinor: record.dueMinor, capturedMinor: record.capturedMinor, topUpMinor: record.topUpMinor });
    await events.publish([settledEvent(settled, settled.settlement!.outcome!)]);
    await deps.afterSettled?.(settled).catch((error) => log.warn('after-settlement step failed', { sessionId: settled.sessionId, error: String(error) }));
  }

  /**
   * payment_intent.amount_capturable_updated: Stripe's view of a hold changed (an increment, made
   * here or in Stripe's dashboard). Re-read the PaymentIntent and keep the session's hold amount
   * in step; an older or duplicate webhook changes nothing.
   */
  async function onHoldUpdated(paymentIntentId: string): Promise<void> {
    const hold = await gateway.getHold(paymentIntentId);
    const sessionId = hold.metadata.sessionId;
    if (!sessionId || hold.status !== 'usable') return;
    await recordIncrease(sessionId, paymentIntentId, hold.capturableMinor, undefined);
  }

  /**
   * A hold raised at Stripe to `toMinor`, learnt from the increment's answer or from the webhook,
   * whichever comes first (an answer lost in a timeout leaves only the webhook). Recorded once in
   * `increments`; PaymentHoldIncreased is published from that record, so both paths publish the
   * same event with the same data.
   */
  async function recordIncrease(sessionId: string, paymentIntentId: string, toMinor: number, runningCostMinor: number | undefined): Promise<void> {
    const at = now();
    const updated = await store.update(sessionId, (p) =>
      p.hold?.paymentIntentId !== paymentIntentId || p.status !== 'held' || p.hold.amountMinor >= toMinor
        ? undefined
        : {
            ...p,
            hold: { ...p.hold, amountMinor: toMinor },
            increments: [...p.increments, { fromMinor: p.hold.amountMinor, toMinor, at, runningCostMinor: runningCostMinor ?? p.running?.costMinor ?? 0 }],
            updatedAt: at,
          },
    );
    const entry = updated?.increments.find((i) => i.toMinor === toMinor);
    if (!updated || !entry) return;
    if (entry.at === at) log.info('hold raised', { sessionId, fromMinor: entry.fromMinor, toMinor, runningCostMinor: entry.runningCostMinor });
    await events.publish([
      buildEvent(
        PaymentHoldIncreased,
        {
          ...refOf(updated),
          paymentIntentId,
          fromMinor: entry.fromMinor,
          toMinor,
          runningCostMinor: entry.runningCostMinor ?? 0,
          currency: updated.currency,
          increasedAt: entry.at,
        },
        { id: `PaymentHoldIncreased:${sessionId}:${toMinor}`, occurredAt: new Date(entry.at), correlationId: sessionId },
      ),
    ]);
  }

  return { onSessionStarted, onMeterValues, onSessionPriced, onHoldUpdated, policyFor, tariffOf, newPayment, stopIfRunning };
}

export type Payments = ReturnType<typeof createPayments>;
