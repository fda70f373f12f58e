import { divRoundHalfUp, formatScaled, formatScaledTrimmed } from '../../shared/decimal.ts';
import { type CompiledComponent, type CompiledElement, type CompiledPrice, type CompiledRestrictions, PRICE_SCALE, type PricingPlan, VAT_ONE } from './pricing-plan.ts';
import type { TariffDimension } from './tariff.ts';
import { dayOfWall, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, wallTime, weekdayOfDay } from '../../shared/time-zone.ts';

/**
 * The pricing engine proper: OCPI 2.2.1 element selection over charging periods, step_size,
 * FLAT, min/max price and the VoltLedger idle fee, in exact integer arithmetic. Quantities are
 * integers (mWh, ms) summed as plain numbers; money is BigInt over one fixed denominator, so no
 * amount is rounded before the single rounding point (see {@link toMinorUnits}).
 */

/** A non-negative rational `num / den` (den > 0), used for power (kW x 1e4) and current (A x 1e4). */
export interface Ratio {
  num: number;
  den: number;
}

/** One charging period as the engine prices it; the shape both CDR and OCPP inputs are turned into. */
export interface PricingPeriod {
  startMs: number;
  endMs: number;
  energyMilliWh: number;
  /** Charging time (OCPI TIME). */
  timeMs: number;
  /** Plugged in, not drawing power (OCPI PARKING_TIME). */
  parkingMs: number;
  /** Energy of the session before this period (for min_kwh / max_kwh). */
  energyBeforeMilliWh: number;
  /** Power in kW x 1e4 compared with min_power / max_power; null when unknown. */
  powerForMin: Ratio | null;
  powerForMax: Ratio | null;
  /** Current in A x 1e4 compared with min_current / max_current; null when unknown. */
  currentForMin: Ratio | null;
  currentForMax: Ratio | null;
}

/** A Price as in OCPI CDR totals, as decimal strings. */
export interface CdrPrice {
  excl_vat: string;
  incl_vat: string;
}

export type LineKind =
  | 'FLAT'
  | 'ENERGY'
  | 'TIME'
  | 'PARKING_TIME'
  | 'RESERVATION_FLAT'
  | 'RESERVATION_TIME'
  | 'IDLE_FEE'
  | 'MIN_PRICE'
  | 'MAX_PRICE'
  | 'FREE'
  | 'ROUNDING';

/** One line of a priced session: what was counted, at which price, and what it costs. */
export interface PriceLine {
  kind: LineKind;
  /** Where the price comes from: `tariff`, `member tier gold`, `fleet account ACME`, `voltledger.idle_fee`... */
  source: string | null;
  /** Index into the elements of `source` (OCPI TariffElement), for FLAT / ENERGY / TIME / PARKING_TIME. */
  elementIndex: number | null;
  description: string;
  /** What was consumed under this price, exact (kWh, seconds, or 1 session). */
  quantity: string | null;
  /** What is billed after step_size (equal to `quantity` unless a step rounded it up). */
  billedQuantity: string | null;
  unit: 'kWh' | 's' | 'session' | null;
  /** Price per `priceUnit`, excl. VAT, after any member or fleet discount. */
  unitPrice: string | null;
  priceUnit: 'per kWh' | 'per hour' | 'per session' | null;
  vatPercent: string | null;
  /** Rounded to the currency's minor unit from the exact amount. */
  cost: CdrPrice;
  /** The exact amount to 6 decimals, for audit; totals are computed from exact values, not from these. */
  unroundedCost: CdrPrice;
}

/** Something a CPO should look at: bad meter data, assumptions made, prices not applied. */
export interface PricingWarning {
  code: string;
  message: string;
}

/** Why a line or period got the price it got, per dimension: the element index, or null if none applied. */
export interface ElementChoice {
  ENERGY: number | null;
  TIME: number | null;
  PARKING_TIME: number | null;
}

