import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MeterSample } from '../../functions/ocpp/domain/model.ts';
import { holdAmount, incrementDecision } from '../../functions/payments/domain/amounts.ts';
import type { HoldAmountPolicy, PaymentPolicy } from '../../functions/payments/domain/policy.ts';
import { latestRegisterWh } from '../../functions/payments/domain/running.ts';
import { parseTariff, type Tariff } from '../../functions/pricing/domain/tariff.ts';
import { isoMinorDigits, minimumChargeMinor, toStripeStep, UnknownCurrencyError } from '../../functions/shared/money.ts';

type Component = { type: 'ENERGY' | 'TIME' | 'PARKING_TIME' | 'FLAT'; price: number; vat?: number; step_size?: number };

/** A parsed OCPI tariff from elements (each a list of components), as the pricing tests write them. */
function aTariff(elements: Component[][], extra: Record<string, unknown> = {}, currency = 'EUR'): Tariff {
  return parseTariff({
    country_code: 'DE',
    party_id: 'VLT',
    id: 'T-HOLD',
    currency,
    elements: elements.map((components) => ({ price_components: components.map((c) => ({ step_size: 1, ...c })) })),
    last_updated: '2024-01-01T00:00:00Z',
    ...extra,
  });
}

function estimate(hold: Partial<Extract<HoldAmountPolicy, { mode: 'estimate' }>> = {}): { hold: HoldAmountPolicy } {
  return { hold: { mode: 'estimate', maxDurationMinutes: 60, capMinor: 1_000_000, floorMinor: 0, ...hold } };
}

describe('minimumChargeMinor', () => {
  it.each([
    ['EUR', 50],
    ['USD', 50],
    ['GBP', 30],
    ['DKK', 250],
    ['NOK', 300],
    ['SEK', 300],
    ['PLN', 200],
    ['CZK', 1500],
    ['HUF', 17500],
    ['JPY', 50],
    ['MXN', 1000],
    ['HKD', 400],
  ])('%s: %i', (currency, minor) => {
    expect(minimumChargeMinor(currency)).toBe(minor);
  });

  it('accepts lower-case codes', () => {
    expect(minimumChargeMinor('gbp')).toBe(30);
    expect(minimumChargeMinor('huf')).toBe(17500);
  });

  it('is 50 minor units for a currency Stripe does not list', () => {
    expect(minimumChargeMinor('KWD')).toBe(50);
  });

  it('refuses a code that is no ISO 4217 currency', () => {
    expect(() => minimumChargeMinor('XYZ')).toThrow(UnknownCurrencyError);
  });
});

describe('holdAmount: fixed', () => {
  it('holds the fixed amount, whatever the tariff', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 9.99 }]]);
    expect(holdAmount({ policy: { hold: { mode: 'fixed', amountMinor: 5_000 } }, tariff, currency: 'EUR' })).toEqual({ amountMinor: 5_000, basis: 'fixed' });
    expect(holdAmount({ policy: { hold: { mode: 'fixed', amountMinor: 5_000 } }, tariff: undefined, currency: 'EUR' })).toEqual({ amountMinor: 5_000, basis: 'fixed' });
  });

  it('raises a fixed amount below the currency minimum to the minimum', () => {
    expect(holdAmount({ policy: { hold: { mode: 'fixed', amountMinor: 49 } }, tariff: undefined, currency: 'EUR' })).toEqual({ amountMinor: 50, basis: 'minimum' });
    expect(holdAmount({ policy: { hold: { mode: 'fixed', amountMinor: 0 } }, tariff: undefined, currency: 'HUF' })).toEqual({ amountMinor: 17_500, basis: 'minimum' });
  });

  it('keeps a fixed amount equal to the minimum as fixed', () => {
    expect(holdAmount({ policy: { hold: { mode: 'fixed', amountMinor: 30 } }, tariff: undefined, currency: 'GBP' })).toEqual({ amountMinor: 30, basis: 'fixed' });
  });
});

