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

  describe('the one rounding point', () => {
    // Stricter than the fixture's tolerance: total_cost is rounded once from the exact total, so it
    // matches the expected value to the cent; sub-totals are that total shared out by largest
    // remainder, so they add up and each is within one cent of its own exact value.
    it.each(vectors.map((vector) => [vector.id, vector] as const))('%s: total_cost to the cent, lines and sub-totals adding up to it', (_id, vector) => {
      const priced = priceCdr(parseTariff(vector.tariff), vector.cdr, vector.time_zone);
      const cents = (text: string) => Math.round(Number(text) * 100);

      for (const [field, expected] of Object.entries(vector.expected)) {
        for (const limb of ['excl_vat', 'incl_vat'] as const) {
          const want = cents(new Decimal(expected[limb]).toFixed(2, Decimal.ROUND_HALF_UP));
          const got = cents(priced[field as Total][limb]);
          if (field === 'total_cost') expect(got, `${field}.${limb}`).toBe(want);
          else expect(Math.abs(got - want), `${field}.${limb}`).toBeLessThanOrEqual(1);
        }
      }
      for (const limb of ['excl_vat', 'incl_vat'] as const) {
        expect(priced.lines.reduce((sum, line) => sum + cents(line.cost[limb]), 0)).toBe(cents(priced.total_cost[limb]));
      }
    });
  });
});