/**
 * Common denominator of every exact amount: 1e10 (price scale) x 3.6e6 (ms per hour) x 10
 * (so kWh, which is 1e6 mWh, divides it) x 1e6 (VAT scale).
 */
const DENOMINATOR = 36n * 10n ** 22n;
const PER_KWH_FACTOR = 36n; // price_e10 * mWh * 36 / 3.6e17 = price * kWh
const PER_MS_FACTOR = 10n; // price_e10 * ms * 10 / 3.6e17 = price * hours
const PER_UNIT_FACTOR = 36_000_000n; // price_e10 * 3.6e7 / 3.6e17 = price

/** An amount excl. and incl. VAT, both over {@link DENOMINATOR}. */
export interface ExactAmount {
  excl: bigint;
  incl: bigint;
}

const ZERO: ExactAmount = { excl: 0n, incl: 0n };
const add = (a: ExactAmount, b: ExactAmount): ExactAmount => ({ excl: a.excl + b.excl, incl: a.incl + b.incl });

function withVat(base: bigint, vatE4: bigint): ExactAmount {
  return { excl: base * VAT_ONE, incl: base * (VAT_ONE + vatE4) };
}

/** THE rounding point: an exact amount to integer minor units, half away from zero. */
export function toMinorUnits(exact: bigint, minorDigits: number): bigint {
  return divRoundHalfUp(exact * 10n ** BigInt(minorDigits), DENOMINATOR);
}

/** An amount in integer minor units (cents), excl. and incl. VAT. */
export interface MinorAmount {
  excl: bigint;
  incl: bigint;
}

/** A CDR Price of minor units. */
export function formatMinor(amount: MinorAmount, minorDigits: number): CdrPrice {
  return { excl_vat: formatScaled(amount.excl, minorDigits), incl_vat: formatScaled(amount.incl, minorDigits) };
}

function unroundedOf(amount: ExactAmount): CdrPrice {
  return {
    excl_vat: formatScaled(divRoundHalfUp(amount.excl * 1_000_000n, DENOMINATOR), 6),
    incl_vat: formatScaled(divRoundHalfUp(amount.incl * 1_000_000n, DENOMINATOR), 6),
  };
}

/** kWh from mWh, exact. */
export const kwhText = (milliWh: number) => formatScaledTrimmed(BigInt(milliWh), 6);
/** Seconds from ms, exact. */
export const secondsText = (ms: number) => formatScaledTrimmed(BigInt(ms), 3);
/** Hours from ms to 6 decimals (hours are repeating decimals in general). */
export const hoursText = (ms: number) => formatScaledTrimmed(divRoundHalfUp(BigInt(ms) * 1_000_000n, BigInt(MS_PER_HOUR)), 6);

function durationLabel(ms: number): string {
  const totalSeconds = ms / 1000;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const parts: string[] = [];
  if (hours) parts.push(`${hours} h`);
  if (minutes) parts.push(`${minutes} min`);
  if (seconds || parts.length === 0) parts.push(`${Number.isInteger(seconds) ? seconds : seconds.toFixed(3)} s`);
  return parts.join(' ');
}

/** The session the periods belong to: duration restrictions count from `startMs`. */
export interface SessionFrame {
  startMs: number;
  timeZone: string;
}

const TIME_DIMENSIONS = ['TIME', 'PARKING_TIME'] as const;

