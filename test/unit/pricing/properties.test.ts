import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTariff, priceSession, sessionToChargingPeriods, type Tariff } from '../../../functions/pricing/domain/index.ts';
import { maxEnergyMilliWh, STEP_SLACK_MILLI_WH } from '../../../functions/pricing/domain/meter-series.ts';
import { aSession, aTariffJson } from './builders.ts';

const pad = (n: number) => String(n).padStart(2, '0');
const DAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;
const DIMENSIONS = ['ENERGY', 'TIME', 'PARKING_TIME', 'FLAT'] as const;

const timeOfDay = fc.integer({ min: 0, max: 95 }).map((quarter) => `${pad(Math.floor(quarter / 4))}:${pad((quarter % 4) * 15)}`);
const price = fc.integer({ min: 0, max: 150 }).map((cents) => cents / 100);

interface TariffShape {
  power: boolean;
  energyThresholds: boolean;
  steps: boolean;
}

/** Drops undefined keys and impossible min/max pairs, as a tariff author would have to. */
function tidy(restrictions: Record<string, unknown>): Record<string, unknown> | undefined {
  const result = Object.fromEntries(Object.entries(restrictions).filter(([, value]) => value !== undefined));
  const pairs: Array<[string, string]> = [
    ['min_kwh', 'max_kwh'],
    ['min_duration', 'max_duration'],
    ['min_power', 'max_power'],
  ];
  for (const [min, max] of pairs) {
    if (typeof result[min] === 'number' && typeof result[max] === 'number' && (result[min] as number) >= (result[max] as number)) delete result[max];
  }
  return Object.keys(result).length ? result : undefined;
}

/** A random non-negative tariff: restricted elements, then an unrestricted fallback pricing every dimension. */
function tariffArbitrary(shape: TariffShape): fc.Arbitrary<Tariff> {
  const step = (type: string) => (shape.steps ? fc.constantFrom(1, 60, 300, 900) : fc.constant(1)).map((s) => (type === 'ENERGY' && s > 1 ? s * 10 : s));
  const component = (type: (typeof DIMENSIONS)[number]) => fc.record({ type: fc.constant(type), price, step_size: step(type), vat: fc.constantFrom(undefined, 7, 19, 5.5) });
  const components = fc.subarray([...DIMENSIONS], { minLength: 1 }).chain((types) => fc.tuple(...types.map(component)));
  const restrictions = fc
    .record({
      start_time: fc.option(timeOfDay, { nil: undefined }),
      end_time: fc.option(timeOfDay, { nil: undefined }),
      day_of_week: fc.option(fc.subarray([...DAYS], { minLength: 1 }), { nil: undefined }),
      min_duration: fc.option(fc.integer({ min: 0, max: 7200 }), { nil: undefined }),
      max_duration: fc.option(fc.integer({ min: 1, max: 14400 }), { nil: undefined }),
      min_kwh: shape.energyThresholds ? fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }) : fc.constant(undefined),
      max_kwh: shape.energyThresholds ? fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }) : fc.constant(undefined),
      min_power: shape.power ? fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }) : fc.constant(undefined),
      max_power: shape.power ? fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }) : fc.constant(undefined),
    })
    .map(tidy);
  const element = fc.tuple(components, restrictions).map(([price_components, r]) => ({ price_components: price_components.map((c) => tidy(c)), ...(r ? { restrictions: r } : {}) }));
  const fallback = fc.tuple(component('ENERGY'), component('TIME'), component('PARKING_TIME')).map((cs) => ({ price_components: cs.map((c) => tidy(c)) }));
  const limit = (from: number, to: number) => fc.integer({ min: from, max: to }).map((cents) => cents / 100);
  const limits = fc.record({
    min_price: fc.option(fc.record({ excl_vat: limit(0, 150), incl_vat: limit(0, 180) }), { nil: undefined }),
    max_price: fc.option(fc.record({ excl_vat: limit(150, 5000), incl_vat: limit(180, 6000) }), { nil: undefined }),
  });
  return fc
    .tuple(fc.array(element, { maxLength: 6 }), fallback, limits)
    .map(([elements, last, { min_price, max_price }]) => parseTariff(aTariffJson({ elements: [...elements, last], ...tidy({ min_price, max_price }) })));
}

/** Session starts through 2024 in Berlin, the two DST days included. */
const start = fc.oneof(
  fc.integer({ min: 0, max: 365 * 24 * 4 - 1 }).map((quarter) => new Date(Date.UTC(2024, 0, 1) + quarter * 15 * 60_000 + 7_000).toISOString()),
  fc.constantFrom('2024-03-31T00:10:00Z', '2024-10-26T23:40:00Z', '2024-12-31T22:55:00Z'),
);

/** Sampling intervals: whole minutes and whole Wh, as charge points send them. */
const intervals = fc.array(fc.record({ minutes: fc.integer({ min: 1, max: 45 }), wh: fc.integer({ min: 0, max: 6000 }) }), { minLength: 1, maxLength: 12 });

function sessionOf(tariff: Tariff, startIso: string, steps: Array<{ minutes: number; wh: number }>, meterStartWh = 10_000) {
  let minute = 0;
  let register = meterStartWh;
  const samples: Array<[number, string]> = [];
  for (const { minutes, wh } of steps) {
    minute += minutes;
    register += wh;
    samples.push([minute, String(register)]);
  }
  return aSession({ tariff, start: startIso, meterStartWh, samples: samples.slice(0, -1), stop: { after: minute, meterStopWh: register } });
}

const minor = (text: string) => BigInt(text.replace('.', ''));

