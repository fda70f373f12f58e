import type { PricingWarning } from './engine.ts';

/**
 * The plausible energy register series of one session (rules in docs/meters.md).
 *
 * Real meters misread (an all-ones word, a stray zero), reset (a reboot zeroes the register),
 * roll over (a 6-digit kWh register wraps at 10^9 Wh) and disagree with themselves (meterStop below
 * the last sample). This module turns the raw readings, bounded by meterStart and meterStop, into a
 * monotonic "billing register": `meterStart + energy counted so far`, where every step is one the
 * connector could physically have delivered. What it drops or reinterprets, it flags.
 *
 * Pure, integer arithmetic (mWh, ms).
 */

/** A register value at an instant, in mWh. */
export interface RegisterPoint {
  at: number;
  milliWh: number;
}

/** Tolerance above the connector's rated power: meters and clocks are not exact (10 %). */
export const POWER_TOLERANCE_PERCENT = 10;
/** Slack per step, for meter resolution and timestamps rounded to the second: 100 Wh. */
export const STEP_SLACK_MILLI_WH = 100_000;
/** The power assumed when the charge point's rating (registry `maxPowerKw`) is unknown. */
export const DEFAULT_MAX_POWER_KW = 1000;

/** Warning codes that mean the billed energy is not simply meterStop - meterStart: a person should look. */
export const METER_REVIEW_CODES: ReadonlySet<string> = new Set([
  'METER_GLITCH',
  'METER_STOP_IMPLAUSIBLE',
  'METER_STOP_BELOW_READINGS',
  'REGISTER_RESET',
  'REGISTER_ROLLOVER',
]);

/** Register sizes a meter can wrap at, in mWh: 10^5 .. 10^10 Wh and 2^16 .. 2^32 Wh. */
const MODULI_MILLI_WH: readonly bigint[] = (() => {
  const list: bigint[] = [];
  for (let k = 5n; k <= 10n; k++) list.push(10n ** k * 1000n);
  for (let k = 16n; k <= 32n; k++) list.push(2n ** k * 1000n);
  return list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
})();

/** The most energy (mWh) a connector of `maxPowerKw` can deliver in `ms`, with the tolerance and the slack. */
export function maxEnergyMilliWh(maxPowerKw: number, ms: number): number {
  const watts = BigInt(Math.max(1, Math.round(maxPowerKw * 1000)));
  // W x ms / 3600 = mWh; x (100 + tolerance) / 100, rounded up.
  const scaled = watts * BigInt(Math.max(0, ms)) * BigInt(100 + POWER_TOLERANCE_PERCENT);
  const denominator = 3600n * 100n;
  return Number((scaled + denominator - 1n) / denominator) + STEP_SLACK_MILLI_WH;
}

export interface MeterSeriesInput {
  /** meterStart at StartTransaction.timestamp. */
  start: RegisterPoint;
  /** Readings strictly between start and stop (or after start while the session runs), in time order. */
  readings: readonly RegisterPoint[];
  /** meterStop at StopTransaction.timestamp; omitted while the session runs. */
  stop?: RegisterPoint;
  /** The connector's rated power (kW); {@link DEFAULT_MAX_POWER_KW} when unknown. */
  maxPowerKw?: number;
}

export interface MeterSeries {
  /** The billing register: start first, then each accepted reading, then the stop (when given); monotonic. */
  points: RegisterPoint[];
  warnings: PricingWarning[];
  /** Whether the energy is not simply the meter's own difference: the price should be reviewed before money beyond the usual is taken. */
  review: boolean;
}

const wh = (milliWh: number) => `${milliWh / 1000} Wh`;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The plausible series (docs/meters.md):
 * 1. an isolated outlier (a reading out of line with both neighbours, which agree) is dropped:
 *    `METER_GLITCH`, or `METER_STOP_BELOW_READINGS` when the neighbour after it is meterStop;
 * 2. a rise faster than the connector's rated power (+10 %, +100 Wh) is dropped: `METER_GLITCH`
 *    (`METER_STOP_IMPLAUSIBLE` for meterStop: energy is counted to the last plausible reading);
 * 3. a drop is a rollover (`REGISTER_ROLLOVER`: the register wrapped at a power of ten or two, the
 *    wrap counted exactly) or a reset (`REGISTER_RESET`: to near zero, counted from zero) only when
 *    the session ends below both the drop's level and meterStart; any other drop is dropped
 *    (`REGISTER_BACKWARDS`);
 * 4. meterStop below the readings (no reset, no rollover) wins: no energy above meterStop is billed.
 */