/** Does `r` hold at the start of period `p`? `wall` is the local wall time of the period start. */
function restrictionsHold(r: CompiledRestrictions, p: PricingPeriod, elapsedMs: number, wall: number, unknownCurrent: { seen: boolean }): boolean {
  if (r.usesWallTime) {
    const day = dayOfWall(wall);
    if (r.startDay !== null && day < r.startDay) return false;
    if (r.endDay !== null && day >= r.endDay) return false;
    if (r.weekdays !== null && (r.weekdays & (1 << weekdayOfDay(day))) === 0) return false;
    if (r.startMinute !== null || r.endMinute !== null) {
      const timeOfDay = wall - day * MS_PER_DAY;
      const from = (r.startMinute ?? 0) * MS_PER_MINUTE;
      // OCPI 2.2.1: end_time 00:00 means the end of the day; end_time < start_time wraps past midnight.
      const to = r.endMinute === null || r.endMinute === 0 ? MS_PER_DAY : r.endMinute * MS_PER_MINUTE;
      if (from < to) {
        if (timeOfDay < from || timeOfDay >= to) return false;
      } else if (from > to) {
        if (timeOfDay < from && timeOfDay >= to) return false;
      }
    }
  }
  if (r.minEnergyMilliWh !== null && p.energyBeforeMilliWh < r.minEnergyMilliWh) return false;
  if (r.maxEnergyMilliWh !== null && p.energyBeforeMilliWh >= r.maxEnergyMilliWh) return false;
  if (r.minDurationMs !== null && elapsedMs < r.minDurationMs) return false;
  if (r.maxDurationMs !== null && elapsedMs >= r.maxDurationMs) return false;
  if (r.minPowerE4 !== null && !(p.powerForMin && p.powerForMin.num >= r.minPowerE4 * p.powerForMin.den)) return false;
  if (r.maxPowerE4 !== null && !(p.powerForMax && p.powerForMax.num < r.maxPowerE4 * p.powerForMax.den)) return false;
  if (r.minCurrentE4 !== null || r.maxCurrentE4 !== null) {
    if (r.minCurrentE4 !== null && !p.currentForMin) unknownCurrent.seen = true;
    if (r.maxCurrentE4 !== null && !p.currentForMax) unknownCurrent.seen = true;
    if (r.minCurrentE4 !== null && !(p.currentForMin && p.currentForMin.num >= r.minCurrentE4 * p.currentForMin.den)) return false;
    if (r.maxCurrentE4 !== null && !(p.currentForMax && p.currentForMax.num < r.maxCurrentE4 * p.currentForMax.den)) return false;
  }
  return true;
}

/** OCPI 2.2.1: the first element pricing the dimension whose restrictions all hold (memoised per period in `cache`). */
function firstApplicable(
  candidates: readonly CompiledElement[],
  period: PricingPeriod,
  elapsedMs: number,
  wall: number,
  cache: Int8Array,
  unknownCurrent: { seen: boolean },
): CompiledElement | null {
  for (const element of candidates) {
    if (!element.restrictions) return element;
    let state = cache[element.index]!;
    if (state === 0) {
      state = restrictionsHold(element.restrictions, period, elapsedMs, wall, unknownCurrent) ? 1 : 2;
      cache[element.index] = state;
    }
    if (state === 1) return element;
  }
  return null;
}

type LineDraft = Omit<PriceLine, 'cost' | 'unroundedCost'>;

export interface ExactLine {
  line: LineDraft;
  amount: ExactAmount;
  category: 'fixed' | 'energy' | 'time' | 'parking' | 'reservation' | 'adjustment';
}

/** The dimensions priced by quantity (FLAT is charged once). */
type PricedDimension = Exclude<TariffDimension, 'FLAT'>;

/** What the engine found, before it is laid out as a priced session. */
export interface EngineResult {
  lines: PriceLine[];
  /**
   * In minor units, each rounded once from its own exact value; the lines (with a ROUNDING line
   * where needed) add up to `total`.
   */
  totals: Record<'fixed' | 'energy' | 'time' | 'parking' | 'reservation' | 'total', MinorAmount>;
  /** Per input period, the element chosen per dimension. */
  choices: ElementChoice[];
  warnings: PricingWarning[];
}

/**
 * Prices `periods` (chronological, non-overlapping) under `plan`.
 *
 * OCPI 2.2.1 rules applied: per dimension the first element whose restrictions all hold at the
 * period start; FLAT once, from the first period in which a FLAT component applies; step_size
 * once per session for ENERGY and once for TIME and PARKING_TIME together, with the step of the
 * last priced period of that kind, the extra billed at that period's price; min_price and
 * max_price on the total, each limb (excl. and incl. VAT) on its own.
 */
