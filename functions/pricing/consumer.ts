import type { EventBridgeEvent } from 'aws-lambda';
import { buildEvent } from '../../events/contract.ts';
import { SessionPriced, SessionPricingFailed } from '../../events/pricing-events.ts';
import { SessionCompleted } from '../../events/session-events.ts';
import type { Clock } from '../shared/clock.ts';
import { ValidationError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { parseBillingProfile, parseTariff, priceSession, type BillingProfile, type PricedSession } from './domain/index.ts';
import type { PriceStore, PricingEventPort, SessionSource, SessionToPrice, StatusTimelineSource, TariffVersionSource } from './domain/ports.ts';
import { sessionPricingInput } from './session-input.ts';

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

  function pricedEvent(session: SessionToPrice, price: PricedSession, completedAt: string, pricedAt: string) {
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
        tariff: session.tariff!,
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
      await events.publish([pricedEvent(session, JSON.parse(existing.priceJson), data.completedAt, existing.pricedAt)]);
      return;
    }
    if (!session.tariff) return fail(session, 'no tariff was in force for this charge point or idTag when the session started');
    const stored = await tariffs.get(session.tariff.tariffId, session.tariff.version);
    if (!stored) return fail(session, `tariff ${session.tariff.tariffId} version ${session.tariff.version} is not stored`);

    let price: PricedSession;
    try {
      const billingProfile: BillingProfile | undefined = session.billingProfile ? parseBillingProfile(session.billingProfile) : undefined;
      const [samples, statusTimeline] = await Promise.all([
        sessions.samples(session.transactionId),
        statuses.statusTimeline(session.chargePointId, session.connectorId, session.startedAt),
      ]);
      price = priceSession(
        sessionPricingInput({
          session,
          samples,
          statusTimeline,
          tariff: parseTariff(JSON.parse(stored.tariffJson)),
          billingProfile,
          completedAt: data.completedAt,
          completedBy: data.completedBy,
        }),
      );
    } catch (error) {
      if (error instanceof ValidationError) return fail(session, `${error.path}: ${error.message}`);
      throw error;
    }
    const pricedAt = clock.now().toISOString();
    const result = await prices.recordPrice(session.transactionId, {
      priceJson: JSON.stringify(price),
      totalMinor: price.totalMinor,
      currency: price.currency,
      pricedAt,
    });
    const final: PricedSession = result.stored ? price : JSON.parse(result.priceJson);
    await events.publish([pricedEvent(session, final, data.completedAt, result.pricedAt)]);
  };
}