export function plausibleSeries(input: MeterSeriesInput): MeterSeries {
  const maxPowerKw = input.maxPowerKw !== undefined && input.maxPowerKw > 0 ? input.maxPowerKw : DEFAULT_MAX_POWER_KW;
  const warnings: PricingWarning[] = [];
  const counts = new Map<string, { count: number; first: string }>();
  const note = (code: string, message: string) => {
    const seen = counts.get(code);
    if (seen) seen.count++;
    else counts.set(code, { count: 1, first: message });
  };
  const { start, stop } = input;

  // 1. Isolated outliers: the neighbours agree (previous kept <= next) and the reading is outside them.
  const kept: RegisterPoint[] = [];
  for (let i = 0; i < input.readings.length; i++) {
    const reading = input.readings[i]!;
    const previous = kept.length ? kept[kept.length - 1]! : start;
    const next = i + 1 < input.readings.length ? input.readings[i + 1]! : stop;
    if (next && previous.milliWh <= next.milliWh && (reading.milliWh > next.milliWh || reading.milliWh < previous.milliWh)) {
      if (next === stop && reading.milliWh > next.milliWh) {
        note('METER_STOP_BELOW_READINGS', `a reading of ${wh(reading.milliWh)} at ${iso(reading.at)} is above meterStop ${wh(next.milliWh)}: meterStop was used`);
      } else {
        note('METER_GLITCH', `a reading of ${wh(reading.milliWh)} at ${iso(reading.at)} is out of line with the readings around it (${wh(previous.milliWh)}, ${wh(next.milliWh)}) and was not billed`);
      }
      continue;
    }
    kept.push(reading);
  }

  // 2-3. Walk the rest: plausible rises, confirmed resets and rollovers.
  const end = stop ?? kept[kept.length - 1] ?? start;
  const points: RegisterPoint[] = [{ at: start.at, milliWh: start.milliWh }];
  let base = start; // the last accepted raw reading
  let billing = start.milliWh; // the billing register at `base`
  let segmentRaw = start.milliWh; // raw value where the current segment (since the last reset/rollover) began
  let segmentBilling = start.milliWh;
  let stopBelow = false;
  const candidates = stop ? [...kept, stop] : kept;
  for (const q of candidates) {
    const isStop = q === stop;
    const allowed = maxEnergyMilliWh(maxPowerKw, q.at - base.at);
    const delta = q.milliWh - base.milliWh;
    if (delta >= 0) {
      if (delta <= allowed) {
        billing += delta;
        base = q;
        points.push({ at: q.at, milliWh: billing });
      } else if (isStop) {
        note('METER_STOP_IMPLAUSIBLE', `meterStop ${wh(q.milliWh)} is ${wh(delta)} above the reading before it, more than ${maxPowerKw} kW could deliver by ${iso(q.at)}: energy was billed to the last plausible reading`);
        points.push({ at: q.at, milliWh: billing });
      } else {
        note('METER_GLITCH', `a reading of ${wh(q.milliWh)} at ${iso(q.at)} rises faster than the connector's ${maxPowerKw} kW allow and was not billed`);
      }
      continue;
    }
    // The register dropped. Only a drop that lasts to the end of the session, below meterStart, can be a reset or a rollover.
    const lasting = end.milliWh < base.milliWh && end.milliWh < start.milliWh;
    const modulus = lasting ? MODULI_MILLI_WH.find((m) => m > BigInt(base.milliWh) && m - BigInt(base.milliWh) + BigInt(q.milliWh) <= BigInt(allowed) && BigInt(q.milliWh) < m) : undefined;
    if (modulus !== undefined) {
      const step = Number(modulus - BigInt(base.milliWh)) + q.milliWh;
      note('REGISTER_ROLLOVER', `the energy register rolled over at ${wh(Number(modulus))} before ${iso(q.at)} (${wh(base.milliWh)} then ${wh(q.milliWh)}): counted across the wrap`);
      billing += step;
    } else if (lasting && q.milliWh <= allowed && q.milliWh * 2 < base.milliWh) {
      note('REGISTER_RESET', `the energy register reset before ${iso(q.at)} (${wh(base.milliWh)} then ${wh(q.milliWh)}): energy before the reset was kept and counting went on from zero`);
      billing += q.milliWh;
    } else {
      if (isStop) {
        stopBelow = true;
        note('METER_STOP_BELOW_READINGS', `meterStop ${wh(q.milliWh)} is below the reading of ${wh(base.milliWh)} before it: meterStop was used, energy above it was not billed`);
      } else {
        note('REGISTER_BACKWARDS', `the energy register went backwards at ${iso(q.at)} (${wh(q.milliWh)} after ${wh(base.milliWh)}); that reading was not billed`);
      }
      continue;
    }
    base = q;
    segmentRaw = q.milliWh;
    segmentBilling = billing;
    points.push({ at: q.at, milliWh: billing });
  }

  // 4. meterStop below the readings: never bill above it (within the segment it belongs to).
  if (stopBelow && stop) {
    const limit = segmentBilling + Math.max(0, stop.milliWh - segmentRaw);
    for (const point of points) if (point.milliWh > limit) point.milliWh = limit;
    points.push({ at: stop.at, milliWh: Math.min(billing, limit) });
  }

  for (const [code, { count, first }] of counts) {
    warnings.push({ code, message: count === 1 ? first : `${first} (and ${count - 1} more like it)` });
  }
  const review = warnings.some((w) => METER_REVIEW_CODES.has(w.code));
  return { points, warnings, review };
}
