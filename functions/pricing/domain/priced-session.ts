import type { BillingProfile } from './billing-profile.ts';
import { timeBoundaries } from './boundaries.ts';
import { readCdr, type OcpiCdr } from './cdr.ts';
import { divRoundHalfUp, formatScaledTrimmed } from '../../shared/decimal.ts';
import {
  type CdrPrice,
  type ElementChoice,
  type EngineResult,
  formatMinor,
  freeLine,
  hoursText,
  kwhText,
  type PriceLine,
  type PricingPeriod,
  type PricingWarning,
  priceWithPlan,
  type ReservationSpan,
  secondsText,
  settle,
} from './engine.ts';
import { choosePricing, type PricingChoice, type PricingPlan, retailPlan } from './pricing-plan.ts';
import { type ChargingPeriod, type SessionPricingInput, sessionToChargingPeriods } from './session-periods.ts';
import type { Tariff } from './tariff.ts';
import { assertTariffActive } from './tariff-validity.ts';
import { ValidationError } from '../../shared/errors.ts';
import { assertTimeZone, instantOf } from '../../shared/time-zone.ts';

/** One period of the explanation: when, what state, how much, and which element priced each dimension. */
export interface PeriodExplanation {
  start_date_time: string;
  end_date_time: string;
  state: 'CHARGING' | 'PARKING';
  energy_kwh: string;
  duration_s: string;
  /** Energy over charging time; null for parking. */
  average_power_kw: string | null;
  elements: ElementChoice;
}

/**
 * A session's price with its explanation. OCPI CDR totals keep their OCPI names; each money
 * figure is rounded once, from its exact value, to the currency's minor unit (docs/pricing.md).
 * Key order is fixed, so the same input always serialises to the same bytes.
 */
export interface PricedSession {
  tariffId: string;
  tariffLastUpdated: string;
  currency: string;
  minorUnitDigits: number;
  timeZone: string;
  billing: { profile: BillingProfile | null; basis: string; notes: string[] };
  start_date_time: string;
  end_date_time: string;
  total_cost: CdrPrice;
  total_fixed_cost: CdrPrice;
  total_energy_cost: CdrPrice;
  total_time_cost: CdrPrice;
  total_parking_cost: CdrPrice;
  /** OCPI total_reservation_cost: the reservation's FLAT and TIME (0 without a reservation). */
  total_reservation_cost: CdrPrice;
  /** kWh, exact. */
  total_energy: string;
  /** Hours from start to end (charging and not), to 6 decimals. */
  total_time: string;
  /** Hours plugged in without drawing power, to 6 decimals. */
  total_parking_time: string;
  /** total_cost incl. VAT in integer minor units (cents for EUR): what payments capture. */
  totalMinor: number;
  lines: PriceLine[];
  periods: PeriodExplanation[];
  warnings: PricingWarning[];
}

const NO_CHOICE: ElementChoice = { ENERGY: null, TIME: null, PARKING_TIME: null };

