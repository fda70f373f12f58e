import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseTariff,
  priceCdr,
  priceExpiredReservation,
  priceSession,
  TariffNotActiveError,
  tariffNotActiveReason,
  type Tariff,
} from '../../../functions/pricing/domain/index.ts';
import { aCdr, aSession, aTariff, aTariffJson, anElement, plus } from './builders.ts';

const START = '2024-03-05T10:00:00Z';

/** A 20 kWh session of one hour starting at `start`. */
const twentyKwh = (tariff: Tariff, start = START, reservationMinutes?: number) => ({
  ...aSession({ tariff, start, stop: { after: 60, meterStopWh: 20_000 } }),
  ...(reservationMinutes !== undefined ? { reservation: { start_date_time: plus(start, -reservationMinutes) } } : {}),
});

describe('tariff edges (issue 15)', () => {
  describe('start_date_time / end_date_time', () => {
    const windowed = aTariff({ start_date_time: '2024-03-01T00:00:00Z', end_date_time: '2024-04-01T00:00:00Z' });

    it('prices a session that starts inside the window', () => {
      expect(priceSession(twentyKwh(windowed)).total_cost.excl_vat).toBe('6.00');
      expect(tariffNotActiveReason(windowed, Date.parse(START))).toBeNull();
    });

    it.each([
      ['before start_date_time', '2024-02-29T23:59:59Z'],
      ['at end_date_time (exclusive)', '2024-04-01T00:00:00Z'],
      ['after end_date_time', '2024-05-01T08:00:00Z'],
    ])('refuses a session that starts %s, with reason code TARIFF_NOT_ACTIVE', (_name, start) => {
      let thrown: unknown;
      try {
        priceSession(twentyKwh(windowed, start));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(TariffNotActiveError);
      expect((thrown as TariffNotActiveError).code).toBe('TARIFF_NOT_ACTIVE');
      expect((thrown as Error).message).toMatch(/^TARIFF_NOT_ACTIVE: tariff T-1 is active (from|until)/);
    });

    it('refuses an expired reservation made outside the window as well', () => {
      expect(() =>
        priceExpiredReservation({ tariff: windowed, timeZone: 'UTC', reservation: { start_date_time: '2024-02-01T00:00:00Z', end_date_time: '2024-02-01T01:00:00Z' } }),
      ).toThrow(TariffNotActiveError);
    });

    it('keeps a CDR (a partner document priced as given) priced, with the warning', () => {
      const cdr = aCdr('2024-05-01T08:00:00Z', [[0, [['ENERGY', 1]]]], 60);
      expect(priceCdr(windowed, cdr, 'UTC').warnings.map((w) => w.code)).toEqual(['TARIFF_NOT_ACTIVE']);
    });
  });

  describe('min_price / max_price without incl_vat, components with different VAT rates', () => {
    // FLAT 1.00 at 19 %, ENERGY 0.30/kWh at 7 %: 20 kWh cost 7.00 excl., 1.19 + 6.42 = 7.61 incl.
    const mixed = (limits: Record<string, unknown>) =>
      aTariff({ ...limits, elements: [anElement([{ type: 'FLAT', price: 1, vat: 19 }, { type: 'ENERGY', price: 0.3, vat: 7 }])] });

    it('accepts such a tariff (OCPI makes incl_vat optional)', () => {
      expect(() => mixed({ min_price: { excl_vat: 2 }, max_price: { excl_vat: 20 } })).not.toThrow();
    });

    it('max_price bounds the excl. VAT total and recomputes VAT at the session mix', () => {
      const priced = priceSession(twentyKwh(mixed({ max_price: { excl_vat: 3.5 } })));
      // 3.50 / 7.00 of the session: incl. 7.61 x 0.5 = 3.805 -> 3.81
      expect(priced.total_cost).toEqual({ excl_vat: '3.50', incl_vat: '3.81' });
      expect(priced.lines.find((l) => l.kind === 'MAX_PRICE')!.cost).toEqual({ excl_vat: '-3.50', incl_vat: '-3.81' });
    });

    it('min_price raises the excl. VAT total and VAT follows the session mix', () => {
      const priced = priceSession(twentyKwh(mixed({ min_price: { excl_vat: 14 } })));
      expect(priced.total_cost).toEqual({ excl_vat: '14.00', incl_vat: '15.22' });
    });

    it('a session with nothing priced raised to min_price takes the highest VAT rate of the tariff', () => {
      const tariff = aTariff({ min_price: { excl_vat: 5 }, elements: [anElement([{ type: 'ENERGY', price: 0.3, vat: 7 }]), anElement([{ type: 'TIME', price: 1, vat: 19 }])] });
      const priced = priceSession(aSession({ tariff, start: START, stop: { after: 0, meterStopWh: 0 } }));
      expect(priced.total_cost).toEqual({ excl_vat: '5.00', incl_vat: '5.95' });
    });

    it('with incl_vat given, each limb still bounds its own total', () => {
      const priced = priceSession(twentyKwh(mixed({ max_price: { excl_vat: 3.5, incl_vat: 4 } })));
      expect(priced.total_cost).toEqual({ excl_vat: '3.50', incl_vat: '4.00' });
    });

    it('property: without incl_vat, the limited session keeps its VAT share (incl / excl unchanged) and respects the limit', () => {
      fc.assert(
        fc.property(
          // whole 10 kWh, so the unlimited totals are exact in cents (0.30 x 10 x 1.07 = 3.21)
          fc.integer({ min: 0, max: 6 }).map((k) => k * 10_000),
          fc.integer({ min: 1, max: 3000 }),
          fc.constantFrom('min_price', 'max_price'),
          (meterStopWh, limitCents, which) => {
            const tariff = mixed({ [which]: { excl_vat: limitCents / 100 } });
            const free = priceSession({ ...twentyKwh(mixed({})), stopTransaction: { meterStop: meterStopWh, timestamp: plus(START, 60), transactionId: 7 } });
            const limited = priceSession({ ...twentyKwh(tariff), stopTransaction: { meterStop: meterStopWh, timestamp: plus(START, 60), transactionId: 7 } });
            const cents = (text: string) => Math.round(Number(text) * 100);
            const excl = cents(limited.total_cost.excl_vat);
            const freeExcl = cents(free.total_cost.excl_vat);
            const expectedExcl = which === 'max_price' ? Math.min(freeExcl, limitCents) : Math.max(freeExcl, limitCents);
            expect(excl).toBe(expectedExcl);
            if (excl === freeExcl) {
              expect(limited.total_cost).toEqual(free.total_cost);
            } else {
              // incl = free.incl x excl / free.excl, rounded once (compare in integer cents, half a cent of slack each side)
              const scaled = (cents(free.total_cost.incl_vat) * excl) / freeExcl;
              // the limited incl. VAT total is rounded once from the exact scaled value
              expect(Math.abs(cents(limited.total_cost.incl_vat) - scaled)).toBeLessThanOrEqual(0.5 + 1e-9);
              expect(cents(limited.total_cost.incl_vat)).toBeGreaterThanOrEqual(excl);
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });

  describe('reservations: the OCPI 2.2.1 tariff examples (mod_tariffs, "Tariff example with reservation price" and after)', () => {
    const charging = anElement([{ type: 'FLAT', price: 0.5, vat: 20 }, { type: 'ENERGY', price: 0.25, vat: 10 }]);
    const ocpiTariff = (elements: unknown[]) => parseTariff(aTariffJson({ party_id: 'ALL', id: '20', elements: [...elements, charging] }));
    const ex15 = ocpiTariff([anElement([{ type: 'TIME', price: 5, vat: 20, step_size: 60 }], { reservation: 'RESERVATION' })]);
    const ex16 = ocpiTariff([anElement([{ type: 'FLAT', price: 2, vat: 20 }, { type: 'TIME', price: 5, vat: 20, step_size: 300 }], { reservation: 'RESERVATION' })]);
    const ex17 = ocpiTariff([
      anElement([{ type: 'FLAT', price: 4, vat: 20 }], { reservation: 'RESERVATION_EXPIRES' }),
      anElement([{ type: 'TIME', price: 2, vat: 20, step_size: 600 }], { reservation: 'RESERVATION' }),
    ]);
    const ex18 = ocpiTariff([
      anElement([{ type: 'TIME', price: 6, vat: 20, step_size: 600 }], { reservation: 'RESERVATION_EXPIRES' }),
      anElement([{ type: 'TIME', price: 3, vat: 20, step_size: 600 }], { reservation: 'RESERVATION' }),
    ]);

    it.each([
      ['15: 5 EUR/h per minute, started 15 min after the reservation', ex15, 15, '6.75', '7.60', '1.25', '1.50'],
      ['16: 2 EUR fee + 5 EUR/h per 5 min, 13 min billed as 15', ex16, 13, '8.75', '10.00', '3.25', '3.90'],
      ['17: 2 EUR/h per 10 min, 22 min billed as 30', ex17, 22, '6.50', '7.30', '1.00', '1.20'],
      ['18: 3 EUR/h per 10 min, 22 min billed as 30', ex18, 22, '7.00', '7.90', '1.50', '1.80'],
    ])('example %s', (_name, tariff, minutes, excl, incl, reservationExcl, reservationIncl) => {
      const priced = priceSession(twentyKwh(tariff, START, minutes));
      expect(priced.total_cost).toEqual({ excl_vat: excl, incl_vat: incl });
      expect(priced.total_reservation_cost).toEqual({ excl_vat: reservationExcl, incl_vat: reservationIncl });
      // OCPI: total_fixed_cost excludes the reservation's fixed price components
      expect(priced.total_fixed_cost).toEqual({ excl_vat: '0.50', incl_vat: '0.60' });
      expect(priced.total_energy_cost).toEqual({ excl_vat: '5.00', incl_vat: '5.50' });
      expect(priced.start_date_time).toBe('2024-03-05T10:00:00Z');
    });

    it.each([
      ['17: 4 EUR expiry fee + 60 min at 2 EUR/h', ex17, 60, '6.00', '7.20'],
      ['18: 90 min at the RESERVATION_EXPIRES 6 EUR/h (not RESERVATION 3 EUR/h)', ex18, 90, '9.00', '10.80'],
    ])('expired reservation, example %s', (_name, tariff, minutes, excl, incl) => {
      const priced = priceExpiredReservation({ tariff, timeZone: 'Europe/Berlin', reservation: { start_date_time: START, end_date_time: plus(START, minutes) } });
      expect(priced.total_cost).toEqual({ excl_vat: excl, incl_vat: incl });
      expect(priced.total_reservation_cost).toEqual(priced.total_cost);
      expect(priced.lines.every((l) => l.kind.startsWith('RESERVATION_'))).toBe(true);
    });

    it('a CDR that starts with RESERVATION_TIME prices it under the reservation elements (example 15)', () => {
      const cdr = aCdr(START, [[0, [['RESERVATION_TIME', 0.25]]], [15, [['ENERGY', 20], ['TIME', 0.75]]]], 75);
      const priced = priceCdr(ex15, cdr, 'Europe/Berlin');
      expect(priced.total_cost).toEqual({ excl_vat: '6.75', incl_vat: '7.60' });
      expect(priced.total_reservation_cost).toEqual({ excl_vat: '1.25', incl_vat: '1.50' });
    });

    it('a CDR with only RESERVATION_TIME is an expired reservation (example 18: 9.00 / 10.80)', () => {
      const priced = priceCdr(ex18, aCdr(START, [[0, [['RESERVATION_TIME', 1.5]]]], 90), 'Europe/Berlin');
      expect(priced.total_cost).toEqual({ excl_vat: '9.00', incl_vat: '10.80' });
    });

    it('a session without a reservation never pays reservation elements', () => {
      const priced = priceSession(twentyKwh(ex16));
      expect(priced.total_cost).toEqual({ excl_vat: '5.50', incl_vat: '6.10' });
      expect(priced.total_reservation_cost).toEqual({ excl_vat: '0.00', incl_vat: '0.00' });
    });

    it('refuses a reservation that starts after the session', () => {
      expect(() => priceSession({ ...twentyKwh(ex15), reservation: { start_date_time: plus(START, 5) } })).toThrow(/reservation\.start_date_time/);
    });

    it('property: reservation cost is the step-rounded reserved time at the reservation price, whatever the minutes', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 600 }), (minutes) => {
          const priced = priceSession(twentyKwh(ex17, START, minutes));
          const billedMinutes = Math.ceil(minutes / 10) * 10;
          // 2 EUR/h: cents = billedMinutes x 200 / 60, rounded half up, in integers (no float money)
          const cents = Math.floor((billedMinutes * 200 + 30) / 60);
          expect(priced.total_reservation_cost.excl_vat).toBe(`${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`);
          expect(priced.total_energy_cost).toEqual({ excl_vat: '5.00', incl_vat: '5.50' });
        }),
        { numRuns: 100 },
      );
    });
  });
});
