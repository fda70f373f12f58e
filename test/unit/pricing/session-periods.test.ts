import { describe, expect, it } from 'vitest';
import { priceSession, sessionToChargingPeriods, type SessionPeriods } from '../../../functions/pricing/domain/index.ts';
import { ValidationError } from '../../../functions/shared/errors.ts';
import { aSession, aTariff, anElement, plus } from './builders.ts';

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** [start, end, state, Wh] per period. */
function summary(result: SessionPeriods): Array<[string, string, string, number]> {
  return result.periods.map((p) => [iso(p.startMs), iso(p.endMs), p.state, p.energyMilliWh / 1000]);
}

const codes = (result: { warnings: Array<{ code: string }> }) => result.warnings.map((w) => w.code);
const totalEnergy = (result: SessionPeriods) => result.periods.reduce((sum, p) => sum + p.energyMilliWh, 0);

const T0 = '2024-01-16T10:00:00Z';

describe('sessionToChargingPeriods', () => {
  describe('the energy register', () => {
    it.each([
      ['Wh, the default unit', [[10, '1500'], [20, '3000']] as Array<[number, string, ('Wh' | 'kWh')?]>],
      ['Wh given explicitly', [[10, '1500', 'Wh'], [20, '3000', 'Wh']] as Array<[number, string, ('Wh' | 'kWh')?]>],
      ['kWh', [[10, '1.5', 'kWh'], [20, '3.000', 'kWh']] as Array<[number, string, ('Wh' | 'kWh')?]>],
      ['decimal Wh', [[10, '1500.000'], [20, '3000.0']] as Array<[number, string, ('Wh' | 'kWh')?]>],
    ])('reads %s', (_name, samples) => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples, stop: { after: 30, meterStopWh: 4500 } }));

      expect(summary(result)).toEqual([
        ['2024-01-16T10:00:00Z', '2024-01-16T10:10:00Z', 'CHARGING', 1500],
        ['2024-01-16T10:10:00Z', '2024-01-16T10:20:00Z', 'CHARGING', 1500],
        ['2024-01-16T10:20:00Z', '2024-01-16T10:30:00Z', 'CHARGING', 1500],
      ]);
      expect(result.warnings).toEqual([]);
    });

    it('counts from a meterStart that is not zero', () => {
      const result = sessionToChargingPeriods(aSession({ start: T0, meterStartWh: 1_250_000, samples: [[10, '1251.2', 'kWh']], stop: { after: 20, meterStopWh: 1_252_000 } }));

      expect(result.energyMilliWh).toBe(2_000_000);
      expect(summary(result).map((p) => p[3])).toEqual([1200, 800]);
      expect(result.periods[1]!.energyBeforeMilliWh).toBe(1_200_000);
    });

    it('reads the register when measurand is absent and ignores other measurands and per-phase registers', () => {
      const input = aSession({ start: T0, stop: { after: 20, meterStopWh: 2000 } });
      input.meterValues = [
        {
          connectorId: 1,
          transactionId: 7,
          meterValue: [
            {
              timestamp: plus(T0, 10),
              sampledValue: [
                { value: '1500' },
                { value: '7400', measurand: 'Power.Active.Import', unit: 'W' },
                { value: '55', measurand: 'SoC', unit: 'Percent' },
                { value: '400', measurand: 'Energy.Active.Import.Register', phase: 'L1' },
              ],
            },
          ],
        },
      ];

      expect(summary(sessionToChargingPeriods(input)).map((p) => p[3])).toEqual([1500, 500]);
    });

    it('sorts readings that arrive out of order, and says so', () => {
      const inOrder = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000'], [20, '1500'], [30, '3000']], stop: { after: 40, meterStopWh: 3500 } }));
      const shuffled = sessionToChargingPeriods(aSession({ start: T0, samples: [[30, '3000'], [10, '1000'], [20, '1500']], stop: { after: 40, meterStopWh: 3500 } }));

      expect(summary(shuffled)).toEqual(summary(inOrder));
      expect(codes(shuffled)).toEqual(['SAMPLES_OUT_OF_ORDER']);
    });

    it('ignores duplicated readings, and says so', () => {
      const once = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000'], [20, '1500']], stop: { after: 30, meterStopWh: 2500 } }));
      const twice = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000'], [10, '1000'], [20, '1500'], [20, '1.5', 'kWh']], stop: { after: 30, meterStopWh: 2500 } }));

      expect(summary(twice)).toEqual(summary(once));
      expect(codes(twice)).toEqual(['DUPLICATE_SAMPLES']);
      expect(twice.warnings[0]!.message).toMatch(/^2 duplicate/);
    });

    it('keeps the first of two different readings at the same instant and flags the conflict', () => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000'], [10, '1200']], stop: { after: 20, meterStopWh: 2000 } }));

      expect(summary(result).map((p) => p[3])).toEqual([1000, 1000]);
      expect(codes(result)).toEqual(['CONFLICTING_SAMPLES']);
    });

    it('uses meterStop when the final sample is missing', () => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000'], [20, '2000']], stop: { after: 25, meterStopWh: 2600 } }));

      expect(summary(result)[2]).toEqual(['2024-01-16T10:20:00Z', '2024-01-16T10:25:00Z', 'CHARGING', 600]);
      expect(result.energyMilliWh).toBe(2_600_000);
    });

    it('spreads meterStop - meterStart evenly when there are no MeterValues at all', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 1 }], { start_time: '11:30' }), anElement([{ type: 'ENERGY', price: 0.1 }])] });

      const result = sessionToChargingPeriods(aSession({ tariff, start: T0, stop: { after: 60, meterStopWh: 6000 } }));

      expect(summary(result).map((p) => p[3])).toEqual([3000, 3000]);
      expect(codes(result)).toEqual(['NO_METER_VALUES']);
    });

    it('never bills a register going backwards: a reading out of line with its neighbours is dropped and flagged (docs/meters.md)', () => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000'], [20, '2000'], [30, '1500'], [40, '2500']], stop: { after: 50, meterStopWh: 3000 } }));

      expect(result.energyMilliWh).toBe(3_000_000);
      expect(result.periods.every((p) => p.energyMilliWh >= 0 && p.state === 'CHARGING')).toBe(true);
      expect(result.periods.reduce((sum, p) => sum + p.energyMilliWh, 0)).toBe(3_000_000);
      expect(codes(result)).toEqual(['METER_GLITCH']);
      expect(result.warnings[0]!.message).toMatch(/1500 Wh/);
    });

    it('flags a meterStop below the readings: meterStop wins, nothing above it is billed, nothing negative', () => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000'], [20, '2000']], stop: { after: 30, meterStopWh: 1800 } }));

      expect(result.energyMilliWh).toBe(1_800_000);
      expect(result.periods.every((p) => p.energyMilliWh >= 0)).toBe(true);
      expect(codes(result)).toEqual(['METER_STOP_BELOW_READINGS']);
    });

    it('ignores readings before the start or after the stop, and readings it cannot read', () => {
      const input = aSession({ start: T0, samples: [[-5, '0'], [10, '1000'], [10.5, 'n/a'], [99, '9000']], stop: { after: 20, meterStopWh: 2000 } });
      input.meterValues[0]!.meterValue.push({ timestamp: plus(T0, 15), sampledValue: [{ value: '3045022100', format: 'SignedData' }] });

      const result = sessionToChargingPeriods(input);

      expect(summary(result).map((p) => p[3])).toEqual([1000, 1000]);
      expect(codes(result).sort()).toEqual(['SAMPLES_OUTSIDE_TRANSACTION', 'UNREADABLE_SAMPLE', 'UNREADABLE_SAMPLE']);
    });

    it('reads only its own connector and transaction', () => {
      const input = aSession({ start: T0, samples: [[10, '1000']], stop: { after: 20, meterStopWh: 2000 } });
      input.meterValues.push(
        { connectorId: 2, transactionId: 8, meterValue: [{ timestamp: plus(T0, 5), sampledValue: [{ value: '99999' }] }] },
        { connectorId: 1, transactionId: 6, meterValue: [{ timestamp: plus(T0, 5), sampledValue: [{ value: '99999' }] }] },
      );

      expect(summary(sessionToChargingPeriods(input)).map((p) => p[3])).toEqual([1000, 1000]);
    });

    it('reads StopTransaction.transactionData too', () => {
      const input = aSession({ start: T0, stop: { after: 20, meterStopWh: 2000 } });
      input.stopTransaction!.transactionData = [{ timestamp: plus(T0, 10), sampledValue: [{ value: '0.5', unit: 'kWh', context: 'Sample.Periodic' }] }];

      expect(summary(sessionToChargingPeriods(input)).map((p) => p[3])).toEqual([500, 1500]);
    });
  });

  describe('charging and parking', () => {
    it('parks while plugged in without drawing power, and after StopTransaction until the connector is Available', () => {
      const result = sessionToChargingPeriods(
        aSession({
          start: T0,
          samples: [[10, '1000'], [20, '1000'], [30, '2000']],
          statuses: [[0, 'Charging'], [30, 'Finishing'], [45, 'Available']],
          stop: { after: 30, meterStopWh: 2000, reason: 'Local' },
        }),
      );

      expect(summary(result)).toEqual([
        ['2024-01-16T10:00:00Z', '2024-01-16T10:10:00Z', 'CHARGING', 1000],
        ['2024-01-16T10:10:00Z', '2024-01-16T10:20:00Z', 'PARKING', 0],
        ['2024-01-16T10:20:00Z', '2024-01-16T10:30:00Z', 'CHARGING', 1000],
        ['2024-01-16T10:30:00Z', '2024-01-16T10:45:00Z', 'PARKING', 0],
      ]);
      expect(result.endMs).toBe(Date.parse(plus(T0, 45)));
    });

    it.each(['SuspendedEV', 'SuspendedEVSE', 'Finishing'])('puts energy only where the status allows it: %s mid-interval is parking', (status) => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples: [[20, '2000']], statuses: [[0, 'Charging'], [15, status]], stop: { after: 20, meterStopWh: 2000 } }));

      expect(summary(result)).toEqual([
        ['2024-01-16T10:00:00Z', '2024-01-16T10:15:00Z', 'CHARGING', 2000],
        ['2024-01-16T10:15:00Z', '2024-01-16T10:20:00Z', 'PARKING', 0],
      ]);
      expect(result.periods[0]!.powerForMin).toEqual({ num: 2_000_000 * 36_000, den: 15 * 60_000 });
    });

    it('trusts the meter over a status that says no power was drawn, and flags it', () => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000']], statuses: [[0, 'SuspendedEV']], stop: { after: 10, meterStopWh: 1000 } }));

      expect(summary(result)).toEqual([['2024-01-16T10:00:00Z', '2024-01-16T10:10:00Z', 'CHARGING', 1000]]);
      expect(codes(result)).toEqual(['ENERGY_WHILE_SUSPENDED']);
    });

    it('counts no parking once the connector is Available, even before StopTransaction arrives', () => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000']], statuses: [[0, 'Charging'], [20, 'Available']], stop: { after: 30, meterStopWh: 1000 } }));

      expect(summary(result)).toEqual([
        ['2024-01-16T10:00:00Z', '2024-01-16T10:10:00Z', 'CHARGING', 1000],
        ['2024-01-16T10:10:00Z', '2024-01-16T10:20:00Z', 'PARKING', 0],
      ]);
    });

    it('ignores other connectors and statuses without timestamp', () => {
      const input = aSession({ start: T0, samples: [[10, '1000']], stop: { after: 20, meterStopWh: 2000 } });
      input.statusNotifications.push({ connectorId: 2, errorCode: 'NoError', status: 'SuspendedEV', timestamp: plus(T0, 5) }, { connectorId: 1, errorCode: 'NoError', status: 'SuspendedEV' });

      const result = sessionToChargingPeriods(input);

      expect(summary(result).map((p) => p[2])).toEqual(['CHARGING', 'CHARGING']);
      expect(codes(result)).toEqual(['STATUS_WITHOUT_TIMESTAMP']);
    });

    it('says when it cannot know how long the car stayed after the stop', () => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000']], stop: { after: 20, meterStopWh: 2000, reason: 'Local' } }));

      expect(result.endMs).toBe(Date.parse(plus(T0, 20)));
      expect(codes(result)).toEqual(['NO_UNPLUG_STATUS']);
    });

    it('prices a running session up to its last reading', () => {
      const result = sessionToChargingPeriods(aSession({ start: T0, samples: [[10, '1000'], [20, '1800']], stop: null }));

      expect(summary(result).map((p) => p[3])).toEqual([1000, 800]);
      expect(result.endMs).toBe(Date.parse(plus(T0, 20)));
      expect(codes(result)).toEqual(['SESSION_NOT_STOPPED']);
    });

    it('reads Current.Import, summed over phases, for the interval it closes', () => {
      const input = aSession({ start: T0, stop: { after: 20, meterStopWh: 2000 } });
      input.meterValues[0]!.meterValue = [
        {
          timestamp: plus(T0, 10),
          sampledValue: [
            { value: '1000' },
            { value: '15.5', measurand: 'Current.Import', phase: 'L1', unit: 'A' },
            { value: '15.5', measurand: 'Current.Import', phase: 'L2', unit: 'A' },
            { value: '15', measurand: 'Current.Import', phase: 'L3', unit: 'A' },
          ],
        },
      ];

      const result = sessionToChargingPeriods(input);

      expect(result.periods[0]!.currentForMax).toEqual({ num: 460_000, den: 1 });
      expect(result.periods[1]!.currentForMax).toBeNull();
    });
  });

  describe('splitting at every instant that can change the price', () => {
    const tou = aTariff({
      elements: [anElement([{ type: 'ENERGY', price: 0.49 }], { start_time: '07:00', end_time: '22:00' }), anElement([{ type: 'ENERGY', price: 0.35 }])],
    });

    it('splits a sampling interval at a TOU boundary and shares its energy by linear interpolation', () => {
      // Readings at 20:50Z and 21:10Z (21:50 and 22:10 in Berlin): the 22:00 boundary falls half-way between them.
      const result = sessionToChargingPeriods(aSession({ tariff: tou, start: '2024-01-16T20:40:00Z', samples: [[10, '1850'], [30, '5550']], stop: { after: 30, meterStopWh: 5550 } }));

      expect(summary(result)).toEqual([
        ['2024-01-16T20:40:00Z', '2024-01-16T20:50:00Z', 'CHARGING', 1850],
        ['2024-01-16T20:50:00Z', '2024-01-16T21:00:00Z', 'CHARGING', 1850],
        ['2024-01-16T21:00:00Z', '2024-01-16T21:10:00Z', 'CHARGING', 1850],
      ]);
    });

    it('interpolates to the milliwatt-hour and keeps the interval total exact', () => {
      // 1000 Wh over 21:57:00-22:04:00 local; 3 of the 7 minutes fall before 22:00 -> 428.571... Wh -> 428.571 Wh.
      const result = sessionToChargingPeriods(aSession({ tariff: tou, start: '2024-01-16T20:57:00Z', samples: [[7, '1000']], stop: { after: 7, meterStopWh: 1000 } }));

      expect(result.periods.map((p) => p.energyMilliWh)).toEqual([428_571, 571_429]);
      expect(priceSession(aSession({ tariff: tou, start: '2024-01-16T20:57:00Z', samples: [[7, '1000']], stop: { after: 7, meterStopWh: 1000 } })).periods.map((p) => p.elements.ENERGY)).toEqual([0, 1]);
    });

    it('splits at a kWh threshold exactly where the register crosses it', () => {
      const tiered = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 0.5 }], { max_kwh: 1.5 }), anElement([{ type: 'ENERGY', price: 0.3 }])] });

      const result = sessionToChargingPeriods(aSession({ tariff: tiered, start: T0, meterStartWh: 40_000, samples: [[10, '41000'], [20, '42000']], stop: { after: 20, meterStopWh: 42_000 } }));

      expect(summary(result)).toEqual([
        ['2024-01-16T10:00:00Z', '2024-01-16T10:10:00Z', 'CHARGING', 1000],
        ['2024-01-16T10:10:00Z', '2024-01-16T10:15:00Z', 'CHARGING', 500],
        ['2024-01-16T10:15:00Z', '2024-01-16T10:20:00Z', 'CHARGING', 500],
      ]);
      expect(result.periods[2]!.energyBeforeMilliWh).toBe(1_500_000);
    });

    it('splits at duration thresholds', () => {
      const firstHalfHourFree = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 0 }], { max_duration: 1800 }), anElement([{ type: 'ENERGY', price: 0.4 }])] });

      const result = sessionToChargingPeriods(aSession({ tariff: firstHalfHourFree, start: T0, samples: [[20, '2000']], stop: { after: 40, meterStopWh: 4000 } }));

      expect(summary(result).map((p) => [p[0], p[3]])).toEqual([
        ['2024-01-16T10:00:00Z', 2000],
        ['2024-01-16T10:20:00Z', 1000],
        ['2024-01-16T10:30:00Z', 1000],
      ]);
    });

    it('splits at local midnight for a window that wraps it, and at its ends', () => {
      const night = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 0.2 }], { start_time: '22:00', end_time: '06:00' }), anElement([{ type: 'ENERGY', price: 0.4 }])] });

      // 20:00Z-06:00Z is 21:00-07:00 in Berlin, 1 kWh per hour, no samples in between.
      const priced = priceSession(aSession({ tariff: night, start: '2024-01-16T20:00:00Z', stop: { after: 600, meterStopWh: 10_000 } }));

      expect(priced.lines.map((l) => [l.elementIndex, l.quantity])).toEqual([
        [0, '8'],
        [1, '2'],
      ]);
      expect(priced.periods.map((p) => [p.start_date_time, p.elements.ENERGY])).toEqual([
        ['2024-01-16T20:00:00Z', 1],
        ['2024-01-16T21:00:00Z', 0],
        ['2024-01-17T05:00:00Z', 1],
      ]);
    });

    it('follows the wall clock on the spring-forward day in Europe/Berlin (02:00-03:00 does not exist)', () => {
      const tariff = aTariff({
        elements: [
          anElement([{ type: 'ENERGY', price: 1 }], { start_time: '02:00', end_time: '03:00' }),
          anElement([{ type: 'ENERGY', price: 0.5 }], { start_time: '03:00', end_time: '04:00' }),
          anElement([{ type: 'ENERGY', price: 0.1 }]),
        ],
      });

      // 00:30Z-02:30Z on 31 Mar 2024 is 01:30 CET to 04:30 CEST: 2 hours of real time, 1 kWh per hour.
      const priced = priceSession(aSession({ tariff, start: '2024-03-31T00:30:00Z', stop: { after: 120, meterStopWh: 2000 } }));

      expect(priced.lines.map((l) => [l.elementIndex, l.quantity])).toEqual([
        [1, '1'],
        [2, '1'],
      ]);
      expect(priced.periods.map((p) => [p.start_date_time, p.elements.ENERGY])).toEqual([
        ['2024-03-31T00:30:00Z', 2],
        ['2024-03-31T01:00:00Z', 1],
        ['2024-03-31T02:00:00Z', 2],
      ]);
    });

    it('applies a 02:00-03:00 window twice on the fall-back day in Europe/Berlin', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 1 }], { start_time: '02:00', end_time: '03:00' }), anElement([{ type: 'ENERGY', price: 0.1 }])] });

      // 23:30Z on 26 Oct to 02:30Z on 27 Oct 2024: 01:30 CEST, 02:00-03:00 CEST, 02:00-03:00 CET, 03:00-03:30 CET.
      const priced = priceSession(aSession({ tariff, start: '2024-10-26T23:30:00Z', stop: { after: 180, meterStopWh: 3000 } }));

      expect(priced.lines.map((l) => [l.elementIndex, l.quantity])).toEqual([
        [0, '2'],
        [1, '1'],
      ]);
    });

    it('conserves energy exactly across every split', () => {
      const busy = aTariff({
        elements: [
          ...Array.from({ length: 24 }, (_, hour) =>
            anElement([{ type: 'ENERGY', price: (20 + hour) / 100 }], { start_time: `${String(hour).padStart(2, '0')}:00`, end_time: `${String((hour + 1) % 24).padStart(2, '0')}:00` }),
          ),
          anElement([{ type: 'ENERGY', price: 0.3 }], { min_kwh: 3.3333 }),
        ],
      });
      const samples: Array<[number, string]> = [[7, '1234.567'], [53, '4444.444'], [131, '9999.999']];

      const result = sessionToChargingPeriods(aSession({ tariff: busy, start: '2024-01-16T09:13:27Z', samples, stop: { after: 200, meterStopWh: 12_345 } }));

      expect(result.periods.length).toBeGreaterThan(4);
      expect(totalEnergy(result)).toBe(12_345_000);
    });
  });

  describe('input errors', () => {
    it.each([
      ['a bad start timestamp', (i: ReturnType<typeof aSession>) => void (i.startTransaction.timestamp = 'yesterday'), 'startTransaction.timestamp'],
      ['a bad sample timestamp', (i: ReturnType<typeof aSession>) => void (i.meterValues[0]!.meterValue[0]!.timestamp = '2024-13-01T00:00:00Z'), 'meterValues[0].meterValue[0].timestamp'],
      ['a stop before the start', (i: ReturnType<typeof aSession>) => void (i.stopTransaction!.timestamp = '2024-01-16T09:00:00Z'), 'stopTransaction.timestamp'],
      ['an unknown time zone', (i: ReturnType<typeof aSession>) => void (i.timeZone = 'Europe/Atlantis'), 'timeZone'],
    ])('rejects %s with ValidationError naming the field', (_name, spoil, path) => {
      const input = aSession({ start: T0, samples: [[10, '1000']], stop: { after: 20, meterStopWh: 2000 } });
      spoil(input);

      expect(() => sessionToChargingPeriods(input)).toThrow(ValidationError);
      expect(() => sessionToChargingPeriods(input)).toThrow(expect.objectContaining({ path }));
    });
  });
});