export function priceWithPlan(plan: PricingPlan, periods: readonly PricingPeriod[], frame: SessionFrame, reservation?: ReservationSpan): EngineResult {
  const elementCount = plan.elements.length;
  const zeros = () => new Array<number>(elementCount).fill(0);
  /** Quantity (mWh or ms) priced by each element, per dimension; > 0 exactly when the element was used. */
  const quantities: Record<PricedDimension, number[]> = { ENERGY: zeros(), TIME: zeros(), PARKING_TIME: zeros() };
  const matchCache = new Int8Array(elementCount); // 0 unknown, 1 holds, 2 does not
  const unknownCurrent = { seen: false };
  let lastEnergyElement = -1;
  let lastTime: { dimension: 'TIME' | 'PARKING_TIME'; element: number } | null = null;
  let flatElement = -1;
  const choices: ElementChoice[] = [];

  for (const period of periods) {
    matchCache.fill(0);
    const wall = plan.usesWallTime ? wallTime(frame.timeZone, period.startMs) : 0;
    const elapsed = period.startMs - frame.startMs;
    const choice: ElementChoice = { ENERGY: null, TIME: null, PARKING_TIME: null };
    if (period.energyMilliWh > 0) {
      const element = firstApplicable(plan.byDimension.ENERGY, period, elapsed, wall, matchCache, unknownCurrent);
      if (element) {
        quantities.ENERGY[element.index]! += period.energyMilliWh;
        lastEnergyElement = element.index;
        choice.ENERGY = element.index;
      }
    }
    for (const dimension of TIME_DIMENSIONS) {
      const ms = dimension === 'TIME' ? period.timeMs : period.parkingMs;
      if (ms <= 0) continue;
      const element = firstApplicable(plan.byDimension[dimension], period, elapsed, wall, matchCache, unknownCurrent);
      if (!element) continue;
      quantities[dimension][element.index]! += ms;
      lastTime = { dimension, element: element.index };
      choice[dimension] = element.index;
    }
    if (flatElement < 0) {
      const element = firstApplicable(plan.byDimension.FLAT, period, elapsed, wall, matchCache, unknownCurrent);
      if (element) flatElement = element.index;
    }
    choices.push(choice);
  }

  const warnings: PricingWarning[] = [];
  if (unknownCurrent.seen) {
    warnings.push({
      code: 'CURRENT_UNKNOWN',
      message: 'a min_current / max_current restriction met a period without a current reading: the restriction was taken as not met',
    });
  }

  // OCPI 2.2.1 step_size: once per session per kind, on the total, with the step of the last priced period.
  const extra: Record<PricedDimension, number[]> = { ENERGY: zeros(), TIME: zeros(), PARKING_TIME: zeros() };
  if (lastEnergyElement >= 0) {
    const step = plan.elements[lastEnergyElement]!.components.ENERGY!.stepSize * 1000;
    const total = quantities.ENERGY.reduce((sum, q) => sum + q, 0);
    if (step > 0) extra.ENERGY[lastEnergyElement] = Math.ceil(total / step) * step - total;
  }
  if (lastTime) {
    const step = plan.elements[lastTime.element]!.components[lastTime.dimension]!.stepSize * 1000;
    const total = quantities[lastTime.dimension].reduce((sum, q) => sum + q, 0);
    if (step > 0) extra[lastTime.dimension][lastTime.element] = Math.ceil(total / step) * step - total;
  }

  const lines: ExactLine[] = reservation ? reservationLines(plan, reservation, frame.timeZone, unknownCurrent) : [];
  const source = plan.elementsSource;
  if (flatElement >= 0) {
    const component = plan.elements[flatElement]!.components.FLAT!;
    const amount = withVat(component.priceE10 * PER_UNIT_FACTOR, component.vatE4);
    lines.push({
      category: 'fixed',
      amount,
      line: makeLine(plan, 'FLAT', flatElement, component, '1', '1', `flat fee per session (${source} element #${flatElement}${listNote(component, plan)})`),
    });
  }
  for (const dimension of ['ENERGY', 'TIME', 'PARKING_TIME'] as const) {
    for (let index = 0; index < elementCount; index++) {
      if (quantities[dimension][index] === 0) continue;
      const component = plan.elements[index]!.components[dimension]!;
      const measured = quantities[dimension][index]!;
      const billed = measured + extra[dimension][index]!;
      const base = component.priceE10 * BigInt(billed) * (dimension === 'ENERGY' ? PER_KWH_FACTOR : PER_MS_FACTOR);
      const amount = withVat(base, component.vatE4);
      const quantityText = dimension === 'ENERGY' ? kwhText(measured) : secondsText(measured);
      const billedText = dimension === 'ENERGY' ? kwhText(billed) : secondsText(billed);
      const what =
        dimension === 'ENERGY'
          ? `energy ${quantityText} kWh`
          : `${dimension === 'TIME' ? 'charging time' : 'parking time'} ${durationLabel(measured)}`;
      const stepNote =
        billed !== measured
          ? `, billed as ${dimension === 'ENERGY' ? `${billedText} kWh` : durationLabel(billed)} (step_size ${component.stepSize} ${dimension === 'ENERGY' ? 'Wh' : 's'} on the session total)`
          : '';
      lines.push({
        category: dimension === 'ENERGY' ? 'energy' : dimension === 'TIME' ? 'time' : 'parking',
        amount,
        line: makeLine(plan, dimension, index, component, quantityText, billedText, `${what}${stepNote} (${source} element #${index}${listNote(component, plan)})`),
      });
    }
  }
  const idle = idleFeeLine(plan, periods);
  if (idle) lines.push(idle);

  let total = lines.reduce((acc, l) => add(acc, l.amount), ZERO);
  const minAdjusted = applyLimit(total, plan.minPrice, 'min');
  if (minAdjusted.excl !== total.excl || minAdjusted.incl !== total.incl) {
    lines.push(adjustmentLine(plan, 'MIN_PRICE', total, minAdjusted));
    total = minAdjusted;
  }
  const maxAdjusted = applyLimit(total, plan.maxPrice, 'max');
  if (maxAdjusted.excl !== total.excl || maxAdjusted.incl !== total.incl) {
    lines.push(adjustmentLine(plan, 'MAX_PRICE', total, maxAdjusted));
    total = maxAdjusted;
  }
  return { ...settle(lines, plan.minorDigits), choices, warnings };
}

