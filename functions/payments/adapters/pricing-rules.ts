import type { ConnectorStatusRecord, MeterSample, SessionRecord } from '../../ocpp/domain/model.ts';
import { parseBillingProfile, parseTariff, priceSession, type Tariff } from '../../pricing/domain/index.ts';
import { sessionPricingInput } from '../../pricing/session-input.ts';
import type { SessionCostEstimator, TariffParser } from '../domain/ports.ts';

/** Stored tariff JSON read with pricing's validation. */
export const pricingTariffParser: TariffParser<Tariff> = {
  parse: (tariffJson) => parseTariff(JSON.parse(tariffJson)),
};

/**
 * The running cost of an OCPP session priced by pricing's engine: the session as payments passes
 * it (stopped at its latest register reading), completed by unplugging at `completedAt`.
 */
export const pricingCostEstimator: SessionCostEstimator<SessionRecord, MeterSample, ConnectorStatusRecord, Tariff> = {
  async costSoFar({ session, samples, statusTimeline, tariff, completedAt, maxPowerKw }) {
    const priced = priceSession(
      sessionPricingInput({
        session,
        samples,
        statusTimeline,
        tariff,
        billingProfile: session.billingProfile ? parseBillingProfile(session.billingProfile) : undefined,
        completedAt,
        completedBy: 'unplugged',
        maxPowerKw,
      }),
    );
    return priced.totalMinor;
  },
};
