import { describe, expect, it } from 'vitest';
import { priceCdr, priceSession } from '../../../functions/pricing/domain/index.ts';
import { aCdr, aSession, aTariff, anElement } from './builders.ts';

const T0 = '2024-01-16T10:00:00Z';
const BERLIN = 'Europe/Berlin';

describe('the pricing engine', () => {
  describe('step_size (OCPI 2.2.1 mod_cdrs)', () => {
    it('rounds ENERGY once, on the session total, with the last element’s step, billing the extra at its price', () => {
      const tariff = aTariff({
        elements: [anElement([{ type: 'ENERGY', price: 0.2, step_size: 100 }], { end_time: '11:30' }), anElement([{ type: 'ENERGY', price: 0.3, step_size: 500 }])],
      });
      const cdr = aCdr(T0, [[0, [['ENERGY', 4.31], ['TIME', 0.5]]], [30, [['ENERGY', 1.1], ['TIME', 0.5]]]], 60);

      const priced = priceCdr(tariff, cdr, BERLIN);

      expect(priced.lines.map((l) => [l.elementIndex, l.quantity, l.billedQuantity])).toEqual([
        [0, '4.31', '4.31'],
        [1, '1.1', '1.19'],
      ]);
      expect(priced.total_cost.excl_vat).toBe('1.22'); // 0.862 + 0.357
    });

    it('rounds TIME when no parking follows', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'TIME', price: 6, step_size: 900 }])] });

      const priced = priceCdr(tariff, aCdr(T0, [[0, [['TIME', 0.25 + 1 / 3600]]]], 16), BERLIN);

      expect(priced.lines[0]).toMatchObject({ quantity: '901', billedQuantity: '1800', cost: { excl_vat: '3.00', incl_vat: '3.00' } });
    });

    it('rounds only PARKING_TIME when charging is followed by parking', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'TIME', price: 6, step_size: 900 }, { type: 'PARKING_TIME', price: 6, step_size: 900 }])] });

      const priced = priceCdr(tariff, aCdr(T0, [[0, [['TIME', 0.1]]], [6, [['PARKING_TIME', 0.1]]]], 12), BERLIN);

      expect(priced.lines.map((l) => [l.kind, l.quantity, l.billedQuantity])).toEqual([
        ['TIME', '360', '360'],
        ['PARKING_TIME', '360', '900'],
      ]);
    });

    it('rounds TIME when the session ends charging after a parking period', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'TIME', price: 6, step_size: 900 }, { type: 'PARKING_TIME', price: 6, step_size: 900 }])] });

      const priced = priceCdr(tariff, aCdr(T0, [[0, [['PARKING_TIME', 0.1]]], [6, [['TIME', 0.1]]]], 12), BERLIN);

      expect(priced.lines.map((l) => [l.kind, l.quantity, l.billedQuantity])).toEqual([
        ['TIME', '360', '900'],
        ['PARKING_TIME', '360', '360'],
      ]);
    });

    it('treats step_size 0 as no step', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 1, step_size: 0 }])] });

      expect(priceCdr(tariff, aCdr(T0, [[0, [['ENERGY', 0.0001]]]], 1), BERLIN).lines[0]!.billedQuantity).toBe('0.0001');
    });
  });

  describe('FLAT', () => {
    it('is charged once, from the first period in which an element with FLAT applies', () => {
      const tariff = aTariff({
        elements: [anElement([{ type: 'FLAT', price: 5 }], { min_kwh: 20 }), anElement([{ type: 'FLAT', price: 1 }], { start_time: '11:30' }), anElement([{ type: 'ENERGY', price: 0.1 }])],
      });
      const cdr = aCdr(T0, [[0, [['ENERGY', 15]]], [20, [['ENERGY', 10]]], [40, [['ENERGY', 10]]]], 60);

      const priced = priceCdr(tariff, cdr, BERLIN);

      expect(priced.lines.filter((l) => l.kind === 'FLAT').map((l) => [l.elementIndex, l.cost.excl_vat])).toEqual([[0, '5.00']]);
    });
  });

  describe('min_price and max_price (both limbs, independently)', () => {
    const cdr = aCdr(T0, [[0, [['ENERGY', 10]]]], 60);
    const withLimits = (limits: Record<string, unknown>) => aTariff({ elements: [anElement([{ type: 'ENERGY', price: 0.5, vat: 20 }])], ...limits }); // 5.00 / 6.00

    it.each([
      ['min binding on both limbs', { min_price: { excl_vat: 8, incl_vat: 9 } }, '8.00', '9.00', 'MIN_PRICE'],
      ['min binding on excl only', { min_price: { excl_vat: 5.5, incl_vat: 6 } }, '5.50', '6.00', 'MIN_PRICE'],
      ['min binding on incl only', { min_price: { excl_vat: 4, incl_vat: 6.5 } }, '5.00', '6.50', 'MIN_PRICE'],
      ['max binding on both limbs', { max_price: { excl_vat: 4, incl_vat: 4.5 } }, '4.00', '4.50', 'MAX_PRICE'],
      ['max binding on incl only', { max_price: { excl_vat: 6, incl_vat: 5.5 } }, '5.00', '5.50', 'MAX_PRICE'],
      ['min without incl_vat: incl is excl plus the single VAT rate', { min_price: { excl_vat: 8 } }, '8.00', '9.60', 'MIN_PRICE'],
      ['max without incl_vat: incl is excl plus the single VAT rate', { max_price: { excl_vat: 2.5 } }, '2.50', '3.00', 'MAX_PRICE'],
      ['neither binding', { min_price: { excl_vat: 1 }, max_price: { excl_vat: 10 } }, '5.00', '6.00', null],
    ])('%s', (_name, limits, excl, incl, adjustment) => {
      const priced = priceCdr(withLimits(limits), cdr, BERLIN);

      expect(priced.total_cost).toEqual({ excl_vat: excl, incl_vat: incl });
      expect(priced.total_energy_cost).toEqual({ excl_vat: '5.00', incl_vat: '6.00' });
      expect(priced.lines.filter((l) => l.kind === 'MIN_PRICE' || l.kind === 'MAX_PRICE').map((l) => l.kind)).toEqual(adjustment ? [adjustment] : []);
    });

    it('says which limit it applied', () => {
      const priced = priceCdr(withLimits({ min_price: { excl_vat: 8, incl_vat: 9 } }), cdr, BERLIN);

      expect(priced.lines[1]).toMatchObject({
        kind: 'MIN_PRICE',
        description: "raised to the tariff's min_price of 8 / 9 EUR (excl. / incl. VAT)",
        cost: { excl_vat: '3.00', incl_vat: '3.00' },
      });
    });
  });

  describe('the one rounding point', () => {
    it('keeps amounts exact until each reported figure, then rounds half up to the minor unit', () => {
      // 1 s at 1.00/h is 0.000277... per second; 18 s = 0.005 exactly: rounds up to 0.01.
      const tariff = aTariff({ elements: [anElement([{ type: 'TIME', price: 1 }])] });

      const priced = priceCdr(tariff, aCdr(T0, [[0, [['TIME', 18 / 3600]]]], 1), BERLIN);

      expect(priced.total_cost.excl_vat).toBe('0.01');
      expect(priced.lines[0]!.unroundedCost.excl_vat).toBe('0.005000');
    });

    it('rounds every figure from its own exact value and states the difference from the total as a ROUNDING line', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'FLAT', price: 0.5, vat: 19 }, { type: 'ENERGY', price: 0.5, vat: 19 }, { type: 'PARKING_TIME', price: 0.5, vat: 19 }])] });

      const priced = priceCdr(tariff, aCdr(T0, [[0, [['ENERGY', 1]]], [10, [['PARKING_TIME', 1]]]], 70), BERLIN);

      // Each line is 0.595 incl. VAT exactly and rounds half up to 0.60 (what anyone recomputing it
      // gets); the total 1.785 rounds to 1.79, so the lines (1.80) carry a -0.01 rounding line.
      expect(priced.lines.map((l) => [l.kind, l.cost.incl_vat, l.unroundedCost.incl_vat])).toEqual([
        ['FLAT', '0.60', '0.595000'],
        ['ENERGY', '0.60', '0.595000'],
        ['PARKING_TIME', '0.60', '0.595000'],
        ['ROUNDING', '-0.01', '0.000000'],
      ]);
      expect(priced.total_cost).toEqual({ excl_vat: '1.50', incl_vat: '1.79' });
      expect([priced.total_fixed_cost.incl_vat, priced.total_energy_cost.incl_vat, priced.total_parking_cost.incl_vat]).toEqual(['0.60', '0.60', '0.60']);
      expect(priced.totalMinor).toBe(179);
      const cents = (text: string) => Math.round(Number(text) * 100);
      expect(priced.lines.reduce((sum, l) => sum + cents(l.cost.incl_vat), 0)).toBe(179);
      expect(priced.lines.reduce((sum, l) => sum + cents(l.cost.excl_vat), 0)).toBe(150);
    });

    it('does not accumulate per-period rounding: 3600 one-second periods cost exactly one hour', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'TIME', price: 0.07, vat: 19 }])] });
      const cdr = aCdr(T0, Array.from({ length: 3600 }, (_, i) => [i / 60, [['TIME', 1 / 3600]]] as [number, Array<[string, number]>]), 60);

      const priced = priceCdr(tariff, cdr, BERLIN);

      expect(priced.total_cost).toEqual({ excl_vat: '0.07', incl_vat: '0.08' });
      expect(priced.lines[0]!.unroundedCost).toEqual({ excl_vat: '0.070000', incl_vat: '0.083300' });
    });

    it.each([
      ['EUR', 2, '12.35', 1235],
      ['JPY', 0, '12', 12],
      ['BHD', 3, '12.346', 12346],
    ])('rounds %s to %i decimals', (currency, digits, excl, minor) => {
      const tariff = aTariff({ currency, elements: [anElement([{ type: 'ENERGY', price: 1.234567 }])] });

      const priced = priceCdr(tariff, aCdr(T0, [[0, [['ENERGY', 10]]]], 60), BERLIN);

      expect(priced.minorUnitDigits).toBe(digits);
      expect(priced.total_cost.excl_vat).toBe(excl);
      expect(priced.totalMinor).toBe(minor);
    });

    it('treats an omitted vat as no VAT', () => {
      const priced = priceCdr(aTariff(), aCdr(T0, [[0, [['ENERGY', 10]]]], 60), BERLIN);

      expect(priced.total_cost).toEqual({ excl_vat: '3.00', incl_vat: '3.00' });
      expect(priced.lines[0]!.vatPercent).toBeNull();
    });
  });

  describe('determinism', () => {
    it('gives byte-identical output for the same input', () => {
      const tariff = aTariff({
        elements: [anElement([{ type: 'ENERGY', price: 0.49, vat: 19 }], { start_time: '07:00', end_time: '22:00' }), anElement([{ type: 'ENERGY', price: 0.35, vat: 19 }]), anElement([{ type: 'PARKING_TIME', price: 6, vat: 19 }])],
        voltledger: { idle_fee: { price: 12, grace_period: 600 } },
      });
      const make = () => aSession({ tariff, start: '2024-01-16T20:30:00Z', samples: [[17, '4321.5'], [33, '9000']], statuses: [[0, 'Charging'], [40, 'Finishing'], [90, 'Available']], stop: { after: 40, meterStopWh: 9100, reason: 'Local' } });

      const first = JSON.stringify(priceSession(make()));
      const second = JSON.stringify(priceSession(make()));

      expect(second).toBe(first);
      expect(Object.keys(JSON.parse(first))).toEqual([
        'tariffId',
        'tariffLastUpdated',
        'currency',
        'minorUnitDigits',
        'timeZone',
        'billing',
        'start_date_time',
        'end_date_time',
        'total_cost',
        'total_fixed_cost',
        'total_energy_cost',
        'total_time_cost',
        'total_parking_cost',
        'total_reservation_cost',
        'total_energy',
        'total_time',
        'total_parking_time',
        'totalMinor',
        'lines',
        'periods',
        'warnings',
      ]);
    });
  });

  describe('the CDR it reads', () => {
    it.each([
      ['a missing charging_periods', { start_date_time: T0, end_date_time: T0 }, 'charging_periods'],
      ['an unknown dimension', aCdr(T0, [[0, [['ENERGY_TOTAL', 1]]]], 1), 'charging_periods[0].dimensions[0].type'],
      ['a negative energy', aCdr(T0, [[0, [['ENERGY', -1]]]], 1), 'charging_periods[0].dimensions[0].volume'],
      ['periods out of order', aCdr(T0, [[10, [['ENERGY', 1]]], [5, [['ENERGY', 1]]]], 20), 'charging_periods[1].start_date_time'],
      ['another currency', { ...aCdr(T0, [[0, [['ENERGY', 1]]]], 1), currency: 'USD' }, 'currency'],
    ])('rejects %s, naming the field', (_name, cdr, path) => {
      expect(() => priceCdr(aTariff(), cdr, BERLIN)).toThrow(expect.objectContaining({ path }));
    });

    it('warns when a CDR period crosses an instant where the price changes', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 1 }], { end_time: '11:30' }), anElement([{ type: 'ENERGY', price: 0.1 }])] });

      const priced = priceCdr(tariff, aCdr(T0, [[0, [['ENERGY', 10]]]], 120), BERLIN);

      expect(priced.warnings.map((w) => w.code)).toEqual(['PERIOD_SPANS_PRICE_BOUNDARY']);
      expect(priced.total_cost.excl_vat).toBe('10.00');
    });

    it('warns when the session starts outside the tariff’s validity', () => {
      const tariff = aTariff({ start_date_time: '2024-02-01T00:00:00Z' });

      expect(priceCdr(tariff, aCdr(T0, [[0, [['ENERGY', 1]]]], 60), BERLIN).warnings.map((w) => w.code)).toEqual(['TARIFF_NOT_ACTIVE']);
    });
  });
});