/**
 * The rounding rule, applied once at the end: every figure shown (each line, each sub-total, the
 * total; each limb, excl. and incl. VAT) is rounded half up to minor units from its OWN exact
 * value, so an auditor can recompute any of them from quantity x price x (1 + VAT). Nothing
 * rounded is rounded again or summed into another figure. Where the rounded lines do not add up
 * to the rounded total, a ROUNDING line states the difference (at most a minor unit per line).
 */
export function settle(lines: readonly ExactLine[], minorDigits: number): Pick<EngineResult, 'lines' | 'totals'> {
  const exactTotals: Record<keyof EngineResult['totals'], ExactAmount> = {
    fixed: { excl: 0n, incl: 0n },
    energy: { excl: 0n, incl: 0n },
    time: { excl: 0n, incl: 0n },
    parking: { excl: 0n, incl: 0n },
    reservation: { excl: 0n, incl: 0n },
    total: { excl: 0n, incl: 0n },
  };
  const settled: PriceLine[] = [];
  const lineSum: MinorAmount = { excl: 0n, incl: 0n };
  for (const exact of lines) {
    const buckets: Array<keyof EngineResult['totals']> = exact.category === 'adjustment' ? ['total'] : [exact.category, 'total'];
    for (const bucket of buckets) {
      exactTotals[bucket].excl += exact.amount.excl;
      exactTotals[bucket].incl += exact.amount.incl;
    }
    const cost = { excl: toMinorUnits(exact.amount.excl, minorDigits), incl: toMinorUnits(exact.amount.incl, minorDigits) };
    lineSum.excl += cost.excl;
    lineSum.incl += cost.incl;
    settled.push({ ...exact.line, cost: formatMinor(cost, minorDigits), unroundedCost: unroundedOf(exact.amount) });
  }
  const round = (amount: ExactAmount): MinorAmount => ({ excl: toMinorUnits(amount.excl, minorDigits), incl: toMinorUnits(amount.incl, minorDigits) });
  const totals: EngineResult['totals'] = {
    fixed: round(exactTotals.fixed),
    energy: round(exactTotals.energy),
    time: round(exactTotals.time),
    parking: round(exactTotals.parking),
    reservation: round(exactTotals.reservation),
    total: round(exactTotals.total),
  };
  const difference = { excl: totals.total.excl - lineSum.excl, incl: totals.total.incl - lineSum.incl };
  if (difference.excl !== 0n || difference.incl !== 0n) {
    settled.push({
      ...noteLine('ROUNDING', 'rounding', 'rounding difference: each line is rounded from its exact amount, the total from the exact sum'),
      cost: formatMinor(difference, minorDigits),
      unroundedCost: unroundedOf(ZERO),
    });
  }
  return { lines: settled, totals };
}

