import { exportTariffToOcpi, parseTariff, priceCdr, type Tariff } from '../../pricing/domain/index.ts';
import type { TariffRules } from '../domain/ports.ts';

/** Roaming's TariffRules over pricing's engine (functions/pricing/domain): the OCPI export and CDR repricing. */
export const pricingTariffRules: TariffRules = {
  exportToOcpi(tariffJson) {
    return exportTariffToOcpi(parseTariff(JSON.parse(tariffJson)));
  },
  repriceCdr(tariff, cdr, timeZone) {
    // The exported tariff is a pricing tariff without its VoltLedger extensions.
    return priceCdr(tariff as unknown as Tariff, cdr, timeZone).total_cost;
  },
};