function isoText(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function explain(period: PricingPeriod, choice: ElementChoice): PeriodExplanation {
  const charging = period.timeMs > 0 || period.energyMilliWh > 0;
  return {
    start_date_time: isoText(period.startMs),
    end_date_time: isoText(period.endMs),
    state: charging ? 'CHARGING' : 'PARKING',
    energy_kwh: kwhText(period.energyMilliWh),
    duration_s: secondsText(period.timeMs + period.parkingMs),
    average_power_kw: period.timeMs > 0 ? formatScaledTrimmed(divRoundHalfUp(BigInt(period.energyMilliWh) * 3600n, BigInt(period.timeMs)), 3) : null,
    elements: choice,
  };
}

const sameChoice = (x: ElementChoice, y: ElementChoice) => x.ENERGY === y.ENERGY && x.TIME === y.TIME && x.PARKING_TIME === y.PARKING_TIME;

/** Adjacent derived periods in the same state under the same elements read as one in the explanation. */
function mergedExplanation(periods: readonly ChargingPeriod[], choices: readonly ElementChoice[]): PeriodExplanation[] {
  const merged: Array<{ period: PricingPeriod; state: ChargingPeriod['state']; choice: ElementChoice }> = [];
  periods.forEach((period, index) => {
    const choice = choices[index] ?? NO_CHOICE;
    const last = merged[merged.length - 1];
    if (last && last.state === period.state && last.period.endMs === period.startMs && sameChoice(last.choice, choice)) {
      last.period.endMs = period.endMs;
      last.period.energyMilliWh += period.energyMilliWh;
      last.period.timeMs += period.timeMs;
      last.period.parkingMs += period.parkingMs;
    } else {
      merged.push({ period: { ...period }, state: period.state, choice });
    }
  });
  return merged.map(({ period, choice }) => explain(period, choice));
}

function validityWarnings(tariff: Tariff, startMs: number): PricingWarning[] {
  const warnings: PricingWarning[] = [];
  if (tariff.start_date_time && startMs < Date.parse(tariff.start_date_time)) {
    warnings.push({ code: 'TARIFF_NOT_ACTIVE', message: `the session started before the tariff's start_date_time ${tariff.start_date_time}` });
  }
  if (tariff.end_date_time && startMs > Date.parse(tariff.end_date_time)) {
    warnings.push({ code: 'TARIFF_NOT_ACTIVE', message: `the session started after the tariff's end_date_time ${tariff.end_date_time}` });
  }
  return warnings;
}

/** A reservation made at `reservationStart`, ending when the session starts at `sessionStartMs`. */
function reservationSpan(reservationStart: string, sessionStartMs: number): ReservationSpan {
  const startMs = instantOf(reservationStart);
  if (startMs === null) throw new ValidationError('invalid session: reservation.start_date_time: not an RFC 3339 date-time', 'reservation.start_date_time');
  if (startMs > sessionStartMs) {
    throw new ValidationError('invalid session: reservation.start_date_time: after the session start (a reservation ends when charging starts)', 'reservation.start_date_time');
  }
  return { startMs, durationMs: sessionStartMs - startMs, expired: false };
}

interface Assembly {
  plan: PricingPlan;
  choice: Pick<PricingChoice, 'kind' | 'basis' | 'notes'>;
  profile: BillingProfile | null;
  timeZone: string;
  startMs: number;
  endMs: number;
  periods: readonly PricingPeriod[];
  result: EngineResult | null;
  explanation: PeriodExplanation[];
  warnings: PricingWarning[];
}

function assemble(a: Assembly): PricedSession {
  const digits = a.plan.minorDigits;
  const totalEnergy = a.periods.reduce((sum, p) => sum + p.energyMilliWh, 0);
  const totalParking = a.periods.reduce((sum, p) => sum + p.parkingMs, 0);
  const notes = [...a.choice.notes];
  if (a.plan.timeBased) notes.push(`time-based pricing (voltledger.pricing_mode TIME_BASED): ${kwhText(totalEnergy)} kWh measured, energy not billed`);
  const { lines, totals } = a.result ?? settle([freeLine(a.choice.basis)], digits);
  return {
    tariffId: a.plan.tariff.id,
    tariffLastUpdated: a.plan.tariff.last_updated,
    currency: a.plan.currency,
    minorUnitDigits: digits,
    timeZone: a.timeZone,
    billing: { profile: a.profile, basis: a.choice.basis, notes },
    start_date_time: isoText(a.startMs),
    end_date_time: isoText(a.endMs),
    total_cost: formatMinor(totals.total, digits),
    total_fixed_cost: formatMinor(totals.fixed, digits),
    total_energy_cost: formatMinor(totals.energy, digits),
    total_time_cost: formatMinor(totals.time, digits),
    total_parking_cost: formatMinor(totals.parking, digits),
    total_reservation_cost: formatMinor(totals.reservation, digits),
    total_energy: kwhText(totalEnergy),
    total_time: hoursText(a.endMs - a.startMs),
    total_parking_time: hoursText(totalParking),
    totalMinor: Number(totals.total.incl),
    lines,
    periods: a.explanation,
    warnings: [...a.warnings, ...(a.result?.warnings ?? [])],
  };
}

/**
 * Prices one OCPP session: derives its charging periods ({@link sessionToChargingPeriods}),
 * picks prices from the billing profile, and applies the tariff with OCPI 2.2.1 semantics and
 * VoltLedger's extensions. Pure: the same input always gives the same output.
 *
 * @throws ValidationError for unreadable input (bad timestamps, unknown time zone, stop before start).
 * @example
 * const priced = priceSession({ tariff, timeZone: 'Europe/Berlin', billingProfile: { kind: 'retail' },
 *   startTransaction, meterValues, statusNotifications, stopTransaction });
 * capture(priced.totalMinor);
 */
export function priceSession(input: SessionPricingInput): PricedSession {
  const choice = choosePricing(input.tariff, input.billingProfile);
  const derived = sessionToChargingPeriods(input, choice.plan);
  // OCPI start_date_time / end_date_time: a tariff that does not cover the session's start never prices it.
  assertTariffActive(input.tariff, derived.startMs);
  const reservation = input.reservation ? reservationSpan(input.reservation.start_date_time, derived.startMs) : undefined;
  const result =
    choice.kind === 'free' ? null : priceWithPlan(choice.plan, derived.periods, { startMs: derived.startMs, timeZone: input.timeZone }, reservation);
  const warnings = [...derived.warnings];
  const profile = input.billingProfile ?? null;
  if (profile?.kind === 'no-payer') {
    warnings.push({ code: 'NO_PAYER', message: `nobody can be billed for this session (${profile.reason}): priced for review, not charged` });
  }
  if (profile?.kind === 'member' && choice.plan.elementsSource === 'tariff') {
    warnings.push({ code: 'MEMBER_TIER_NOT_IN_TARIFF', message: `member tier ${profile.tier} has no pricing in tariff ${input.tariff.id}: charged the tariff's own prices` });
  }
  return assemble({
    plan: choice.plan,
    choice,
    profile,
    timeZone: input.timeZone,
    startMs: derived.startMs,
    endMs: derived.endMs,
    periods: derived.periods,
    result,
    explanation: mergedExplanation(derived.periods, result?.choices ?? []),
    warnings,
  });
}

/**
 * Prices an OCPI 2.2.1 CDR's charging periods as given (the CDR is validated here, so raw JSON is fine) (each evaluated at its start) under
 * `tariff`, with its VoltLedger extensions (pass `exportTariffToOcpi(tariff).tariff` to price
 * with exactly what a roaming partner sees).
 *
 * @throws ValidationError naming the CDR field at fault, or for an unknown time zone.
 */
export function priceCdr(tariff: Tariff, cdr: OcpiCdr | unknown, timeZone: string): PricedSession {
  assertTimeZone(timeZone);
  const plan = retailPlan(tariff);
  const read = readCdr(cdr, tariff.currency);
  const frame = { startMs: read.startMs, timeZone };
  const result = priceWithPlan(plan, read.periods, frame, read.reservation ?? undefined);
  const warnings = validityWarnings(tariff, read.startMs);
  // A boundary inside a period matters only if the elements chosen at it differ from those at the start.
  const spanning = read.periods.filter((period, index) =>
    timeBoundaries(plan, timeZone, read.startMs, period.startMs, period.endMs).some((at) => {
      const probe = priceWithPlan(plan, [{ ...period, startMs: at }], frame).choices[0]!;
      return !sameChoice(probe, result.choices[index] ?? NO_CHOICE);
    }),
  ).length;
  if (spanning > 0) {
    warnings.push({
      code: 'PERIOD_SPANS_PRICE_BOUNDARY',
      message: `${spanning} charging period${spanning === 1 ? '' : 's'} of the CDR cross${spanning === 1 ? 'es' : ''} an instant where the tariff's restrictions change; priced as given, at ${spanning === 1 ? 'its' : 'their'} start`,
    });
  }
  return assemble({
    plan,
    choice: { kind: 'priced', basis: `OCPI CDR priced as given under tariff ${tariff.id}`, notes: [] },
    profile: null,
    timeZone,
    startMs: read.startMs,
    endMs: read.endMs,
    periods: read.periods,
    result,
    explanation: read.periods.map((period, index) => explain(period, result.choices[index] ?? NO_CHOICE)),
    warnings,
  });
}

/**
 * Prices a reservation that expired without a charging session (OCPI 2.2.1 RESERVATION_EXPIRES):
 * the reserved time from `start_date_time` (reservation made) to `end_date_time` (expiry), under
 * the tariff's RESERVATION_EXPIRES elements first, then its RESERVATION elements; charging
 * elements do not apply. min_price / max_price apply as to any session.
 *
 * @throws ValidationError for unreadable times, an end before the start, or a tariff not active at the start.
 */
export function priceExpiredReservation(input: {
  tariff: Tariff;
  timeZone: string;
  billingProfile?: BillingProfile;
  reservation: { start_date_time: string; end_date_time: string };
}): PricedSession {
  assertTimeZone(input.timeZone);
  const startMs = instantOf(input.reservation.start_date_time);
  const endMs = instantOf(input.reservation.end_date_time);
  if (startMs === null) throw new ValidationError('invalid reservation: start_date_time: not an RFC 3339 date-time', 'reservation.start_date_time');
  if (endMs === null || endMs < startMs) throw new ValidationError('invalid reservation: end_date_time: not a date-time at or after start_date_time', 'reservation.end_date_time');
  assertTariffActive(input.tariff, startMs);
  const choice = choosePricing(input.tariff, input.billingProfile);
  const result =
    choice.kind === 'free'
      ? null
      : priceWithPlan(choice.plan, [], { startMs, timeZone: input.timeZone }, { startMs, durationMs: endMs - startMs, expired: true });
  return assemble({
    plan: choice.plan,
    choice,
    profile: input.billingProfile ?? null,
    timeZone: input.timeZone,
    startMs,
    endMs,
    periods: [],
    result,
    explanation: [],
    warnings: [],
  });
}
