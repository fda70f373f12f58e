import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { parseTariff, priceCdr, type PricedSession } from '../../../functions/pricing/domain/index.ts';
import examples from '../../fixtures/ocpi-2.2.1-examples.json' with { type: 'json' };

interface Vector {
  id: string;
  source: string;
  time_zone: string;
  tariff: unknown;
  cdr: Parameters<typeof priceCdr>[1];
  expected: Record<string, { excl_vat: string; incl_vat: string }>;
  tolerance: string;
  notes: string;
}

const vectors = (examples as unknown as { vectors: Vector[] }).vectors;
type Total = 'total_cost' | 'total_fixed_cost' | 'total_energy_cost' | 'total_time_cost' | 'total_parking_cost';

describe('priceCdr', () => {
  describe('OCPI 2.2.1 worked examples (test/fixtures/ocpi-2.2.1-examples.json)', () => {
    it('has all 25 vectors', () => {
      expect(vectors).toHaveLength(25);
    });

    // The fixture's rule: compare after rounding the expected exact value to the currency's minor unit, within the tolerance.
    it.each(vectors.map((vector) => [`${vector.id}: ${vector.source}`, vector] as const))('%s', (_name, vector) => {
      const priced: PricedSession = priceCdr(parseTariff(vector.tariff), vector.cdr, vector.time_zone);

      for (const [field, expected] of Object.entries(vector.expected)) {
        const actual = priced[field as Total];
        for (const limb of ['excl_vat', 'incl_vat'] as const) {
          const want = new Decimal(expected[limb]).toDecimalPlaces(priced.minorUnitDigits, Decimal.ROUND_HALF_UP);
          const difference = new Decimal(actual[limb]).minus(want).abs();
          expect(difference.lte(vector.tolerance), `${field}.${limb}: expected ${want} (from ${expected[limb]}), got ${actual[limb]}`).toBe(true);
        }
      }
      expect(priced.totalMinor).toBe(Number(new Decimal(priced.total_cost.incl_vat).times(10 ** priced.minorUnitDigits)));
    });
  });

  describe('exactness', () => {
    // Stricter than the fixture's tolerance: the engine is exact, so the rounded totals match to the cent.
    it.each(vectors.map((vector) => [vector.id, vector] as const))('%s matches every expected total to the cent', (_id, vector) => {
      const priced = priceCdr(parseTariff(vector.tariff), vector.cdr, vector.time_zone);
      for (const [field, expected] of Object.entries(vector.expected)) {
        expect(priced[field as Total]).toEqual({
          excl_vat: new Decimal(expected.excl_vat).toFixed(2, Decimal.ROUND_HALF_UP),
          incl_vat: new Decimal(expected.incl_vat).toFixed(2, Decimal.ROUND_HALF_UP),
        });
      }
    });
  });
});