/** A line that carries an amount but no quantity or unit price: a free session, a min/max adjustment. */
function noteLine(kind: 'FREE' | 'MIN_PRICE' | 'MAX_PRICE' | 'ROUNDING', source: string, description: string): LineDraft {
  return { kind, source, elementIndex: null, description, quantity: null, billedQuantity: null, unit: null, unitPrice: null, priceUnit: null, vatPercent: null };
}

/** The line of a free session: nothing to pay, and why. */
export function freeLine(basis: string): ExactLine {
  return { category: 'adjustment', amount: ZERO, line: noteLine('FREE', 'billing profile', `no charge: ${basis}`) };
}

function listNote(component: CompiledComponent, plan: PricingPlan): string {
  return plan.discountPercent ? `, list price ${component.listPrice} less ${plan.discountPercent}%` : '';
}

function makeLine(
  plan: PricingPlan,
  kind: 'FLAT' | 'ENERGY' | 'TIME' | 'PARKING_TIME' | 'RESERVATION_FLAT' | 'RESERVATION_TIME',
  elementIndex: number,
  component: CompiledComponent,
  quantity: string,
  billedQuantity: string,
  description: string,
): LineDraft {
  return {
    kind,
    source: plan.elementsSource,
    elementIndex,
    description,
    quantity,
    billedQuantity,
    unit: kind === 'FLAT' || kind === 'RESERVATION_FLAT' ? 'session' : kind === 'ENERGY' ? 'kWh' : 's',
    unitPrice: formatScaledTrimmed(component.priceE10, PRICE_SCALE),
    priceUnit: kind === 'FLAT' || kind === 'RESERVATION_FLAT' ? 'per session' : kind === 'ENERGY' ? 'per kWh' : 'per hour',
    vatPercent: component.vatPercent,
  };
}

/**
 * VoltLedger idle fee: every stretch of time plugged in without drawing power (an idle episode)
 * starts its own grace period; time beyond it is idle. step_size applies once to the session's
 * idle total, and max_price caps the fee (excl. VAT; incl. VAT follows at the fee's VAT rate).
 */
