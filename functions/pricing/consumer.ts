import type { EventBridgeEvent } from 'aws-lambda';
import { buildEvent } from '../../events/contract.ts';
import { SessionPriced, SessionPricingFailed } from '../../events/pricing-events.ts';
import { SessionCompleted } from '../../events/session-events.ts';
import type { Clock } from '../shared/clock.ts';
import { ValidationError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import {
  parseBillingProfile,
  parseTariff,
  priceSession,
  TARIFF_NOT_ACTIVE,
  tariffNotActiveReason,
  type BillingProfile,
  type PricedSession,
  type Tariff,
} from './domain/index.ts';
import type { PriceStore, PricingEventPort, SessionSource, SessionToPrice, StatusTimelineSource, TariffVersionSource } from './domain/ports.ts';
import { clockHold, MAX_PRICE_JSON_BYTES } from './domain/clock-guard.ts';
import { sessionPricingInput } from './session-input.ts';

type TariffRef = { tariffId: string; version: number };

/** The version a stored price was priced with: the snapshot, or the earlier one its TARIFF_EARLIER_VERSION warning names. */
function usedTariffRef(snapshot: TariffRef, price: PricedSession): TariffRef {
  const warning = price.warnings?.find((w) => w.code === 'TARIFF_EARLIER_VERSION');
  const version = warning ? Number(/priced with version (\d+)$/.exec(warning.message)?.[1]) : Number.NaN;
  return Number.isInteger(version) && version > 0 ? { tariffId: snapshot.tariffId, version } : snapshot;
}
/** How many stored versions before the snapshotted one are searched for one that covers a session's start. */
const MAX_VERSION_LOOKBACK = 50;

/** Pricing's ports (functions/pricing/domain/ports.ts); functions/pricing/deps.ts builds them over the tables. */
export interface PricingConsumerDeps {
  sessions: SessionSource;
  statuses: StatusTimelineSource;
  tariffs: TariffVersionSource;
  prices: PriceStore;
  events: PricingEventPort;
  clock: Clock;
  log: Log;
}

/**
 * Prices a session when SessionCompleted arrives: reads the session, its samples, its connector's
 * status timeline and the tariff version snapshotted at start; prices it; stores the price once
 * (conditional write) and publishes SessionPriced. A re-delivered event finds the stored price and
 * republishes it under the same event id, so nothing is priced or billed twice. A session that
 * cannot be priced is never priced at zero: SessionPricingFailed says why.
 */
export function createPricingConsumer(deps: PricingConsumerDeps) {
  const { sessions, statuses, tariffs, prices, events, clock, log } = deps;

  /**
   * The tariff that prices the session (OCPI start_date_time / end_date_time, docs/pricing.md): the
   * version snapshotted at the start if it covers the session's start, else the newest earlier
   * stored version that does (versions stored after the start are never used); none: a failure
   * with reason code TARIFF_NOT_ACTIVE. Versions are immutable, so every delivery picks the same one.
   */
  async function tariffForSession(
    ref: TariffRef,
    startedAt: string,
  ): Promise<{ ref: TariffRef; tariff: Tariff; substituted: string | null } | { failure: string }> {
    const startMs = Date.parse(startedAt);
    let snapshotReason = '';
    for (let version = ref.version; version >= 1 && version >= ref.version - MAX_VERSION_LOOKBACK; version--) {
      const stored = await tariffs.get(ref.tariffId, version);
      if (!stored) {
        if (version === ref.version) return { failure: `tariff ${ref.tariffId} version ${ref.version} is not stored` };
        continue;
      }
      let tariff: Tariff;
      try {
        tariff = parseTariff(JSON.parse(stored.tariffJson));
      } catch (error) {
        if (version === ref.version || !(error instanceof ValidationError)) throw error;
        continue; // an older version that no longer validates is never a substitute
      }
      const reason = tariffNotActiveReason(tariff, startMs);
      if (reason === null) {
        const substituted =
          version === ref.version ? null : `version ${ref.version} of tariff ${ref.tariffId} does not cover the session (${snapshotReason}): priced with version ${version}`;
        return { ref: { tariffId: ref.tariffId, version }, tariff, substituted };
      }
      if (version === ref.version) snapshotReason = reason;
    }
    return { failure: `${TARIFF_NOT_ACTIVE}: ${snapshotReason}; no earlier stored version of tariff ${ref.tariffId} covers the session's start` };
  }

  function pricedEvent(session: SessionToPrice, tariff: TariffRef, price: PricedSession, completedAt: string, pricedAt: string) {
    return buildEvent(
      SessionPriced,
      {
        sessionId: session.sessionId,
        transactionId: session.transactionId,
        chargePointId: session.chargePointId,
        connectorId: session.connectorId,
        idTag: session.idTag,
        ...(session.siteId ? { siteId: session.siteId } : {}),
        billingProfile: session.billingProfile,
        tariff,
        currency: price.currency,
        totalMinor: price.totalMinor,
        total_cost: price.total_cost,
        total_energy_cost: price.total_energy_cost,
        total_time_cost: price.total_time_cost,
        total_parking_cost: price.total_parking_cost,
        total_fixed_cost: price.total_fixed_cost,
        total_energy: price.total_energy,
        total_time: price.total_time,
        total_parking_time: price.total_parking_time,
        startedAt: session.startedAt,
        completedAt,
        pricedAt,
        warnings: price.warnings.map((w) => w.code),
      },
      { id: `SessionPriced:${session.sessionId}`, occurredAt: new Date(pricedAt), correlationId: session.sessionId },
    );
  }

  async function fail(session: SessionToPrice, why: string) {
    // The first recorded failure is the one every re-delivery republishes: same id, same content.
    const { reason, failedAt } = await prices.recordPricingFailure(session.transactionId, why, clock.now().toISOString());
    log.error('session cannot be priced', { sessionId: session.sessionId, reason });
    await events.publish([
      buildEvent(
        SessionPricingFailed,
        { sessionId: session.sessionId, transactionId: session.transactionId, chargePointId: session.chargePointId, reason, failedAt },
        { id: `SessionPricingFailed:${session.sessionId}`, occurredAt: new Date(failedAt), correlationId: session.sessionId },
      ),
    ]);
  }

  return async function onSessionCompleted(event: EventBridgeEvent<string, unknown>): Promise<void> {
    const { data } = SessionCompleted.envelope.parse(event.detail);
    const session = await sessions.getSession(data.transactionId);
    if (!session || session.sessionId !== data.sessionId) {
      // The session is written before SessionStarted is published, so this is not a race: report it.
      throw new Error(`SessionCompleted for ${data.sessionId}, but no such session is stored`);
    }
    const existing = await prices.getPrice(session.transactionId);
    if (existing) {
      // A previous delivery stored the price; finish what it may not have (summary, publish).
      await prices.writePriceSummary(session.transactionId, existing);
      const stored: PricedSession = JSON.parse(existing.priceJson);
      await events.publish([pricedEvent(session, usedTariffRef(session.tariff!, stored), stored, data.completedAt, existing.pricedAt)]);
      return;
    }
    // Impossible times (docs/clocks.md) are a recorded failure, never a throw that dead-letters.
    const held = clockHold(session, data.completedAt);
    if (held) return fail(session, held);
    if (!session.tariff) return fail(session, 'no tariff was in force for this charge point or idTag when the session started');

    let price: PricedSession;
    let tariffRef: TariffRef = session.tariff;
    try {
      const used = await tariffForSession(session.tariff, session.startedAt);
      if ('failure' in used) return fail(session, used.failure);
      tariffRef = used.ref;
      const billingProfile: BillingProfile | undefined = session.billingProfile ? parseBillingProfile(session.billingProfile) : undefined;
      const [samples, statusTimeline, maxPowerKw] = await Promise.all([
        sessions.samples(session.transactionId),
        statuses.statusTimeline(session.chargePointId, session.connectorId, session.startedAt),
        statuses.maxPowerKw?.(session.chargePointId),
      ]);
      price = priceSession(
        sessionPricingInput({
          session,
          samples,
          statusTimeline,
          tariff: used.tariff,
          billingProfile,
          completedAt: data.completedAt,
          completedBy: data.completedBy,
          maxPowerKw,
        }),
      );
      if (used.substituted) price = { ...price, warnings: [...price.warnings, { code: 'TARIFF_EARLIER_VERSION', message: used.substituted }] };
    } catch (error) {
      if (error instanceof ValidationError) return fail(session, `${error.path}: ${error.message}`);
      throw error;
    }
    const priceJson = JSON.stringify(price);
    if (Buffer.byteLength(priceJson, 'utf8') > MAX_PRICE_JSON_BYTES) {
      return fail(session, `the priced session has ${price.periods?.length ?? 'too many'} periods, over what one stored price may hold; held for review`);
    }
    const pricedAt = clock.now().toISOString();
    const result = await prices.recordPrice(session.transactionId, {
      priceJson,
      totalMinor: price.totalMinor,
      currency: price.currency,
      pricedAt,
    });
    const final: PricedSession = result.stored ? price : JSON.parse(result.priceJson);
    await events.publish([pricedEvent(session, tariffRef, final, data.completedAt, result.pricedAt)]);
  };
}
