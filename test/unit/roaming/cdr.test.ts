import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCdr, buildCreditCdr, cdrAmounts, type CdrInput } from '../../../functions/roaming/domain/cdr.ts';
import { cdrSchemaErrors } from '../../../functions/roaming/domain/cdr-schema.ts';
import { classify } from '../../../functions/roaming/domain/delivery.ts';
import type { OcpiToken, RoamingPartner, SiteLocation } from '../../../functions/roaming/domain/model.ts';
import { authorizationFor, entitlementForToken } from '../../../functions/roaming/domain/tokens.ts';
import { exportTariffToOcpi, parseTariff, priceCdr, priceSession, type Tariff } from '../../../functions/pricing/domain/index.ts';

const tariffJson = JSON.parse(readFileSync(new URL('../../fixtures/pricing/tou-tariff.json', import.meta.url), 'utf8'));

const aToken = (overrides: Partial<OcpiToken> = {}): OcpiToken => ({
  country_code: 'NL',
  party_id: 'EMS',
  uid: '04AABBCCDD',
  type: 'RFID',
  contract_id: 'NL-EMS-C00000001-A',
  issuer: 'Demo',
  valid: true,
  whitelist: 'ALWAYS',
  last_updated: '2026-11-01T00:00:00Z',
  ...overrides,
});

const aPartner = (overrides: Partial<RoamingPartner> = {}): RoamingPartner => ({
  partnerId: 'EMSP',
  name: 'eMSP',
  countryCode: 'NL',
  partyId: 'EMS',
  cdrsUrl: 'https://emsp.example/ocpi/2.2.1/cdrs',
  token: 'secret-token',
  tariffIds: ['T1'],
  active: true,
  updatedAt: '2026-11-01T00:00:00Z',
  ...overrides,
});

const aLocation = (): SiteLocation => ({
  siteId: 'site-1',
  address: 'Street 1',
  city: 'Berlin',
  country: 'DEU',
  coordinates: { latitude: '52.52000', longitude: '13.40500' },
  defaultConnector: { standard: 'IEC_62196_T2', format: 'SOCKET', power_type: 'AC_3_PHASE' },
  connectors: { 'CP-9/2': { standard: 'IEC_62196_T2_COMBO', format: 'CABLE', power_type: 'DC' } },
  updatedAt: '2026-11-01T00:00:00Z',
});

const iso = (minutes: number) => new Date(Date.parse('2026-11-10T20:30:00Z') + minutes * 60_000).toISOString();