function idleFeeLine(plan: PricingPlan, periods: readonly PricingPeriod[]): ExactLine | null {
  const fee = plan.idleFee;
  if (!fee) return null;
  let idleMs = 0;
  let episodes = 0;
  let episodeMs = 0;
  let previousEnd = Number.NaN;
  const close = () => {
    if (episodeMs > fee.graceMs) {
      idleMs += episodeMs - fee.graceMs;
      episodes++;
    }
    episodeMs = 0;
  };
  for (const period of periods) {
    const parkingOnly = period.parkingMs > 0 && period.timeMs === 0 && period.energyMilliWh === 0;
    if (!parkingOnly || period.startMs !== previousEnd) close();
    if (parkingOnly) episodeMs += period.parkingMs;
    previousEnd = period.endMs;
  }
  close();
  if (idleMs === 0) return null;
  const step = fee.stepSize * 1000;
  const billed = step > 0 ? Math.ceil(idleMs / step) * step : idleMs;
  let base = fee.priceE10 * BigInt(billed) * PER_MS_FACTOR;
  let capNote = '';
  if (fee.maxExclE10 !== null && base > fee.maxExclE10 * PER_UNIT_FACTOR) {
    base = fee.maxExclE10 * PER_UNIT_FACTOR;
    capNote = `, capped at ${formatScaledTrimmed(fee.maxExclE10, PRICE_SCALE)} ${plan.currency} excl. VAT`;
  }
  const amount = withVat(base, fee.vatE4);
  const stepNote = billed !== idleMs ? `, billed as ${durationLabel(billed)} (step_size ${fee.stepSize} s)` : '';
  return {
    category: 'parking',
    amount,
    line: {
      kind: 'IDLE_FEE',
      source: 'voltledger.idle_fee',
      elementIndex: null,
      description:
        `idle fee: ${durationLabel(idleMs)} plugged in without drawing power beyond the ${durationLabel(fee.graceMs)} grace period ` +
        `(${episodes} idle stop${episodes === 1 ? '' : 's'})${stepNote}${capNote}`,
      quantity: secondsText(idleMs),
      billedQuantity: secondsText(billed),
      unit: 's',
      unitPrice: fee.price,
      priceUnit: 'per hour',
      vatPercent: fee.vatPercent,
    },
  };
}

/**
 * OCPI 2.2.1 min_price / max_price: "they both apply", each limb bounds its own total. When the
 * tariff omits incl_vat (optional in OCPI), there is no incl. VAT limit of its own: the excl. VAT
 * limb is bounded and VAT is recomputed at the session's own VAT mix, i.e. the incl. VAT total is
 * scaled by the same factor as the excl. VAT total (each priced line keeps its share and its VAT
 * rate). A session with nothing priced (excl. VAT 0) raised to a min_price has no mix: it takes
 * the highest VAT rate of the plan's components ({@link CompiledPrice.fallbackVatE4}). The scaling
 * is exact to 1/{@link DENOMINATOR} of a currency unit (half up), far below any minor unit.
 */
function applyLimit(total: ExactAmount, limit: CompiledPrice | null, which: 'min' | 'max'): ExactAmount {
  if (!limit) return total;
  const bound = (value: bigint, limitExact: bigint) =>
    which === 'min' ? (value < limitExact ? limitExact : value) : value > limitExact ? limitExact : value;
  const excl = bound(total.excl, limit.exclE10 * PER_UNIT_FACTOR * VAT_ONE);
  if (limit.inclE10 !== null) return { excl, incl: bound(total.incl, limit.inclE10 * PER_UNIT_FACTOR * VAT_ONE) };
  if (excl === total.excl) return total;
  if (total.excl === 0n) return { excl, incl: (excl / VAT_ONE) * (VAT_ONE + limit.fallbackVatE4) };
  return { excl, incl: divRoundHalfUp(total.incl * excl, total.excl) };
}

/** A reservation before a session (or one that expired without a session), as the engine prices it. */
export interface ReservationSpan {
  /** When the reservation was made (OCPI: "A reservation starts when the reservation is made"). */
  startMs: number;
  /** Reserved time: until the session started, or until the reservation expired. */
  durationMs: number;
  /** True when the reservation expired and no session followed (RESERVATION_EXPIRES elements apply first). */
  expired: boolean;
}

