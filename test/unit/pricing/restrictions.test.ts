import { describe, expect, it } from 'vitest';
import { priceCdr, type TariffRestrictions } from '../../../functions/pricing/domain/index.ts';
import { aCdr, aTariff, anElement } from './builders.ts';

/** Element 0: 1.00/kWh under `restrictions`; element 1: 0.10/kWh fallback. Returns the element that priced the last period's energy. */
function elementUsed(restrictions: TariffRestrictions, cdr: ReturnType<typeof aCdr>, timeZone = 'Europe/Berlin'): number | null {
  const tariff = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 1 }], restrictions), anElement([{ type: 'ENERGY', price: 0.1 }])] });
  const priced = priceCdr(tariff, cdr, timeZone);
  return priced.periods[priced.periods.length - 1]!.elements.ENERGY;
}

/** A one-period CDR of 1 kWh in 6 minutes starting at `startUtc`. */
const at = (startUtc: string, extra: Array<[string, number]> = []) => aCdr(startUtc, [[0, [['ENERGY', 1], ['TIME', 0.1], ...extra]]], 6);

describe('tariff restrictions (OCPI 2.2.1), evaluated at the start of each charging period', () => {
  describe('start_time / end_time in local time (Europe/Berlin, UTC+1 in winter)', () => {
    it.each([
      ['10:00-12:00, 09:59 local', { start_time: '10:00', end_time: '12:00' }, '2024-01-16T08:59:00Z', 1],
      ['10:00-12:00, 10:00 local (start inclusive)', { start_time: '10:00', end_time: '12:00' }, '2024-01-16T09:00:00Z', 0],
      ['10:00-12:00, 11:59 local', { start_time: '10:00', end_time: '12:00' }, '2024-01-16T10:59:00Z', 0],
      ['10:00-12:00, 12:00 local (end exclusive)', { start_time: '10:00', end_time: '12:00' }, '2024-01-16T11:00:00Z', 1],
      ['22:00-06:00 wraps midnight, 23:00 local', { start_time: '22:00', end_time: '06:00' }, '2024-01-16T22:00:00Z', 0],
      ['22:00-06:00 wraps midnight, 05:59 local', { start_time: '22:00', end_time: '06:00' }, '2024-01-16T04:59:00Z', 0],
      ['22:00-06:00 wraps midnight, 06:00 local', { start_time: '22:00', end_time: '06:00' }, '2024-01-16T05:00:00Z', 1],
      ['22:00-06:00 wraps midnight, 21:59 local', { start_time: '22:00', end_time: '06:00' }, '2024-01-16T20:59:00Z', 1],
      ['18:00-00:00 (end of day), 23:59 local', { start_time: '18:00', end_time: '00:00' }, '2024-01-16T22:59:00Z', 0],
      ['18:00-00:00 (end of day), 00:00 local', { start_time: '18:00', end_time: '00:00' }, '2024-01-16T23:00:00Z', 1],
      ['18:00-00:00 (end of day), 17:59 local', { start_time: '18:00', end_time: '00:00' }, '2024-01-16T16:59:00Z', 1],
      ['only end_time 17:00, 00:00 local', { end_time: '17:00' }, '2024-01-15T23:00:00Z', 0],
      ['only end_time 17:00, 17:00 local', { end_time: '17:00' }, '2024-01-16T16:00:00Z', 1],
      ['only start_time 17:00, 16:59 local', { start_time: '17:00' }, '2024-01-16T15:59:00Z', 1],
      ['only start_time 17:00, 23:59 local', { start_time: '17:00' }, '2024-01-16T22:59:00Z', 0],
      ['summer time: 10:00-12:00 at 08:00Z is 10:00 CEST', { start_time: '10:00', end_time: '12:00' }, '2024-07-16T08:00:00Z', 0],
    ] as const)('%s', (_name, restrictions, start, expected) => {
      expect(elementUsed(restrictions, at(start))).toBe(expected);
    });
  });

  describe('start_date (inclusive) / end_date (exclusive) in local time', () => {
    it.each([
      ['the day before', '2024-01-09T22:59:00Z', 1],
      ['local midnight of start_date, still 9 Jan in UTC', '2024-01-09T23:00:00Z', 0],
      ['the last minute before end_date', '2024-01-11T22:59:00Z', 0],
      ['local midnight of end_date', '2024-01-11T23:00:00Z', 1],
    ])('%s', (_name, start, expected) => {
      expect(elementUsed({ start_date: '2024-01-10', end_date: '2024-01-12' }, at(start))).toBe(expected);
    });
  });

  describe('day_of_week in local time', () => {
    it.each([
      ['Saturday 00:30 local is still Friday in UTC', ['SATURDAY'], '2024-01-19T23:30:00Z', 0],
      ['Sunday 00:30 local is still Saturday in UTC', ['SATURDAY'], '2024-01-20T23:30:00Z', 1],
      ['a weekday list', ['MONDAY', 'TUESDAY'], '2024-01-16T12:00:00Z', 0],
      ['Wednesday is not in it', ['MONDAY', 'TUESDAY'], '2024-01-17T12:00:00Z', 1],
    ] as const)('%s', (_name, days, start, expected) => {
      expect(elementUsed({ day_of_week: [...days] }, at(start))).toBe(expected);
    });
  });

  describe('min_kwh (inclusive) / max_kwh (exclusive) on the energy charged before the period', () => {
    const twoPeriods = (firstKwh: number) => aCdr('2024-01-16T10:00:00Z', [[0, [['ENERGY', firstKwh], ['TIME', 0.5]]], [30, [['ENERGY', 1], ['TIME', 0.5]]]], 60);

    it.each([
      ['min_kwh 5 after 4.9999 kWh', { min_kwh: 5 }, 4.9999, 1],
      ['min_kwh 5 after 5 kWh', { min_kwh: 5 }, 5, 0],
      ['max_kwh 5 after 4.9999 kWh', { max_kwh: 5 }, 4.9999, 0],
      ['max_kwh 5 after 5 kWh', { max_kwh: 5 }, 5, 1],
    ])('%s', (_name, restrictions, firstKwh, expected) => {
      expect(elementUsed(restrictions, twoPeriods(firstKwh))).toBe(expected);
    });
  });

  describe('min_duration (inclusive) / max_duration (exclusive) from the session start', () => {
    const periodAfter = (minutes: number) => aCdr('2024-01-16T10:00:00Z', [[0, [['ENERGY', 1], ['TIME', minutes / 60]]], [minutes, [['ENERGY', 1], ['TIME', 0.1]]]], minutes + 6);

    it.each([
      ['min_duration 1800 at 29 min', { min_duration: 1800 }, 29, 1],
      ['min_duration 1800 at 30 min', { min_duration: 1800 }, 30, 0],
      ['max_duration 1800 at 29 min', { max_duration: 1800 }, 29, 0],
      ['max_duration 1800 at 30 min', { max_duration: 1800 }, 30, 1],
    ])('%s', (_name, restrictions, minutes, expected) => {
      expect(elementUsed(restrictions, periodAfter(minutes))).toBe(expected);
    });
  });

  describe('min_power (inclusive) / max_power (exclusive)', () => {
    it.each([
      ['POWER 11 against min_power 11', { min_power: 11 }, [['POWER', 11]], 0],
      ['POWER 10.9999 against min_power 11', { min_power: 11 }, [['POWER', 10.9999]], 1],
      ['MIN_POWER for min_power when POWER is absent', { min_power: 11 }, [['MIN_POWER', 12], ['MAX_POWER', 30]], 0],
      ['POWER 21.9 against max_power 22', { max_power: 22 }, [['POWER', 21.9]], 0],
      ['POWER 22 against max_power 22', { max_power: 22 }, [['POWER', 22]], 1],
      ['MAX_POWER for max_power when POWER is absent', { max_power: 22 }, [['MIN_POWER', 5], ['MAX_POWER', 23]], 1],
      ['without power readings: 1 kWh in 6 min is 10 kW, below min_power 11', { min_power: 11 }, [], 1],
      ['without power readings: 1 kWh in 6 min is 10 kW, from min_power 10', { min_power: 10 }, [], 0],
    ] as const)('%s', (_name, restrictions, extra, expected) => {
      expect(elementUsed(restrictions, at('2024-01-16T10:00:00Z', extra.map(([t, v]) => [t, v] as [string, number])))).toBe(expected);
    });
  });

  describe('min_current (inclusive) / max_current (exclusive), summed over phases', () => {
    it.each([
      ['CURRENT 16 against min_current 16', { min_current: 16 }, [['CURRENT', 16]], 0],
      ['CURRENT 15.9 against min_current 16', { min_current: 16 }, [['CURRENT', 15.9]], 1],
      ['CURRENT 31.9 against max_current 32', { max_current: 32 }, [['CURRENT', 31.9]], 0],
      ['CURRENT 32 against max_current 32', { max_current: 32 }, [['CURRENT', 32]], 1],
      ['MIN_CURRENT / MAX_CURRENT when CURRENT is absent', { min_current: 16, max_current: 32 }, [['MIN_CURRENT', 16], ['MAX_CURRENT', 31]], 0],
      ['no current reading: the restriction is not met', { max_current: 32 }, [], 1],
    ] as const)('%s', (_name, restrictions, extra, expected) => {
      expect(elementUsed(restrictions, at('2024-01-16T10:00:00Z', extra.map(([t, v]) => [t, v] as [string, number])))).toBe(expected);
    });

    it('warns when a current restriction meets a period without a current reading', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 1 }], { max_current: 32 }), anElement([{ type: 'ENERGY', price: 0.1 }])] });

      expect(priceCdr(tariff, at('2024-01-16T10:00:00Z'), 'Europe/Berlin').warnings.map((w) => w.code)).toContain('CURRENT_UNKNOWN');
    });
  });

  describe('several restrictions', () => {
    const cases: Array<[string, TariffRestrictions, string, number]> = [
      ['all hold', { start_time: '08:00', end_time: '20:00', day_of_week: ['TUESDAY'], max_power: 50 }, '2024-01-16T10:00:00Z', 0],
      ['one fails (Wednesday)', { start_time: '08:00', end_time: '20:00', day_of_week: ['TUESDAY'], max_power: 50 }, '2024-01-17T10:00:00Z', 1],
      ['a wrapping window on the listed day: Saturday 23:00 local', { start_time: '22:00', end_time: '06:00', day_of_week: ['SATURDAY'] }, '2024-01-20T22:00:00Z', 0],
      ['the same window after midnight is Sunday: not listed', { start_time: '22:00', end_time: '06:00', day_of_week: ['SATURDAY'] }, '2024-01-21T01:00:00Z', 1],
    ];
    it.each(cases)('are a logical AND: %s', (_name, restrictions, start, expected) => {
      expect(elementUsed(restrictions, at(start))).toBe(expected);
    });

    it('never applies a reservation element to charging', () => {
      // OCPI 2.2.1: a reservation element has FLAT and TIME only (ENERGY is refused there).
      const tariff = aTariff({ elements: [anElement([{ type: 'TIME', price: 1 }], { reservation: 'RESERVATION' }), anElement([{ type: 'TIME', price: 0.1 }])] });
      expect(priceCdr(tariff, at('2024-01-16T10:00:00Z'), 'Europe/Berlin').periods[0]!.elements.TIME).toBe(1);
    });
  });

  describe('DST in Europe/Berlin', () => {
    it.each([
      ['spring forward: 01:00Z on 31 Mar 2024 is 03:00 CEST, inside 02:30-04:00', { start_time: '02:30', end_time: '04:00' }, '2024-03-31T01:00:00Z', 0],
      ['spring forward: 00:59Z is 01:59 CET, outside 02:30-04:00', { start_time: '02:30', end_time: '04:00' }, '2024-03-31T00:59:00Z', 1],
      ['fall back: 00:30Z on 27 Oct 2024 is the first 02:30 (CEST)', { start_time: '02:00', end_time: '03:00' }, '2024-10-27T00:30:00Z', 0],
      ['fall back: 01:30Z is the second 02:30 (CET)', { start_time: '02:00', end_time: '03:00' }, '2024-10-27T01:30:00Z', 0],
      ['fall back: 02:00Z is 03:00 CET', { start_time: '02:00', end_time: '03:00' }, '2024-10-27T02:00:00Z', 1],
    ] as const)('%s', (_name, restrictions, start, expected) => {
      expect(elementUsed(restrictions, at(start))).toBe(expected);
    });

    it('uses the zone it is given: 10:00 local in New York is 15:00Z in winter', () => {
      expect(elementUsed({ start_time: '10:00', end_time: '11:00' }, at('2024-01-16T15:00:00Z'), 'America/New_York')).toBe(0);
      expect(elementUsed({ start_time: '10:00', end_time: '11:00' }, at('2024-01-16T15:00:00Z'), 'Europe/Berlin')).toBe(1);
    });
  });

  describe('per dimension', () => {
    it('takes each dimension from the first element that prices it and matches, so dimensions can come from different elements', () => {
      const tariff = aTariff({
        elements: [
          anElement([{ type: 'FLAT', price: 1 }]),
          anElement([{ type: 'TIME', price: 6 }], { min_power: 50 }),
          anElement([{ type: 'ENERGY', price: 0.5 }, { type: 'TIME', price: 1 }]),
        ],
      });

      const priced = priceCdr(tariff, at('2024-01-16T10:00:00Z'), 'Europe/Berlin');

      expect(priced.periods[0]!.elements).toEqual({ ENERGY: 2, TIME: 2, PARKING_TIME: null });
      expect(priced.lines.map((l) => [l.kind, l.elementIndex])).toEqual([
        ['FLAT', 0],
        ['ENERGY', 2],
        ['TIME', 2],
      ]);
    });

    it('prices nothing for a dimension no element matches (OCPI: no costs for that dimension)', () => {
      const tariff = aTariff({ elements: [anElement([{ type: 'ENERGY', price: 1 }], { start_time: '20:00', end_time: '21:00' })] });

      const priced = priceCdr(tariff, at('2024-01-16T10:00:00Z'), 'Europe/Berlin');

      expect(priced.total_cost).toEqual({ excl_vat: '0.00', incl_vat: '0.00' });
      expect(priced.lines).toEqual([]);
    });
  });
});