function pricedRoamingSession(tariff: Tariff) {
  const sample = (minutes: number, wh: number) => ({ timestamp: iso(minutes), sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] });
  return priceSession({
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
}

function input(): CdrInput {
  const tariff = parseTariff(tariffJson);
  const exported = exportTariffToOcpi(tariff).tariff;
  return {
    cdrId: 'CDR-sess_1',
    cpo: { countryCode: 'DE', partyId: 'VLT' },
    session: { sessionId: 'sess_1', chargePointId: 'CP-9', connectorId: 2 },
    token: aToken(),
    location: aLocation(),
    priced: pricedRoamingSession(tariff),
    tariff: exported,
    lastUpdated: '2026-11-10T22:00:00Z',
  };
}

describe('OCPI CDR', () => {
  describe('buildCdr', () => {
    it('writes a schema-valid CDR whose periods add up to its totals and which reprices to the same total', () => {
      const cdr = buildCdr(input());
      expect(cdrSchemaErrors(cdr)).toEqual([]);
      const sum = (type: string) => cdr.charging_periods.flatMap((p) => p.dimensions.filter((d) => d.type === type).map((d) => d.volume)).reduce((a, b) => a + b, 0);
      expect(sum('ENERGY')).toBeCloseTo(cdr.total_energy, 4);
      expect(sum('PARKING_TIME')).toBeCloseTo(cdr.total_parking_time!, 4);
      expect(sum('TIME') + sum('PARKING_TIME')).toBeCloseTo(cdr.total_time, 3);
      const repriced = priceCdr(input().tariff as Tariff, cdr, 'Europe/Berlin');
      expect({ excl_vat: Number(repriced.total_cost.excl_vat), incl_vat: Number(repriced.total_cost.incl_vat) }).toEqual(cdr.total_cost);
    });

    it('takes the connector of the EVSE when the site names it, and builds the EVSE id from the CPO party', () => {
      const cdr = buildCdr(input());
      expect(cdr.cdr_location).toMatchObject({ evse_uid: 'CP-9-2', evse_id: 'DE*VLT*ECP9*2', connector_id: '2', connector_standard: 'IEC_62196_T2_COMBO', connector_power_type: 'DC' });
    });

    it('is deterministic: the same input gives the same bytes', () => {
      expect(JSON.stringify(buildCdr(input()))).toBe(JSON.stringify(buildCdr(input())));
    });
  });

  describe('credit CDR', () => {
    it('repeats the original with a new id, the reference, and only total_cost negated', () => {
      const original = buildCdr(input());
      const credit = buildCreditCdr(original, '2026-11-20T00:00:00Z', 'meter replaced');
      expect(cdrSchemaErrors(credit)).toEqual([]);
      expect(credit).toMatchObject({ id: 'CDR-sess_1-C', credit: true, credit_reference_id: 'CDR-sess_1', remark: 'meter replaced' });
      expect(credit.total_cost).toEqual({ excl_vat: -original.total_cost.excl_vat, incl_vat: -original.total_cost.incl_vat });
      expect(credit.total_energy_cost).toEqual(original.total_energy_cost);
      expect(credit.charging_periods).toEqual(original.charging_periods);
      expect(cdrAmounts(credit)).toEqual(cdrAmounts(original));
    });

    it('is refused by the schema without its reference, and a normal CDR with a negative total is too', () => {
      const original = buildCdr(input());
      const { credit_reference_id: _r, ...noReference } = buildCreditCdr(original, '2026-11-20T00:00:00Z');
      expect(cdrSchemaErrors(noReference).join()).toMatch(/credit_reference_id/);
      expect(cdrSchemaErrors({ ...original, total_cost: { excl_vat: -1, incl_vat: -1.19 } }).length).toBeGreaterThan(0);
    });
  });

  describe('amounts', () => {
    it('are minor units, VAT the difference', () => {
      expect(cdrAmounts({ ...buildCdr(input()), total_cost: { excl_vat: 5.1, incl_vat: 6.07 } })).toEqual({ exclVatMinor: 510, vatMinor: 97, inclVatMinor: 607 });
    });
  });
});

describe('OCPI tokens in the entitlement cache', () => {
  it.each([
    [{ whitelist: 'ALWAYS' }, 'Accepted'],
    [{ whitelist: 'ALLOWED' }, 'Accepted'],
    [{ whitelist: 'ALLOWED_OFFLINE' }, 'Invalid'],
    [{ whitelist: 'NEVER' }, 'Invalid'],
    [{ valid: false }, 'Blocked'],
  ] as const)('%j -> %s', (overrides, status) => {
    expect(authorizationFor(aToken(overrides as Partial<OcpiToken>), aPartner()).status).toBe(status);
  });

  it('blocks every token of a partner that is not active', () => {
    expect(authorizationFor(aToken(), aPartner({ active: false })).status).toBe('Blocked');
  });

  it('writes the idTag with the roaming billing profile, the group as parent and the partner tariff', () => {
    const record = entitlementForToken(aToken({ group_id: 'GROUP-1' }), aPartner({ tokenTariffId: 'ROAM-1' }), '2026-11-01T00:00:00Z');
    expect(record).toEqual({ idTag: '04AABBCCDD', status: 'Accepted', parentIdTag: 'GROUP-1', billing: { kind: 'roaming', partnerId: 'EMSP' }, tariffId: 'ROAM-1', updatedAt: '2026-11-01T00:00:00Z' });
  });

  it.each([
    [{ uid: 'X'.repeat(21) }, 'uid'],
    [{ party_id: 'ABC' }, 'party_id'],
  ])('refuses %j', (overrides, field) => {
    expect(() => entitlementForToken(aToken(overrides), aPartner(), '2026-11-01T00:00:00Z')).toThrow(expect.objectContaining({ path: field }));
  });
});

describe('partner answers', () => {
  it.each([
    [{ httpStatus: 200, ocpiStatus: 1000 }, 'accepted'],
    [{ httpStatus: 201, ocpiStatus: 1000 }, 'accepted'],
    [{ httpStatus: 200, ocpiStatus: 2001 }, 'rejected'],
    [{ httpStatus: 200, ocpiStatus: 3000 }, 'retry'],
    [{ httpStatus: 200 }, 'retry'],
    [{ httpStatus: 503, ocpiStatus: 3000 }, 'retry'],
    [{ httpStatus: 429 }, 'retry'],
    [{ httpStatus: 401 }, 'rejected'],
    [{ httpStatus: 404 }, 'rejected'],
    [{ error: 'ECONNREFUSED' }, 'retry'],
  ])('%j -> %s', (answer, outcome) => {
    expect(classify(answer)).toBe(outcome);
  });
});