describe('holdAmount: estimate', () => {
  it('holds the cap when there is no tariff (at least the currency minimum)', () => {
    expect(holdAmount({ policy: estimate({ capMinor: 7_500 }), tariff: undefined, currency: 'EUR' })).toEqual({ amountMinor: 7_500, basis: 'cap' });
    expect(holdAmount({ policy: estimate({ capMinor: 10 }), tariff: undefined, currency: 'EUR' })).toEqual({ amountMinor: 50, basis: 'cap' });
  });

  it('max power x max duration x energy price: 22 kW x 2 h x 0.30 = 13.20', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 0.3 }]]);
    expect(holdAmount({ policy: estimate({ maxPowerKw: 22, maxDurationMinutes: 120 }), tariff, currency: 'EUR' })).toEqual({
      amountMinor: 1320,
      basis: 'estimate',
      estimate: '13.2000',
      powerKw: 22,
      durationMinutes: 120,
    });
  });

  it('is exact where binary floats are not: 3 kW x 1 h x 1.10 = 3.30 (float: 3.3000000000000003 -> 331)', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 1.1 }]]);
    const hold = holdAmount({ policy: estimate({ maxPowerKw: 3, maxDurationMinutes: 60 }), tariff, currency: 'EUR' });
    expect(hold).toMatchObject({ amountMinor: 330, basis: 'estimate', estimate: '3.3000' });
  });

  it('is exact at the GBP minimum: 3 kW x 1 h x 0.10 = 0.30 (float: 0.30000000000000004 -> 31)', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 0.1 }]], {}, 'GBP');
    expect(holdAmount({ policy: estimate({ maxPowerKw: 3, maxDurationMinutes: 60 }), tariff, currency: 'GBP' })).toMatchObject({ amountMinor: 30, basis: 'estimate', estimate: '0.3000' });
  });

  it('includes VAT exactly: 11 kW x 1 h x 0.29 x 1.19 = 3.7961 -> 3.80 (float: 379.60999999999996)', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 0.29, vat: 19 }]]);
    expect(holdAmount({ policy: estimate({ maxPowerKw: 11, maxDurationMinutes: 60 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 380, estimate: '3.7961' });
  });

  it('prices time per hour incl. VAT: 90 min x 1.20/h x 1.19 = 2.142 -> 2.15', () => {
    const tariff = aTariff([[{ type: 'TIME', price: 1.2, vat: 19 }]]);
    expect(holdAmount({ policy: estimate({ maxDurationMinutes: 90 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 215, basis: 'estimate', estimate: '2.1420' });
  });

  it('rounds up the smallest remainder to a whole minor unit', () => {
    // 1 kW x 1 min x 0.000001/kWh = 0.0000000166... -> 0.01
    const tariff = aTariff([[{ type: 'ENERGY', price: 0.000001 }, { type: 'FLAT', price: 1, step_size: 0 }]]);
    expect(holdAmount({ policy: estimate({ maxPowerKw: 1, maxDurationMinutes: 1 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 101, estimate: '1.0000' });
    // an exact figure is not rounded up
    const exact = aTariff([[{ type: 'FLAT', price: 1.01, step_size: 0 }]]);
    expect(holdAmount({ policy: estimate({ maxPowerKw: 1, maxDurationMinutes: 1 }), tariff: exact, currency: 'EUR' })).toMatchObject({ amountMinor: 101, estimate: '1.0100' });
  });

  it('takes the highest ENERGY price incl. VAT across elements (VAT can decide which is highest)', () => {
    // 0.30 x 1.19 = 0.357 beats 0.35 without VAT
    const tariff = aTariff([[{ type: 'ENERGY', price: 0.35 }], [{ type: 'ENERGY', price: 0.3, vat: 19 }]]);
    expect(holdAmount({ policy: estimate({ maxPowerKw: 10, maxDurationMinutes: 60 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 357, estimate: '3.5700' });
  });

  it('takes the highest of TIME and PARKING_TIME as the time price', () => {
    const tariff = aTariff([[{ type: 'TIME', price: 1 }], [{ type: 'PARKING_TIME', price: 3, vat: 10 }]]);
    // 2 h x 3.30
    expect(holdAmount({ policy: estimate({ maxDurationMinutes: 120 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 660, estimate: '6.6000' });
  });

  it('adds the highest FLAT fee once, incl. VAT', () => {
    const tariff = aTariff([[{ type: 'FLAT', price: 1, vat: 19, step_size: 0 }], [{ type: 'FLAT', price: 2.5, vat: 19, step_size: 0 }]]);
    expect(holdAmount({ policy: estimate({ maxDurationMinutes: 600 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 298, estimate: '2.9750' });
  });

  it("adds the idle fee's cap incl. its own VAT; an idle fee without a cap adds nothing", () => {
    const capped = aTariff([[{ type: 'FLAT', price: 1, step_size: 0 }]], { voltledger: { idle_fee: { price: 6, vat: 19, grace_period: 600, max_price: 10 } } });
    expect(holdAmount({ policy: estimate(), tariff: capped, currency: 'EUR' })).toMatchObject({ amountMinor: 1290, estimate: '12.9000' });
    const uncapped = aTariff([[{ type: 'FLAT', price: 1, step_size: 0 }]], { voltledger: { idle_fee: { price: 6, vat: 19, grace_period: 600 } } });
    expect(holdAmount({ policy: estimate(), tariff: uncapped, currency: 'EUR' })).toMatchObject({ amountMinor: 100, estimate: '1.0000' });
  });

  it('sums every component: 11 kW x 2.5 h x 0.3531 + 2.5 h x 2.856 + 1.309 + 8.925 = 27.08425 -> 27.09', () => {
    const tariff = aTariff(
      [
        [
          { type: 'ENERGY', price: 0.29, vat: 19 },
          { type: 'TIME', price: 1.2, vat: 19 },
          { type: 'FLAT', price: 0.5, vat: 19, step_size: 0 },
        ],
        [
          { type: 'ENERGY', price: 0.33, vat: 7 },
          { type: 'PARKING_TIME', price: 2.4, vat: 19 },
        ],
        [
          { type: 'ENERGY', price: 0.35 },
          { type: 'FLAT', price: 1.1, vat: 19, step_size: 0 },
        ],
      ],
      { voltledger: { idle_fee: { price: 5, vat: 19, grace_period: 600, max_price: 7.5 } } },
    );
    expect(holdAmount({ policy: estimate({ maxPowerKw: 22, maxDurationMinutes: 150 }), tariff, currency: 'EUR', chargerMaxPowerKw: 11 })).toEqual({
      amountMinor: 2709,
      basis: 'estimate',
      estimate: '27.0842',
      powerKw: 11,
      durationMinutes: 150,
    });
  });

  it('uses the lower of the charger rating and the policy power; either alone; 22 kW when neither', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 1 }]]);
    const at = (maxPowerKw: number | undefined, chargerMaxPowerKw: number | undefined) =>
      holdAmount({ policy: estimate({ ...(maxPowerKw === undefined ? {} : { maxPowerKw }), maxDurationMinutes: 60 }), tariff, currency: 'EUR', ...(chargerMaxPowerKw === undefined ? {} : { chargerMaxPowerKw }) });
    expect(at(22, 7.4)).toMatchObject({ powerKw: 7.4, amountMinor: 740 });
    expect(at(11, 50)).toMatchObject({ powerKw: 11, amountMinor: 1100 });
    expect(at(undefined, 3.7)).toMatchObject({ powerKw: 3.7, amountMinor: 370 });
    expect(at(7.4, undefined)).toMatchObject({ powerKw: 7.4, amountMinor: 740 });
    expect(at(undefined, undefined)).toMatchObject({ powerKw: 22, amountMinor: 2200 });
    expect(at(undefined, 0)).toMatchObject({ powerKw: 22, amountMinor: 2200 });
  });

  it('caps the estimate at capMinor and still reports the exact estimate', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 0.59, vat: 19 }]]);
    // 22 kW x 2 h x 0.7021 = 30.8924
    expect(holdAmount({ policy: estimate({ maxPowerKw: 22, maxDurationMinutes: 120, capMinor: 2_500 }), tariff, currency: 'EUR' })).toEqual({
      amountMinor: 2_500,
      basis: 'cap',
      estimate: '30.8924',
      powerKw: 22,
      durationMinutes: 120,
    });
    expect(holdAmount({ policy: estimate({ maxPowerKw: 22, maxDurationMinutes: 120, capMinor: 3_090 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 3_090, basis: 'estimate' });
    expect(holdAmount({ policy: estimate({ maxPowerKw: 22, maxDurationMinutes: 120, capMinor: 3_089 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 3_089, basis: 'cap' });
  });

  it('raises an estimate below floorMinor to the floor', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 0.3 }]]);
    expect(holdAmount({ policy: estimate({ maxPowerKw: 22, maxDurationMinutes: 120, floorMinor: 2_000 }), tariff, currency: 'EUR' })).toMatchObject({
      amountMinor: 2_000,
      basis: 'floor',
      estimate: '13.2000',
    });
  });

  it('raises an estimate below the currency minimum to the minimum (no floor, or a floor below it)', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 0.1 }]]);
    // 1 kW x 1 h x 0.10 = 0.10
    expect(holdAmount({ policy: { hold: { mode: 'estimate', maxPowerKw: 1, maxDurationMinutes: 60, capMinor: 10_000 } }, tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 50, basis: 'minimum', estimate: '0.1000' });
    expect(holdAmount({ policy: estimate({ maxPowerKw: 1, maxDurationMinutes: 60, floorMinor: 20 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 50, basis: 'minimum' });
    // a floor equal to the minimum is the policy's floor
    expect(holdAmount({ policy: estimate({ maxPowerKw: 1, maxDurationMinutes: 60, floorMinor: 50 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 50, basis: 'floor' });
    // a cap below the minimum still holds the minimum
    expect(holdAmount({ policy: estimate({ maxPowerKw: 22, maxDurationMinutes: 60, capMinor: 10 }), tariff, currency: 'EUR' })).toMatchObject({ amountMinor: 50, basis: 'minimum' });
  });

  it('uses the currency minor digits: JPY has none (40 JPY x 7.4 kW x 1.5 h = 444; float: 444.00000000000006 -> 445)', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 40 }]], {}, 'JPY');
    expect(holdAmount({ policy: estimate({ maxPowerKw: 7.4, maxDurationMinutes: 90 }), tariff, currency: 'JPY' })).toMatchObject({ amountMinor: 444, basis: 'estimate', estimate: '444.00' });
    const withVat = aTariff([[{ type: 'ENERGY', price: 40, vat: 10 }]], {}, 'JPY');
    expect(holdAmount({ policy: estimate({ maxPowerKw: 7.4, maxDurationMinutes: 90 }), tariff: withVat, currency: 'JPY' })).toMatchObject({ amountMinor: 489, estimate: '488.40' });
  });

  it('uses the currency minor digits: KWD has three, and Stripe takes them in tens', () => {
    const tariff = aTariff([[{ type: 'ENERGY', price: 0.0125 }]], {}, 'KWD');
    // 7 kW x 1 h x 0.0125 = 0.0875 -> 88 fils -> 90 fils (Stripe: the last of three digits is 0)
    expect(holdAmount({ policy: estimate({ maxPowerKw: 7, maxDurationMinutes: 60 }), tariff, currency: 'KWD' })).toMatchObject({ amountMinor: 90, estimate: '0.08750' });
    // 7 kW x 1 min x 0.0125 = 0.00145833... -> 2 fils
    expect(holdAmount({ policy: estimate({ maxPowerKw: 7, maxDurationMinutes: 1, floorMinor: 0 }), tariff, currency: 'KWD' })).toMatchObject({ amountMinor: 50, basis: 'minimum', estimate: '0.00145' });
  });

  // Found by these tests, since fixed (functions/payments/domain/amounts.ts:73-76): the energy and time parts are each divided with
  // truncation and `remainderExists` adds back at most ONE 1e-16 unit, but the two dropped fractions can
  // add up to more than one unit. When the truncated sum ends exactly one 1e-16 unit below a cent
  // boundary, the hold is rounded DOWN instead of up. Exact total here:
  // 22.0003 kW x 121/60 h x 0.003113 x 1.190001 + 121/60 h x 1.00 + 0.000529 + 99.968347 x 1.000001
  // = 102.15000000000000003166... -> must round up to 10216; holdAmount returns 10215.
  // (Needs a VAT with 4 decimals and a power with 4 decimals; with 0-2 decimal VAT rates the dropped
  // fractions are thirds whose sum cannot land there.) Fix: add both parts over one common denominator.
  it('rounds up even when both truncated parts lose a fraction (exact total just above a cent)', () => {
    const tariff = aTariff(
      [
        [
          { type: 'ENERGY', price: 0.003113, vat: 19.0001 },
          { type: 'TIME', price: 1 },
          { type: 'FLAT', price: 0.000529, step_size: 0 },
        ],
      ],
      { voltledger: { idle_fee: { price: 1, vat: 0.0001, grace_period: 0, max_price: 99.968347 } } },
    );
    const hold = holdAmount({ policy: estimate({ maxPowerKw: 22.0003, maxDurationMinutes: 121 }), tariff, currency: 'EUR' });
    expect(hold.amountMinor).toBe(10216);
  });
});

// ---- exact reference for the property tests: rationals over BigInt from the decimal literals ----

const pow10 = (n: number) => 10n ** BigInt(n);
/** A decimal literal as a fraction [numerator, denominator]. */
function frac(value: number): [bigint, bigint] {
  const text = String(value);
  expect(text).not.toMatch(/e/i);
  const [whole, fraction = ''] = text.split('.');
  return [BigInt(whole! + fraction), pow10(fraction.length)];
}
const mul = (a: [bigint, bigint], b: [bigint, bigint]): [bigint, bigint] => [a[0] * b[0], a[1] * b[1]];
const add = (a: [bigint, bigint], b: [bigint, bigint]): [bigint, bigint] => [a[0] * b[1] + b[0] * a[1], a[1] * b[1]];
const gt = (a: [bigint, bigint], b: [bigint, bigint]) => a[0] * b[1] > b[0] * a[1];
const inclVat = (price: number, vat: number | undefined): [bigint, bigint] => mul(frac(price), add([1n, 1n], mul(frac(vat ?? 0), [1n, 100n])));

const vatArb = fc.option(fc.constantFrom(0, 5, 7, 7.7, 8.1, 10, 19, 20, 21, 25.5), { nil: undefined });
const priceArb = fc.integer({ min: 0, max: 5_000_000 }).map((micro) => micro / 1_000_000); // up to 5.000000, 6 decimals
const componentArb: fc.Arbitrary<Component> = fc.record({
  type: fc.constantFrom('ENERGY', 'TIME', 'PARKING_TIME', 'FLAT') as fc.Arbitrary<Component['type']>,
  price: priceArb,
  vat: vatArb,
});
const elementArb = fc.uniqueArray(componentArb, { minLength: 1, maxLength: 4, selector: (c) => c.type });

describe('holdAmount: properties', () => {
  it('equals the exact rational estimate rounded up, then capped, floored and at least the minimum', () => {
    fc.assert(
      fc.property(
        fc.array(elementArb, { minLength: 1, maxLength: 3 }),
        fc.option(fc.record({ maxPrice: priceArb, vat: vatArb }), { nil: undefined }),
        fc.integer({ min: 1, max: 3_500_000 }).map((tenths) => tenths / 10_000), // kW, up to 4 decimals
        fc.option(fc.integer({ min: 1, max: 3500 }).map((tenths) => tenths / 10), { nil: undefined }),
        fc.integer({ min: 1, max: 7 * 24 * 60 }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.option(fc.integer({ min: 0, max: 5_000 }), { nil: undefined }),
        fc.constantFrom('EUR', 'GBP', 'JPY', 'KWD', 'HUF'),
        (elements, idle, policyKw, chargerKw, minutes, capMinor, floorMinor, currency) => {
          const tariff = aTariff(
            elements.map((components) => components.map((c) => ({ ...(c.vat === undefined ? { type: c.type, price: c.price } : c), step_size: c.type === 'FLAT' ? 0 : 1 }))),
            idle ? { voltledger: { idle_fee: { price: 1, grace_period: 0, max_price: idle.maxPrice, ...(idle.vat === undefined ? {} : { vat: idle.vat }) } } } : {},
            currency,
          );
          const hold: HoldAmountPolicy = { mode: 'estimate', maxPowerKw: policyKw, maxDurationMinutes: minutes, capMinor, ...(floorMinor === undefined ? {} : { floorMinor }) };
          const result = holdAmount({ policy: { hold }, tariff, currency, ...(chargerKw === undefined ? {} : { chargerMaxPowerKw: chargerKw }) });

          const highest = (types: Component['type'][]) => {
            let best: [bigint, bigint] = [0n, 1n];
            for (const c of elements.flat()) if (types.includes(c.type) && gt(inclVat(c.price, c.vat), best)) best = inclVat(c.price, c.vat);
            return best;
          };
          const kw = chargerKw === undefined ? policyKw : Math.min(chargerKw, policyKw);
          const hours: [bigint, bigint] = [BigInt(minutes), 60n];
          let total = mul(mul(frac(kw), hours), highest(['ENERGY']));
          total = add(total, mul(hours, highest(['TIME', 'PARKING_TIME'])));
          total = add(total, highest(['FLAT']));
          if (idle) total = add(total, inclVat(idle.maxPrice, idle.vat));
          const digits = isoMinorDigits(currency);
          const scaled = total[0] * pow10(digits);
          const ceil = scaled / total[1] + (scaled % total[1] === 0n ? 0n : 1n);
          const minimum = BigInt(minimumChargeMinor(currency));
          let expected = ceil > BigInt(capMinor) ? BigInt(capMinor) : ceil;
          const floor = BigInt(Math.max(floorMinor ?? 0, Number(minimum)));
          if (expected < floor) expected = floor;
          // and rounded up to what Stripe takes in the currency (KWD: tens of fils)
          expect(result.amountMinor).toBe(toStripeStep(Number(expected), currency, 'up'));
          expect(result.powerKw).toBe(kw);
          expect(result.durationMinutes).toBe(minutes);
          // the reported estimate is the exact figure truncated to digits + 2 decimals
          const shown = (total[0] * pow10(digits + 2)) / total[1];
          const text = shown.toString().padStart(digits + 3, '0');
          expect(result.estimate).toBe(`${text.slice(0, -(digits + 2))}.${text.slice(-(digits + 2))}`);
          if (result.basis === 'estimate') expect(result.amountMinor).toBe(toStripeStep(Number(ceil), currency, 'up'));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is never below the currency minimum nor the floor; above the cap only to reach them', () => {
    fc.assert(
      fc.property(
        fc.array(elementArb, { minLength: 1, maxLength: 2 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
        fc.constantFrom('EUR', 'GBP', 'DKK', 'HUF', 'JPY'),
        (elements, minutes, capMinor, floorMinor, currency) => {
          const tariff = aTariff(elements.map((cs) => cs.map((c) => (c.vat === undefined ? { type: c.type, price: c.price } : c))), {}, currency);
          const result = holdAmount({ policy: estimate({ maxDurationMinutes: minutes, capMinor, ...(floorMinor === undefined ? { floorMinor: undefined } : { floorMinor }) }), tariff, currency });
          const lower = Math.max(floorMinor ?? 0, minimumChargeMinor(currency));
          expect(Number.isSafeInteger(result.amountMinor)).toBe(true);
          expect(result.amountMinor).toBeGreaterThanOrEqual(lower);
          expect(result.amountMinor).toBeLessThanOrEqual(Math.max(capMinor, lower));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a fixed hold is the amount, or the currency minimum when below it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.constantFrom('EUR', 'GBP', 'HUF', 'CZK', 'JPY', 'ISK'), (amountMinor, currency) => {
        const result = holdAmount({ policy: { hold: { mode: 'fixed', amountMinor } }, tariff: undefined, currency });
        const minimum = minimumChargeMinor(currency);
        expect(result).toEqual(amountMinor < minimum ? { amountMinor: minimum, basis: 'minimum' } : { amountMinor, basis: 'fixed' });
      }),
    );
  });
});

type IncrementPolicy = Pick<PaymentPolicy, 'incrementAtPercent' | 'incrementHeadroomPercent' | 'incrementMinStepMinor' | 'maxHoldMinor'>;
const INCREMENT: IncrementPolicy = { incrementAtPercent: 80, incrementHeadroomPercent: 50, incrementMinStepMinor: 1_000, maxHoldMinor: 30_000 };

describe('amounts Stripe takes only in steps (functions/shared/money.ts stripeStepMinor)', () => {
  it('a fixed hold and the cap round up to a whole step: MGA in ariary, BHD in tens of fils', () => {
    expect(holdAmount({ policy: { hold: { mode: 'fixed', amountMinor: 123_456 } }, tariff: undefined, currency: 'MGA' })).toEqual({ amountMinor: 123_500, basis: 'fixed' });
    expect(holdAmount({ policy: estimate({ capMinor: 7_505 }), tariff: undefined, currency: 'BHD' })).toEqual({ amountMinor: 7_510, basis: 'cap' });
    expect(holdAmount({ policy: { hold: { mode: 'fixed', amountMinor: 0 } }, tariff: undefined, currency: 'MGA' })).toEqual({ amountMinor: 100, basis: 'minimum' });
  });

  it('an increment target rounds up, the maximum down', () => {
    const policy = { incrementAtPercent: 80, incrementHeadroomPercent: 50, incrementMinStepMinor: 1, maxHoldMinor: 30_005 };
    expect(incrementDecision({ policy, holdMinor: 10_000, runningCostMinor: 8_001, currency: 'BHD' })).toEqual({ action: 'increment', toMinor: 12_010 });
    expect(incrementDecision({ policy, holdMinor: 10_000, runningCostMinor: 8_001 })).toEqual({ action: 'increment', toMinor: 12_002 });
    expect(incrementDecision({ policy, holdMinor: 20_000, runningCostMinor: 29_000, currency: 'BHD' })).toEqual({ action: 'increment', toMinor: 30_000 });
    expect(incrementDecision({ policy, holdMinor: 30_000, runningCostMinor: 29_000, currency: 'BHD' })).toEqual({ action: 'at-maximum' });
  });
});

describe('incrementDecision', () => {
  it('does nothing below incrementAtPercent of the hold', () => {
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 10_000, runningCostMinor: 7_999 })).toEqual({ action: 'none' });
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 10_000, runningCostMinor: 0 })).toEqual({ action: 'none' });
    // 80% of 1001 is 800.8: 800 is below it (an integer comparison, no float)
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 1_001, runningCostMinor: 800 })).toEqual({ action: 'none' });
  });

  it('raises at exactly incrementAtPercent to the running cost plus headroom', () => {
    // 8000 x 150% = 12000 > 10000 + 1000
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 10_000, runningCostMinor: 8_000 })).toEqual({ action: 'increment', toMinor: 12_000 });
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 10_000, runningCostMinor: 9_500 })).toEqual({ action: 'increment', toMinor: 14_250 });
  });

  it('rounds the headroom up to a whole minor unit', () => {
    // 8001 x 1.5 = 12001.5 -> 12002
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 10_000, runningCostMinor: 8_001 })).toEqual({ action: 'increment', toMinor: 12_002 });
    // 8001 x 1.33 = 10641.33 -> 10642
    expect(incrementDecision({ policy: { ...INCREMENT, incrementHeadroomPercent: 33, incrementMinStepMinor: 0 }, holdMinor: 10_000, runningCostMinor: 8_001 })).toEqual({
      action: 'increment',
      toMinor: 10_642,
    });
  });

  it('raises by at least incrementMinStepMinor', () => {
    // 1600 x 150% = 2400 < 2000 + 1000
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 2_000, runningCostMinor: 1_600 })).toEqual({ action: 'increment', toMinor: 3_000 });
  });

  it('raises to at most maxHoldMinor', () => {
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 25_000, runningCostMinor: 24_000 })).toEqual({ action: 'increment', toMinor: 30_000 });
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 29_999, runningCostMinor: 24_000 })).toEqual({ action: 'increment', toMinor: 30_000 });
  });

  it('reports at-maximum when the hold is at or above maxHoldMinor', () => {
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 30_000, runningCostMinor: 29_000 })).toEqual({ action: 'at-maximum' });
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 30_000, runningCostMinor: 45_000 })).toEqual({ action: 'at-maximum' });
    expect(incrementDecision({ policy: INCREMENT, holdMinor: 40_000, runningCostMinor: 39_000 })).toEqual({ action: 'at-maximum' });
  });

  // Found by these tests, since fixed (functions/payments/domain/amounts.ts:109-111): with incrementMinStepMinor 0 (the schema allows it)
  // and incrementAtPercent x (100 + incrementHeadroomPercent) <= 10000, the headroom target can be at or
  // below the hold; `target <= holdMinor` then answers 'at-maximum' although the hold (1000) is far below
  // maxHoldMinor (30000). onMeterValues (functions/payments/domain/card-payments.ts) records that as increment_unavailable "the hold is at the
  // policy's maximum" and applies onIncrementUnavailable (`stop` stops the session), and sets
  // incrementRefused so the hold is never raised again. Expected: { action: 'none' } (no raise needed yet).
  it("does not call a hold below maxHoldMinor 'at-maximum' when the headroom target does not exceed it", () => {
    const policy: IncrementPolicy = { incrementAtPercent: 50, incrementHeadroomPercent: 50, incrementMinStepMinor: 0, maxHoldMinor: 30_000 };
    // 500 >= 50% of 1000; 500 x 150% = 750 <= 1000
    expect(incrementDecision({ policy, holdMinor: 1_000, runningCostMinor: 500 })).toEqual({ action: 'none' });
  });

  it('is exact for amounts beyond float precision of the products', () => {
    const policy: IncrementPolicy = { incrementAtPercent: 80, incrementHeadroomPercent: 7, incrementMinStepMinor: 0, maxHoldMinor: Number.MAX_SAFE_INTEGER };
    const running = 90_071_992_547_409; // x 107 = 9_637_703_202_572_763 > 2^53
    const result = incrementDecision({ policy, holdMinor: 90_000_000_000_000, runningCostMinor: running });
    expect(result).toEqual({ action: 'increment', toMinor: Number((BigInt(running) * 107n + 99n) / 100n) });
  });

  it('property: none below the threshold; otherwise a raise within (hold, maxHold] that covers the headroom (or maxHold), or at-maximum only at maxHold', () => {
    fc.assert(
      fc.property(
        fc.record({
          incrementAtPercent: fc.integer({ min: 1, max: 100 }),
          incrementHeadroomPercent: fc.integer({ min: 1, max: 500 }),
          incrementMinStepMinor: fc.integer({ min: 1, max: 5_000 }),
          maxHoldMinor: fc.integer({ min: 0, max: 100_000 }),
        }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        (policy, holdMinor, runningCostMinor) => {
          const result = incrementDecision({ policy, holdMinor, runningCostMinor });
          const reached = runningCostMinor * 100 >= holdMinor * policy.incrementAtPercent;
          if (!reached) {
            expect(result).toEqual({ action: 'none' });
            return;
          }
          // an integer over 100: the float quotient of two exact integers is integral exactly when the true one is
          const headroom = Math.ceil((runningCostMinor * (100 + policy.incrementHeadroomPercent)) / 100);
          if (holdMinor >= policy.maxHoldMinor) {
            expect(result).toEqual({ action: 'at-maximum' });
            return;
          }
          expect(result.action).toBe('increment');
          const to = (result as { toMinor: number }).toMinor;
          expect(to).toBeGreaterThan(holdMinor);
          expect(to).toBeLessThanOrEqual(policy.maxHoldMinor);
          expect(to).toBe(Math.min(Math.max(headroom, holdMinor + policy.incrementMinStepMinor), policy.maxHoldMinor));
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---- running.ts ----

function sample(timestamp: string, ...sampledValue: Array<Record<string, string>>): MeterSample {
  return { timestamp, sampledValue, source: 'MeterValues' };
}

describe('latestRegisterWh', () => {
  it('is undefined without samples or without a register reading', () => {
    expect(latestRegisterWh([])).toBeUndefined();
    expect(latestRegisterWh([sample('2024-05-01T10:00:00.000Z', { value: '7200', measurand: 'Power.Active.Import', unit: 'W' })])).toBeUndefined();
  });

  it('reads Wh; a value without measurand is the register, without unit is Wh', () => {
    expect(latestRegisterWh([sample('2024-05-01T10:00:00.000Z', { value: '12345', measurand: 'Energy.Active.Import.Register', unit: 'Wh' })])).toEqual({
      wh: 12345,
      at: '2024-05-01T10:00:00.000Z',
    });
    expect(latestRegisterWh([sample('2024-05-01T10:00:00.000Z', { value: '12345' })])).toEqual({ wh: 12345, at: '2024-05-01T10:00:00.000Z' });
  });

  it('reads kWh as exact decimals', () => {
    const at = '2024-05-01T10:00:00.000Z';
    expect(latestRegisterWh([sample(at, { value: '10.900', unit: 'kWh' })])).toEqual({ wh: 10_900, at });
    expect(latestRegisterWh([sample(at, { value: '0.3', unit: 'kWh' })])).toEqual({ wh: 300, at }); // float: 0.3 * 1000 = 300.00000000000006
    expect(latestRegisterWh([sample(at, { value: '1.005', unit: 'kWh' })])).toEqual({ wh: 1_005, at }); // float: 1.005 * 1000 = 1004.9999999999999
    expect(latestRegisterWh([sample(at, { value: '4.35', unit: 'kWh' })])).toEqual({ wh: 4_350, at }); // float: 4.35 * 1000 = 4349.999999999999
    expect(latestRegisterWh([sample(at, { value: '123456789.123', unit: 'kWh' })])).toEqual({ wh: 123_456_789_123, at });
  });

  it('rounds fractional Wh down', () => {
    const at = '2024-05-01T10:00:00.000Z';
    expect(latestRegisterWh([sample(at, { value: '12345.9', unit: 'Wh' })])).toEqual({ wh: 12345, at });
    expect(latestRegisterWh([sample(at, { value: '12345.999', unit: 'Wh' })])).toEqual({ wh: 12345, at });
  });

  // Found by these tests, since fixed (minor; functions/payments/domain/running.ts:20): the value is parsed at 3 decimals with
  // parseScaled's half-up rounding before Wh are taken, so a 4th decimal can round a reading UP across a
  // whole Wh, contrary to "Wh, rounded down": "12345.9996" Wh -> 12346 (expected 12345); "0.0015" kWh
  // (1.5 Wh) -> 2 (expected 1).
  it('rounds down even with more than three decimals', () => {
    const at = '2024-05-01T10:00:00.000Z';
    expect(latestRegisterWh([sample(at, { value: '12345.9996', unit: 'Wh' })])).toEqual({ wh: 12345, at });
    expect(latestRegisterWh([sample(at, { value: '0.0015', unit: 'kWh' })])).toEqual({ wh: 1, at });
  });

  it('ignores per-phase values, other measurands, other units and values that are not non-negative decimals', () => {
    const at = '2024-05-01T10:00:00.000Z';
    const result = latestRegisterWh([
      sample(
        at,
        { value: '99999', phase: 'L1' },
        { value: '88888', measurand: 'Energy.Active.Import.Register', unit: 'Wh', phase: 'L1-N' },
        { value: '77777', measurand: 'Energy.Active.Export.Register', unit: 'Wh' },
        { value: '66666', measurand: 'Energy.Active.Import.Interval', unit: 'Wh' },
        { value: '55555', measurand: 'Power.Active.Import', unit: 'W' },
        { value: '44444', unit: 'varh' },
        { value: '-5', unit: 'Wh' },
        { value: 'abc', unit: 'Wh' },
        { value: '', unit: 'Wh' },
        { value: '1e3', unit: 'Wh' },
        { value: '5000', unit: 'Wh' },
      ),
    ]);
    expect(result).toEqual({ wh: 5000, at });
    expect(latestRegisterWh([sample(at, { value: '99999', phase: 'L1' }, { value: '-1' }, { unit: 'Wh' } as Record<string, string>)])).toBeUndefined();
  });

  it('takes the latest reading by timestamp, not by order', () => {
    const result = latestRegisterWh([
      sample('2024-05-01T10:15:00.000Z', { value: '3000' }),
      sample('2024-05-01T10:30:00.000Z', { value: '4.5', unit: 'kWh' }),
      sample('2024-05-01T10:00:00.000Z', { value: '1000' }),
      // later, but with only a phase value: does not count
      sample('2024-05-01T10:45:00.000Z', { value: '6000', phase: 'L2' }),
      sample('2024-05-01T10:20:00.000Z', { value: '3500' }),
    ]);
    expect(result).toEqual({ wh: 4500, at: '2024-05-01T10:30:00.000Z' });
  });

  it('property: the reading of the sample with the greatest timestamp, kWh x 1000 exactly', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            minute: fc.integer({ min: 0, max: 10_000 }),
            milliKwh: fc.integer({ min: 0, max: 999_999_999 }),
            kwh: fc.boolean(),
          }),
          { minLength: 1, maxLength: 20, selector: (s) => s.minute },
        ),
        (specs) => {
          const base = Date.parse('2024-05-01T00:00:00.000Z');
          const samples = specs.map((s) =>
            sample(new Date(base + s.minute * 60_000).toISOString(), s.kwh ? { value: `${Math.floor(s.milliKwh / 1000)}.${String(s.milliKwh % 1000).padStart(3, '0')}`, unit: 'kWh' } : { value: String(s.milliKwh), unit: 'Wh' }),
          );
          const latest = specs.reduce((a, b) => (b.minute > a.minute ? b : a));
          expect(latestRegisterWh(samples)).toEqual({ wh: latest.milliKwh, at: new Date(base + latest.minute * 60_000).toISOString() });
        },
      ),
    );
  });
});
