import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportTariffToOcpi, parseTariff, priceCdr, priceSession, type Tariff } from '../../../functions/pricing/domain/index.ts';
import { pricingTariffRules } from '../../../functions/roaming/adapters/pricing-tariff-rules.ts';
import { buildCdr } from '../../../functions/roaming/domain/cdr.ts';
import { ValidationError } from '../../../functions/shared/errors.ts';

// Roaming's TariffRules port over pricing's engine: the adapter must answer exactly what pricing's
// functions answer, since roaming called them directly before.

const tariffText = readFileSync(new URL('../../fixtures/pricing/tou-tariff.json', import.meta.url), 'utf8');
const iso = (minutes: number) => new Date(Date.parse('2026-11-10T20:30:00Z') + minutes * 60_000).toISOString();

function aCdr(tariff: Tariff) {
  const sample = (minutes: number, wh: number) => ({ timestamp: iso(minutes), sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] });
  const priced = priceSession({
    tariff,
    timeZone: 'Europe/Berlin',
    billingProfile: { kind: 'roaming', partnerId: 'EMSP' },
    startTransaction: { connectorId: 1, idTag: '04AABBCCDD', meterStart: 0, timestamp: iso(0) },
    meterValues: [{ connectorId: 1, transactionId: 1, meterValue: [sample(13, 3_333), sample(41, 7_777)] }],
    statusNotifications: [
      { connectorId: 1, errorCode: 'NoError', status: 'SuspendedEV', timestamp: iso(50) },
      { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: iso(77) },
    ],
    stopTransaction: { transactionId: 1, meterStop: 9_001, timestamp: iso(55) },
  } as never);
  return buildCdr({
    cdrId: 'CDR-sess_1',
    cpo: { countryCode: 'DE', partyId: 'VLT' },
    session: { sessionId: 'sess_1', chargePointId: 'CP-9', connectorId: 1 },
    token: { country_code: 'NL', party_id: 'EMS', uid: '04AABBCCDD', type: 'RFID', contract_id: 'NL-EMS-C00000001-A', issuer: 'Demo', valid: true, whitelist: 'ALWAYS', last_updated: '2026-11-01T00:00:00Z' },
    location: {
      siteId: 'site-1',
      address: 'Street 1',
      city: 'Berlin',
      country: 'DEU',
      coordinates: { latitude: '52.52000', longitude: '13.40500' },
      defaultConnector: { standard: 'IEC_62196_T2', format: 'SOCKET', power_type: 'AC_3_PHASE' },
      connectors: {},
      updatedAt: '2026-11-01T00:00:00Z',
    },
    priced,
    tariff: exportTariffToOcpi(tariff).tariff,
    lastUpdated: '2026-11-10T22:00:00Z',
  });
}

describe('roaming TariffRules over the pricing engine', () => {
  it('exports the stored tariff JSON as pricing exports the parsed tariff: extensions dropped and named', () => {
    const exported = pricingTariffRules.exportToOcpi(tariffText);

    expect(exported).toEqual(exportTariffToOcpi(parseTariff(JSON.parse(tariffText))));
    expect(exported.tariff).not.toHaveProperty('voltledger');
    expect(exported.dropped).toHaveLength(2);
  });

  it('refuses a stored tariff pricing cannot parse, with the ValidationError pricing throws', () => {
    expect(() => pricingTariffRules.exportToOcpi(JSON.stringify({ id: 'T1' }))).toThrow(ValidationError);
  });

  it('reprices a CDR to the total pricing computes, which is the total the CDR carries', () => {
    const tariff = parseTariff(JSON.parse(tariffText));
    const exported = pricingTariffRules.exportToOcpi(tariffText).tariff;
    const cdr = aCdr(tariff);

    const repriced = pricingTariffRules.repriceCdr(exported, cdr, 'Europe/Berlin');

    expect(repriced).toEqual(priceCdr(exported as unknown as Tariff, cdr, 'Europe/Berlin').total_cost);
    expect({ excl_vat: Number(repriced.excl_vat), incl_vat: Number(repriced.incl_vat) }).toEqual(cdr.total_cost);
  });
});
