import { describe, expect, it } from 'vitest';
import { exportTariffToOcpi, parseBillingProfile, parseTariff } from '../../../functions/pricing/domain/index.ts';
import { ValidationError } from '../../../functions/shared/errors.ts';
import { aTariffJson, anElement } from './builders.ts';

function errorOf(parse: () => unknown): ValidationError {
  try {
    parse();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

const withRestrictions = (restrictions: Record<string, unknown>) =>
  aTariffJson({ elements: [{ price_components: [{ type: 'ENERGY', price: 0.3, step_size: 1 }], restrictions }] });

describe('parseTariff', () => {
  describe('accepts OCPI 2.2.1 tariffs', () => {
    it('returns the tariff typed, keeping id and last_updated for versioning', () => {
      const tariff = parseTariff(aTariffJson({ id: 'AC-1', last_updated: '2024-05-01T10:00:00Z' }));

      expect(tariff.id).toBe('AC-1');
      expect(tariff.last_updated).toBe('2024-05-01T10:00:00Z');
      expect(tariff.elements[0]!.price_components[0]).toEqual({ type: 'ENERGY', price: 0.3, step_size: 1 });
    });

    it('accepts every OCPI field and the voltledger extension', () => {
      const json = aTariffJson({
        type: 'REGULAR',
        tariff_alt_text: [{ language: 'en', text: '0.30/kWh' }],
        tariff_alt_url: 'https://example.com/tariff',
        min_price: { excl_vat: 0.5, incl_vat: 0.6 },
        max_price: { excl_vat: 50, incl_vat: 59.5 },
        start_date_time: '2024-01-01T00:00:00Z',
        end_date_time: '2025-01-01T00:00:00Z',
        energy_mix: { is_green_energy: true, energy_sources: [{ source: 'WIND', percentage: 100 }], supplier_name: 'Wind AG' },
        elements: [
          anElement([{ type: 'ENERGY', price: 0.3, vat: 19 }], {
            start_time: '22:00',
            end_time: '06:00',
            start_date: '2024-01-01',
            end_date: '2024-12-31',
            min_kwh: 0,
            max_kwh: 100,
            min_current: 6,
            max_current: 32,
            min_power: 1.5,
            max_power: 22,
            min_duration: 0,
            max_duration: 7200,
            day_of_week: ['SATURDAY', 'SUNDAY'],
          }),
          anElement([{ type: 'TIME', price: 0 }], { reservation: 'RESERVATION' }),
          anElement([{ type: 'ENERGY', price: 0.4 }]),
        ],
        voltledger: {
          pricing_mode: 'OCPI',
          idle_fee: { price: 6, vat: 19, grace_period: 600, step_size: 60, max_price: 12 },
          member_tiers: { gold: { discount_percent: 15 }, 'fleet.basic': { elements: [anElement([{ type: 'ENERGY', price: 0.25 }])] } },
          fleet_accounts: { ACME: { description: 'ACME fleet contract', discount_percent: 10.5 } },
        },
      });

      expect(() => parseTariff(json)).not.toThrow();
    });

    it.each([
      ['00:00', '00:00'],
      ['23:59', '00:00'],
      ['22:00', '06:00'],
    ])('accepts the time window %s-%s', (start_time, end_time) => {
      expect(() => parseTariff(withRestrictions({ start_time, end_time }))).not.toThrow();
    });
  });

  describe('rejects with the path of the field', () => {
    it.each([
      ['a misspelt weekday', withRestrictions({ day_of_week: ['MONDAY', 'MONDY'] }), 'elements[0].restrictions.day_of_week[1]'],
      ['a weekday listed twice', withRestrictions({ day_of_week: ['MONDAY', 'MONDAY'] }), 'elements[0].restrictions.day_of_week[1]'],
      ['an unknown field at the top', aTariffJson({ colour: 'red' }), 'colour'],
      ['a misspelt restriction', withRestrictions({ start_tme: '10:00' }), 'elements[0].restrictions.start_tme'],
      ['an unknown field in a price component', aTariffJson({ elements: [{ price_components: [{ type: 'ENERGY', price: 1, step_size: 1, vat_rate: 19 }] }] }), 'elements[0].price_components[0].vat_rate'],
      ['a negative price', aTariffJson({ elements: [anElement([{ type: 'ENERGY', price: -0.3 }])] }), 'elements[0].price_components[0].price'],
      ['a price with 7 decimals', aTariffJson({ elements: [anElement([{ type: 'ENERGY', price: 0.1234567 }])] }), 'elements[0].price_components[0].price'],
      ['a VAT above 100 %', aTariffJson({ elements: [anElement([{ type: 'ENERGY', price: 0.3, vat: 119 }])] }), 'elements[0].price_components[0].vat'],
      ['a fractional step_size', aTariffJson({ elements: [anElement([{ type: 'ENERGY', price: 0.3, step_size: 1.5 }])] }), 'elements[0].price_components[0].step_size'],
      ['a missing step_size', aTariffJson({ elements: [{ price_components: [{ type: 'ENERGY', price: 0.3 }] }] }), 'elements[0].price_components[0].step_size'],
      ['an unknown dimension', aTariffJson({ elements: [anElement([{ type: 'KWH' as 'ENERGY', price: 0.3 }])] }), 'elements[0].price_components[0].type'],
      ['two components of one dimension in one element', aTariffJson({ elements: [anElement([{ type: 'ENERGY', price: 0.3 }, { type: 'ENERGY', price: 0.4 }])] }), 'elements[0].price_components[1].type'],
      ['24:00 as a time', withRestrictions({ end_time: '24:00' }), 'elements[0].restrictions.end_time'],
      ['a time without leading zero', withRestrictions({ start_time: '9:00' }), 'elements[0].restrictions.start_time'],
      ['a date that does not exist', withRestrictions({ start_date: '2024-02-30' }), 'elements[0].restrictions.start_date'],
      ['start_date after end_date', withRestrictions({ start_date: '2024-06-01', end_date: '2024-05-01' }), 'elements[0].restrictions.start_date'],
      ['min_kwh above max_kwh', withRestrictions({ min_kwh: 20, max_kwh: 10 }), 'elements[0].restrictions.min_kwh'],
      ['a negative min_power', withRestrictions({ min_power: -1 }), 'elements[0].restrictions.min_power'],
      ['a fractional max_duration', withRestrictions({ max_duration: 1.5 }), 'elements[0].restrictions.max_duration'],
      ['an empty day_of_week', withRestrictions({ day_of_week: [] }), 'elements[0].restrictions.day_of_week'],
      ['no elements', aTariffJson({ elements: [] }), 'elements'],
      ['an unknown currency', aTariffJson({ currency: 'EUX' }), 'currency'],
      ['a lower-case currency', aTariffJson({ currency: 'eur' }), 'currency'],
      ['a missing last_updated', aTariffJson({ last_updated: undefined }), 'last_updated'],
      ['a last_updated that is not a date-time', aTariffJson({ last_updated: '2024-01-01' }), 'last_updated'],
      ['min_price above max_price', aTariffJson({ min_price: { excl_vat: 10 }, max_price: { excl_vat: 5 } }), 'min_price.excl_vat'],
      ['an id over 36 characters', aTariffJson({ id: 'x'.repeat(37) }), 'id'],
      ['an unknown extension field', aTariffJson({ voltledger: { idle_fees: {} } }), 'voltledger.idle_fees'],
      ['an idle fee without grace_period', aTariffJson({ voltledger: { idle_fee: { price: 6 } } }), 'voltledger.idle_fee.grace_period'],
      ['a tier with both elements and discount', aTariffJson({ voltledger: { member_tiers: { gold: { discount_percent: 10, elements: [anElement([{ type: 'ENERGY', price: 0.2 }])] } } } }), 'voltledger.member_tiers.gold.discount_percent'],
      ['a tier element with a bad weekday', aTariffJson({ voltledger: { member_tiers: { gold: { elements: [anElement([{ type: 'ENERGY', price: 0.2 }], { day_of_week: ['FUNDAY' as 'MONDAY'] })] } } } }), 'voltledger.member_tiers.gold.elements[0].restrictions.day_of_week[0]'],
      ['ENERGY in a reservation element', aTariffJson({ elements: [anElement([{ type: 'ENERGY', price: 0.3 }], { reservation: 'RESERVATION' }), anElement([{ type: 'ENERGY', price: 0.3 }])] }), 'elements[0].price_components[0].type'],
      ['energy priced in TIME_BASED mode', aTariffJson({ voltledger: { pricing_mode: 'TIME_BASED' } }), 'elements[0].price_components[0].type'],
    ])('%s', (_name, json, path) => {
      const error = errorOf(() => parseTariff(json));

      expect(error.path).toBe(path);
      expect(error.message).toContain(path);
    });

    it('says what is wrong with a non-object', () => {
      expect(errorOf(() => parseTariff('tariff')).message).toMatch(/expected a JSON object/);
    });
  });
});

describe('parseBillingProfile', () => {
  describe('the five billing models', () => {
    it.each([
      [{ kind: 'retail' }],
      [{ kind: 'retail', channel: 'app' }],
      [{ kind: 'member', tier: 'gold' }],
      [{ kind: 'fleet', accountId: 'ACME' }],
      [{ kind: 'roaming', partnerId: 'NL*TNM' }],
      [{ kind: 'free', reason: 'staff' }],
    ])('accepts %j', (profile) => {
      expect(parseBillingProfile(profile)).toEqual(profile);
    });

    it.each([
      [{ kind: 'vip' }, 'kind'],
      [{ kind: 'member' }, 'tier'],
      [{ kind: 'fleet', accountId: 'ACME', discount: 10 }, 'discount'],
    ])('rejects %j at %s', (profile, path) => {
      expect(errorOf(() => parseBillingProfile(profile)).path).toBe(path);
    });
  });
});

describe('exportTariffToOcpi', () => {
  describe('what OCPI cannot say', () => {
    it('drops the voltledger object and names every extension it dropped', () => {
      const tariff = parseTariff(
        aTariffJson({
          voltledger: {
            idle_fee: { price: 6, grace_period: 600, max_price: 12 },
            member_tiers: { gold: { discount_percent: 15 }, bronze: { discount_percent: 5 } },
            fleet_accounts: { ACME: { discount_percent: 10 } },
          },
        }),
      );

      const { tariff: exported, dropped } = exportTariffToOcpi(tariff);

      expect(exported).not.toHaveProperty('voltledger');
      expect(parseTariff(exported)).toEqual(exported);
      expect(dropped).toHaveLength(3);
      expect(dropped[0]).toMatch(/idle_fee.*600 s grace period.*capped at 12 EUR/);
      expect(dropped[1]).toMatch(/member_tiers \(bronze, gold\)/);
      expect(dropped[2]).toMatch(/fleet_accounts \(ACME\)/);
    });

    it('drops nothing from a plain OCPI tariff', () => {
      const tariff = parseTariff(aTariffJson());

      expect(exportTariffToOcpi(tariff)).toEqual({ tariff, dropped: [] });
    });

    it('says that TIME_BASED mode has no OCPI field but is implied', () => {
      const tariff = parseTariff(aTariffJson({ elements: [anElement([{ type: 'TIME', price: 3 }])], voltledger: { pricing_mode: 'TIME_BASED' } }));

      expect(exportTariffToOcpi(tariff).dropped).toEqual([expect.stringMatching(/TIME_BASED.*price no energy/)]);
    });
  });
});
