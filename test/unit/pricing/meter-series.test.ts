import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { priceSession, sessionToChargingPeriods } from '../../../functions/pricing/domain/index.ts';
import { maxEnergyMilliWh, plausibleSeries, STEP_SLACK_MILLI_WH } from '../../../functions/pricing/domain/meter-series.ts';
import { aSession, aTariff } from './builders.ts';

// The rules of docs/meters.md, one test per rule, then properties over glitched and reset series.

const T0 = '2024-01-16T10:00:00Z';
const codes = (result: { warnings: Array<{ code: string }> }) => result.warnings.map((w) => w.code).sort();
const MIN = 60_000;
const p = (minutes: number, wh: number) => ({ at: minutes * MIN, milliWh: wh * 1000 });

describe('the plausible meter series (docs/meters.md)', () => {
  it('drops an all-ones misread mid-session (issue 15: 1,577.7 kWh billed for an 8 kWh session) and flags it for review', () => {
    // meterStart 100 kWh; 0xFFFFFF in 0.1 Wh = 1,677,721.5 Wh; the stop is sane.
    const input = aSession({
      start: T0,
      meterStartWh: 100_000,
      samples: [[10, '102000'], [20, '104000'], [30, '1677721.5'], [40, '106000']],
      stop: { after: 50, meterStopWh: 108_000 },
    });
    const result = sessionToChargingPeriods({ ...input, maxPowerKw: 22 });

    expect(result.energyMilliWh).toBe(8_000_000);
    expect(codes(result)).toEqual(['METER_GLITCH']);
    const priced = priceSession({ ...input, maxPowerKw: 22 });
    expect(priced.total_energy).toBe('8');
    expect(priced.totalMinor).toBe(240); // 8 kWh x 0.30 EUR
  });

  it('drops a rise faster than the connector allows even when the readings after it stay up, and bills to the last plausible reading when meterStop is implausible too', () => {
    const series = plausibleSeries({ start: p(0, 100_000), readings: [p(10, 102_000), p(20, 1_677_721), p(30, 1_677_800)], stop: p(40, 1_678_000), maxPowerKw: 22 });

    expect(series.points.at(-1)!.milliWh - 100_000_000).toBe(2_000_000);
    expect(series.warnings.map((w) => w.code).sort()).toEqual(['METER_GLITCH', 'METER_STOP_IMPLAUSIBLE']);
    expect(series.warnings.find((w) => w.code === 'METER_GLITCH')!.message).toMatch(/and 1 more like it/);
    expect(series.review).toBe(true);
  });

  it('a spike far above the connector rating is not billed; a rise within it is (10 % and 100 Wh of tolerance)', () => {
    // 22 kW for 10 min is 3,667 Wh; with 10 % and 100 Wh: 4,133 Wh.
    expect(maxEnergyMilliWh(22, 10 * MIN)).toBe(4_133_334);
    const within = plausibleSeries({ start: p(0, 0), readings: [p(10, 4_100)], stop: p(20, 8_000), maxPowerKw: 22 });
    expect(within.warnings).toEqual([]);
    const spike = plausibleSeries({ start: p(0, 0), readings: [p(10, 4_100), p(20, 9_000), p(30, 9_500)], stop: p(40, 12_000), maxPowerKw: 22 });
    expect(spike.points.at(-1)!.milliWh).toBe(12_000_000);
    expect(spike.warnings.map((w) => w.code)).toEqual(['METER_GLITCH']);
  });

  it('uses 1000 kW when the charge point has no rating', () => {
    // 500 kWh in 30 min (1000 kW) is plausible; 700 kWh more in the next 30 min is not.
    const series = plausibleSeries({ start: p(0, 0), readings: [p(30, 500_000), p(60, 1_200_000), p(61, 1_200_010)], stop: p(62, 520_000) });
    expect(series.points.at(-1)!.milliWh).toBe(520_000_000);
    expect(series.warnings.map((w) => w.code)).toEqual(['METER_GLITCH']);
  });

  it('a register reset mid-session (to near zero, lasting to the stop): energy before the reset kept, counting goes on from zero', () => {
    const result = sessionToChargingPeriods({
      ...aSession({ start: T0, meterStartWh: 50_000, samples: [[10, '52000'], [20, '54000'], [30, '500'], [40, '2500']], stop: { after: 50, meterStopWh: 4_500 } }),
      maxPowerKw: 22,
    });

    // 4 kWh before the reset, 0.5 kWh up to the first reading after it (from zero), 4 kWh after.
    expect(result.energyMilliWh).toBe(8_500_000);
    expect(codes(result)).toEqual(['REGISTER_RESET']);
    expect(result.periods.every((period) => period.energyMilliWh >= 0)).toBe(true);
  });

  it('a register rollover at a power of ten: counted exactly across the wrap', () => {
    const result = sessionToChargingPeriods({
      ...aSession({ start: T0, meterStartWh: 99_996_000, samples: [[10, '99998000'], [20, '500'], [30, '2500']], stop: { after: 40, meterStopWh: 4_500 } }),
      maxPowerKw: 22,
    });

    expect(result.energyMilliWh).toBe(8_500_000);
    expect(codes(result)).toEqual(['REGISTER_ROLLOVER']);
  });

  it('a register rollover at a power of two (16 bits of Wh)', () => {
    const series = plausibleSeries({ start: p(0, 62_000), readings: [p(10, 64_000), p(20, 464)], stop: p(30, 2_000), maxPowerKw: 22 });
    expect(series.points.at(-1)!.milliWh - 62_000_000).toBe(5_536_000);
    expect(series.warnings.map((w) => w.code)).toEqual(['REGISTER_ROLLOVER']);
  });

  it('energy that decreases for a while and comes back: the low readings are dropped (REGISTER_BACKWARDS), never billed negative or twice', () => {
    const series = plausibleSeries({ start: p(0, 10_000), readings: [p(10, 12_000), p(20, 12_500), p(30, 11_000), p(40, 11_200), p(50, 13_000)], stop: p(60, 14_000), maxPowerKw: 22 });
    expect(series.points.at(-1)!.milliWh - 10_000_000).toBe(4_000_000);
    expect(series.warnings.map((w) => w.code)).toEqual(['REGISTER_BACKWARDS']);
    expect(series.warnings[0]!.message).toMatch(/and 1 more like it/);
  });

  it('a single reading out of line with both neighbours is dropped, whichever way it points (METER_GLITCH)', () => {
    const series = plausibleSeries({ start: p(0, 10_000), readings: [p(10, 12_000), p(20, 11_000), p(30, 11_500), p(40, 13_000)], stop: p(50, 14_000), maxPowerKw: 22 });
    expect(series.points.at(-1)!.milliWh - 10_000_000).toBe(4_000_000);
    expect(series.warnings.map((w) => w.code)).toEqual(['METER_GLITCH']);
  });

  it('a drop to zero that does not last (the stop is above it) is a misread, not a reset', () => {
    const series = plausibleSeries({ start: p(0, 50_000), readings: [p(10, 51_000), p(20, 0), p(30, 0)], stop: p(40, 53_000), maxPowerKw: 22 });
    expect(series.points.at(-1)!.milliWh - 50_000_000).toBe(3_000_000);
    expect(series.warnings.map((w) => w.code)).toEqual(['REGISTER_BACKWARDS']);
  });

  it('meterStop below several readings: meterStop wins, nothing above it is billed', () => {
    const series = plausibleSeries({ start: p(0, 10_000), readings: [p(10, 11_000), p(20, 13_000), p(30, 13_500)], stop: p(40, 12_000), maxPowerKw: 22 });
    expect(series.points.at(-1)!.milliWh - 10_000_000).toBe(2_000_000);
    expect(series.points.every((point) => point.milliWh <= 12_000_000)).toBe(true);
    expect(series.warnings.map((w) => w.code)).toEqual(['METER_STOP_BELOW_READINGS']);
  });

  it('samples after the stop are not billed (SAMPLES_OUTSIDE_TRANSACTION)', () => {
    const result = sessionToChargingPeriods(aSession({ start: T0, meterStartWh: 0, samples: [[10, '1000'], [30, '99000']], stop: { after: 20, meterStopWh: 2_000 } }));
    expect(result.energyMilliWh).toBe(2_000_000);
    expect(codes(result)).toEqual(['SAMPLES_OUTSIDE_TRANSACTION']);
  });

  it('a session nobody can pay for is priced for review as no-payer, not retail', () => {
    const priced = priceSession(aSession({ tariff: aTariff(), start: T0, meterStartWh: 0, stop: { after: 30, meterStopWh: 2_000 }, billingProfile: { kind: 'no-payer', reason: 'StartTransaction answered Blocked' } }));
    expect(priced.billing.basis).toMatch(/^no payer \(StartTransaction answered Blocked\)/);
    expect(priced.warnings.map((w) => w.code)).toContain('NO_PAYER');
    expect(priced.totalMinor).toBe(60);
  });

  describe('properties', () => {
    /** A true, monotonic session at up to 22 kW, one reading a minute apart or more. */
    const trueSession = fc.array(fc.record({ minutes: fc.integer({ min: 1, max: 15 }), wh: fc.integer({ min: 0, max: 300 }) }), { minLength: 2, maxLength: 20 });
    const glitch = fc.oneof(
      fc.constant(1_677_721), // all ones, 0.1 Wh
      fc.constant(4_294_967), // all ones, 32 bits of mWh
      fc.constant(0),
      fc.integer({ min: 0, max: 2_000_000 }),
    );

    it('with glitched samples, the billed energy is never above meterStop - meterStart (+0) nor negative', () => {
      fc.assert(
        fc.property(trueSession, fc.array(fc.tuple(fc.nat(), glitch), { maxLength: 4 }), fc.integer({ min: 0, max: 200_000 }), (steps, glitches, meterStartWh) => {
          let minute = 0;
          let register = meterStartWh;
          const readings = steps.map(({ minutes, wh }) => {
            minute += minutes;
            register += wh;
            return p(minute, register);
          });
          const stop = readings.pop()!;
          for (const [index, value] of glitches) if (readings.length) readings[index % readings.length] = { at: readings[index % readings.length]!.at, milliWh: value * 1000 };
          const series = plausibleSeries({ start: p(0, meterStartWh), readings, stop, maxPowerKw: 22 });

          const billed = series.points.at(-1)!.milliWh - meterStartWh * 1000;
          expect(billed).toBeGreaterThanOrEqual(0);
          expect(billed).toBeLessThanOrEqual(stop.milliWh - meterStartWh * 1000);
          for (let i = 1; i < series.points.length; i++) expect(series.points[i]!.milliWh).toBeGreaterThanOrEqual(series.points[i - 1]!.milliWh);
        }),
        { numRuns: 500 },
      );
    });

    it('with a reset or rollover mid-session, the billed energy is never negative nor above what the connector could deliver, nor above the true energy', () => {
      fc.assert(
        fc.property(trueSession, fc.nat(), fc.constantFrom<'reset' | 'rollover'>('reset', 'rollover'), (steps, at, kind) => {
          const modulus = 100_000; // Wh: a 5-digit register, for the rollover
          const meterStartWh = kind === 'rollover' ? modulus - 1_000 : 40_000;
          const cut = at % steps.length;
          let minute = 0;
          let register = meterStartWh;
          let trueEnergy = 0;
          const readings = steps.map(({ minutes, wh }, i) => {
            minute += minutes;
            trueEnergy += wh;
            register += wh;
            if (i === cut && kind === 'reset') register = wh; // reset to zero, then this step's energy
            return p(minute, kind === 'rollover' ? register % modulus : register);
          });
          const stop = readings.pop()!;
          const series = plausibleSeries({ start: p(0, meterStartWh), readings, stop, maxPowerKw: 22 });

          const billed = series.points.at(-1)!.milliWh - meterStartWh * 1000;
          expect(billed).toBeGreaterThanOrEqual(0);
          expect(billed).toBeLessThanOrEqual(trueEnergy * 1000);
          expect(billed).toBeLessThanOrEqual(maxEnergyMilliWh(22, minute * MIN) + steps.length * STEP_SLACK_MILLI_WH);
        }),
        { numRuns: 500 },
      );
    });
  });
});
