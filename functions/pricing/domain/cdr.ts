import { z } from 'zod';
import { ValidationError } from '../../shared/errors.ts';
import { divRoundHalfUp, scaleNumber } from '../../shared/decimal.ts';
import type { PricingPeriod, Ratio, ReservationSpan } from './engine.ts';
import { validationErrorFrom } from '../../shared/errors.ts';
import { dateTime } from './tariff.ts';
import { instantOf } from '../../shared/time-zone.ts';

/** OCPI 2.2.1 CdrDimensionType. */
export const CDR_DIMENSIONS = [
  'CURRENT',
  'ENERGY',
  'ENERGY_EXPORT',
  'ENERGY_IMPORT',
  'MAX_CURRENT',
  'MIN_CURRENT',
  'MAX_POWER',
  'MIN_POWER',
  'PARKING_TIME',
  'POWER',
  'RESERVATION_TIME',
  'STATE_OF_CHARGE',
  'TIME',
] as const;

const CdrDimensionSchema = z.strictObject({
  type: z.enum(CDR_DIMENSIONS, { error: `type must be one of ${CDR_DIMENSIONS.join(', ')}` }),
  volume: z.number({ error: 'volume must be a number' }),
});

const ChargingPeriodSchema = z.looseObject({
  start_date_time: dateTime('start_date_time'),
  dimensions: z.array(CdrDimensionSchema).min(1, 'dimensions must not be empty'),
  tariff_id: z.string().max(36).optional(),
});

/**
 * The parts of an OCPI 2.2.1 CDR that pricing reads. Other CDR fields (cdr_token, cdr_location,
 * totals...) may be present and are left alone: a CDR is a partner's document, not our config.
 */
export const CdrSchema = z.looseObject({
  start_date_time: dateTime('start_date_time'),
  end_date_time: dateTime('end_date_time'),
  currency: z.string().optional(),
  charging_periods: z.array(ChargingPeriodSchema).min(1, 'charging_periods must not be empty'),
});

/** An OCPI 2.2.1 CDR (at least start/end and charging_periods). */
export type OcpiCdr = z.input<typeof CdrSchema>;

const PRICED_VOLUMES = new Set(['ENERGY', 'TIME', 'PARKING_TIME', 'RESERVATION_TIME']);

/** OCPI time volumes are hours; its step multiplier is the second, so they are read to the nearest second. */
function hoursToMs(hours: number): number {
  return Number(divRoundHalfUp(scaleNumber(hours, 9) * 3600n, 1_000_000_000n)) * 1000;
}

/** A CDR read into engine periods, with the session frame it spans. */
export interface CdrPeriods {
  startMs: number;
  endMs: number;
  periods: PricingPeriod[];
  /**
   * The CDR's RESERVATION_TIME (OCPI 2.2.1 CdrDimensionType), summed, from the start of the first
   * period that has it; `expired` when the CDR has no charging, energy or parking at all (a
   * reservation that never became a charging session). Null without reservation time.
   */
  reservation: ReservationSpan | null;
}

/**
 * Validates a CDR and turns its charging periods into engine periods, priced as given: each
 * period is evaluated at its start; power and current come from POWER / CURRENT, else MIN_* for
 * min_ restrictions and MAX_* for max_ restrictions, else (power) the period's energy over its
 * charging time; a period without charging has power and current 0.
 *
 * @throws ValidationError naming the offending field, e.g. `charging_periods[1].start_date_time`.
 */
export function readCdr(json: unknown, currency: string): CdrPeriods {
  const parsed = CdrSchema.safeParse(json);
  if (!parsed.success) throw validationErrorFrom(parsed.error, 'CDR');
  const cdr = parsed.data;
  if (cdr.currency !== undefined && cdr.currency !== currency) {
    throw new ValidationError(`invalid CDR: currency: ${cdr.currency} differs from the tariff's ${currency}`, 'currency');
  }
  const startMs = instantOf(cdr.start_date_time)!;
  const endMs = instantOf(cdr.end_date_time)!;
  if (endMs < startMs) throw new ValidationError('invalid CDR: end_date_time: before start_date_time', 'end_date_time');
  const periods: PricingPeriod[] = [];
  let energyBefore = 0;
  let reservationStart: number | null = null;
  let reservationMs = 0;
  cdr.charging_periods.forEach((period, index) => {
    const periodStart = instantOf(period.start_date_time)!;
    const next = cdr.charging_periods[index + 1];
    const periodEnd = next ? Math.max(periodStart, instantOf(next.start_date_time)!) : endMs;
    if (periodStart < (index === 0 ? startMs : instantOf(cdr.charging_periods[index - 1]!.start_date_time)!) || periodStart > endMs) {
      throw new ValidationError(
        `invalid CDR: charging_periods[${index}].start_date_time: periods must be in order and within the CDR's start and end`,
        `charging_periods[${index}].start_date_time`,
      );
    }
    const volumes: Partial<Record<(typeof CDR_DIMENSIONS)[number], number>> = {};
    period.dimensions.forEach((dimension, dimensionIndex) => {
      if (PRICED_VOLUMES.has(dimension.type) && dimension.volume < 0) {
        throw new ValidationError(
          `invalid CDR: charging_periods[${index}].dimensions[${dimensionIndex}].volume: ${dimension.type} must not be negative (energy fed back to the grid is not priced)`,
          `charging_periods[${index}].dimensions[${dimensionIndex}].volume`,
        );
      }
      volumes[dimension.type] = (volumes[dimension.type] ?? 0) + dimension.volume;
    });
    const energy = volumes.ENERGY === undefined ? 0 : Number(scaleNumber(volumes.ENERGY, 6));
    const timeMs = volumes.TIME === undefined ? 0 : hoursToMs(volumes.TIME);
    const parkingMs = volumes.PARKING_TIME === undefined ? 0 : hoursToMs(volumes.PARKING_TIME);
    if (volumes.RESERVATION_TIME !== undefined) {
      reservationStart ??= periodStart;
      reservationMs += hoursToMs(volumes.RESERVATION_TIME);
      // A period of reservation time only is the reservation, not a charging period.
      if (energy === 0 && timeMs === 0 && parkingMs === 0) return;
    }
    const charging = timeMs > 0 || energy > 0;
    const ratio = (value: number | undefined): Ratio | null => (value === undefined ? null : { num: Number(scaleNumber(Math.abs(value), 4)), den: 1 });
    const averagePower: Ratio | null = timeMs > 0 ? { num: energy * 36_000, den: timeMs } : charging ? null : { num: 0, den: 1 };
    const idleCurrent: Ratio | null = charging ? null : { num: 0, den: 1 };
    periods.push({
      startMs: periodStart,
      endMs: periodEnd,
      energyMilliWh: energy,
      timeMs,
      parkingMs,
      energyBeforeMilliWh: energyBefore,
      powerForMin: ratio(volumes.POWER ?? volumes.MIN_POWER) ?? averagePower,
      powerForMax: ratio(volumes.POWER ?? volumes.MAX_POWER) ?? averagePower,
      currentForMin: ratio(volumes.CURRENT ?? volumes.MIN_CURRENT) ?? idleCurrent,
      currentForMax: ratio(volumes.CURRENT ?? volumes.MAX_CURRENT) ?? idleCurrent,
    });
    energyBefore += energy;
  });
  const used = periods.length > 0;
  const reservation = reservationStart === null ? null : { startMs: reservationStart, durationMs: reservationMs, expired: !used };
  return { startMs, endMs, periods, reservation };
}