describe('pricing properties (fast-check)', () => {
  describe('energy', () => {
    it('is conserved across every split, whatever the readings and statuses', () => {
      fc.assert(
        fc.property(
          tariffArbitrary({ power: true, energyThresholds: true, steps: true }),
          start,
          fc.array(fc.record({ minutes: fc.integer({ min: 0, max: 60 }), wh: fc.integer({ min: -2000, max: 8000 }) }), { maxLength: 15 }),
          fc.array(fc.tuple(fc.integer({ min: 0, max: 600 }), fc.constantFrom('Charging', 'SuspendedEV', 'SuspendedEVSE', 'Finishing')), { maxLength: 5 }),
          fc.integer({ min: 0, max: 600 }),
          (tariff, startIso, readings, statuses, stopAfter) => {
            // Readings may go backwards, repeat instants and arrive in any order.
            let register = 50_000;
            const samples = readings.map(({ minutes, wh }): [number, string] => {
              register = Math.max(0, register + wh);
              return [minutes * 7, String(register)];
            });
            const meterStopWh = Math.max(0, register + 100);
            const input = aSession({ tariff, start: startIso, meterStartWh: 50_000, samples, statuses: [[0, 'Charging'], ...statuses], stop: { after: stopAfter, meterStopWh } });

            const result = sessionToChargingPeriods(input);

            const sum = result.periods.reduce((total, p) => total + p.energyMilliWh, 0);
            expect(sum).toBe(result.energyMilliWh);
            expect(result.periods.every((p) => p.energyMilliWh >= 0 && p.endMs >= p.startMs)).toBe(true);
            for (let i = 1; i < result.periods.length; i++) expect(result.periods[i]!.startMs).toBeGreaterThanOrEqual(result.periods[i - 1]!.endMs);
            // Energy at the end (docs/meters.md): never negative; when the register ends at or above
            // meterStart (no reset or rollover possible), never above meterStop - meterStart; and never
            // more than the connector could deliver (1000 kW default, +10 %, +100 Wh a step).
            expect(result.energyMilliWh).toBeGreaterThanOrEqual(0);
            if (meterStopWh >= 50_000) expect(result.energyMilliWh).toBeLessThanOrEqual((meterStopWh - 50_000) * 1000);
            expect(result.energyMilliWh).toBeLessThanOrEqual(maxEnergyMilliWh(1000, stopAfter * 60_000) + (samples.length + 1) * STEP_SLACK_MILLI_WH);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('monotonicity under a non-negative tariff', () => {
    it('never lowers the price when the session goes on longer and draws more energy', () => {
      fc.assert(
        fc.property(tariffArbitrary({ power: true, energyThresholds: true, steps: false }), start, intervals, fc.record({ minutes: fc.integer({ min: 1, max: 120 }), wh: fc.integer({ min: 0, max: 9000 }) }), (tariff, startIso, steps, more) => {
          const before = priceSession(sessionOf(tariff, startIso, steps));
          const after = priceSession(sessionOf(tariff, startIso, [...steps, more]));

          expect(minor(after.total_cost.excl_vat)).toBeGreaterThanOrEqual(minor(before.total_cost.excl_vat));
          expect(after.totalMinor).toBeGreaterThanOrEqual(before.totalMinor);
        }),
        { numRuns: 300 },
      );
    });

    // Energy in an interval that had none would turn parking into charging time, which a tariff may price lower.
    it('never lowers the price when more energy flows while charging in the same time (no kWh tiers or power restrictions)', () => {
      fc.assert(
        fc.property(tariffArbitrary({ power: false, energyThresholds: false, steps: false }), start, intervals, fc.integer({ min: 1, max: 9000 }), (tariff, startIso, drawn, extraWh) => {
          const steps = drawn.map((step) => ({ ...step, wh: Math.max(1, step.wh) }));
          const boosted = steps.map((step, index) => (index === steps.length - 1 ? { ...step, wh: step.wh + extraWh } : step));

          const before = priceSession(sessionOf(tariff, startIso, steps));
          const after = priceSession(sessionOf(tariff, startIso, boosted));

          expect(minor(after.total_cost.excl_vat)).toBeGreaterThanOrEqual(minor(before.total_cost.excl_vat));
          expect(after.totalMinor).toBeGreaterThanOrEqual(before.totalMinor);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('splitting', () => {
    it('does not change the price when a period is split in two by a reading on its interpolation line', () => {
      fc.assert(
        fc.property(
          tariffArbitrary({ power: true, energyThresholds: true, steps: true }),
          start,
          fc.array(fc.record({ minutes: fc.integer({ min: 2, max: 45 }), whPerMinute: fc.integer({ min: 0, max: 400 }) }), { minLength: 1, maxLength: 8 }),
          fc.nat(),
          fc.nat(),
          (tariff, startIso, steps, which, where) => {
            const whole = steps.map(({ minutes, whPerMinute }) => ({ minutes, wh: minutes * whPerMinute }));
            // Cut interval `index` at whole minute `cut`, with exactly the energy the straight line gives there.
            const index = which % steps.length;
            const { minutes, whPerMinute } = steps[index]!;
            const cut = 1 + (where % (minutes - 1));
            const split = [...whole.slice(0, index), { minutes: cut, wh: cut * whPerMinute }, { minutes: minutes - cut, wh: (minutes - cut) * whPerMinute }, ...whole.slice(index + 1)];

            const once = priceSession(sessionOf(tariff, startIso, whole));
            const twice = priceSession(sessionOf(tariff, startIso, split));

            expect(twice.total_cost).toEqual(once.total_cost);
            expect(twice.lines).toEqual(once.lines);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