/**
 * OCPI 2.2.1 reservation pricing: elements with `restrictions.reservation` price the reservation
 * only (FLAT and TIME, TIME for the reserved duration). Per dimension the first applicable element
 * in tariff order among the `RESERVATION` elements; for an expired reservation the
 * `RESERVATION_EXPIRES` elements come first (OCPI: its TIME wins over RESERVATION's; VoltLedger
 * extends that precedence to FLAT), then the `RESERVATION` ones. Other restrictions of those
 * elements are evaluated at the reservation's start. step_size applies to the reserved duration on
 * its own (not added to charging or parking time).
 */
function reservationLines(plan: PricingPlan, span: ReservationSpan, timeZone: string, unknownCurrent: { seen: boolean }): ExactLine[] {
  const period: PricingPeriod = {
    startMs: span.startMs,
    endMs: span.startMs + span.durationMs,
    energyMilliWh: 0,
    timeMs: span.durationMs,
    parkingMs: 0,
    energyBeforeMilliWh: 0,
    powerForMin: { num: 0, den: 1 },
    powerForMax: { num: 0, den: 1 },
    currentForMin: { num: 0, den: 1 },
    currentForMax: { num: 0, den: 1 },
  };
  const wall = plan.usesWallTime ? wallTime(timeZone, span.startMs) : 0;
  const cache = new Int8Array(plan.elements.length);
  const candidates = (dimension: 'FLAT' | 'TIME') =>
    [...(span.expired ? plan.reservationExpiresElements : []), ...plan.reservationElements].filter((e) => e.components[dimension] !== undefined);
  const lines: ExactLine[] = [];
  const source = plan.elementsSource;
  const what = span.expired ? 'expired reservation' : 'reservation';
  const flat = firstApplicable(candidates('FLAT'), period, 0, wall, cache, unknownCurrent);
  if (flat) {
    const component = flat.components.FLAT!;
    lines.push({
      category: 'reservation',
      amount: withVat(component.priceE10 * PER_UNIT_FACTOR, component.vatE4),
      line: makeLine(plan, 'RESERVATION_FLAT', flat.index, component, '1', '1', `${what} fee (${source} element #${flat.index}${listNote(component, plan)})`),
    });
  }
  const time = span.durationMs > 0 ? firstApplicable(candidates('TIME'), period, 0, wall, cache, unknownCurrent) : null;
  if (time) {
    const component = time.components.TIME!;
    const step = component.stepSize * 1000;
    const billed = step > 0 ? Math.ceil(span.durationMs / step) * step : span.durationMs;
    const stepNote = billed !== span.durationMs ? `, billed as ${durationLabel(billed)} (step_size ${component.stepSize} s)` : '';
    lines.push({
      category: 'reservation',
      amount: withVat(component.priceE10 * BigInt(billed) * PER_MS_FACTOR, component.vatE4),
      line: makeLine(
        plan,
        'RESERVATION_TIME',
        time.index,
        component,
        secondsText(span.durationMs),
        secondsText(billed),
        `${what} time ${durationLabel(span.durationMs)}${stepNote} (${source} element #${time.index}${listNote(component, plan)})`,
      ),
    });
  }
  return lines;
}

function adjustmentLine(plan: PricingPlan, kind: 'MIN_PRICE' | 'MAX_PRICE', before: ExactAmount, after: ExactAmount): ExactLine {
  const limit = kind === 'MIN_PRICE' ? plan.tariff.min_price! : plan.tariff.max_price!;
  const amount = { excl: after.excl - before.excl, incl: after.incl - before.incl };
  const limits =
    limit.incl_vat === undefined ? `${limit.excl_vat} ${plan.currency} excl. VAT` : `${limit.excl_vat} / ${limit.incl_vat} ${plan.currency} (excl. / incl. VAT)`;
  const description = kind === 'MIN_PRICE' ? `raised to the tariff's min_price of ${limits}` : `lowered to the tariff's max_price of ${limits}`;
  return { category: 'adjustment', amount, line: noteLine(kind, 'tariff', description) };
}

