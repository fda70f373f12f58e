import { isoMinorDigits } from '../../shared/money.ts';
import type { BillingProfile } from './billing-profile.ts';
import { formatScaledTrimmed, scaleNumber } from '../../shared/decimal.ts';
import { exportTariffToOcpi } from './export-ocpi.ts';
import { DAYS_OF_WEEK, type Price, type Tariff, type TariffDimension, type TariffElement } from './tariff.ts';
import { dayOfDate } from '../../shared/time-zone.ts';

/**
 * A tariff compiled for one billing profile into the integer form the engine prices with:
 * prices as BigInt 1e-10 units, VAT in 1e-4 percent, quantities in mWh and ms, times of day in
 * minutes. Compiled once per tariff object and profile choice, then cached.
 */

/** Price scale: prices are held as integers of 1e-10 currency units (6 decimals + a 2-decimal percent discount). */
export const PRICE_SCALE = 10;
/** VAT scale: percent times 1e4 (100 % = 1_000_000). */
export const VAT_ONE = 1_000_000n;

export interface CompiledComponent {
  dimension: TariffDimension;
  /** Price per unit excl. VAT after any discount, in 1e-10 currency units. */
  priceE10: bigint;
  /** Price per unit as written in the tariff, before any discount. */
  listPrice: string;
  /** VAT percent times 1e4; 0 when the tariff omits it. */
  vatE4: bigint;
  vatPercent: string | null;
  /** In Wh (ENERGY) or seconds (TIME, PARKING_TIME); 0 means no step. */
  stepSize: number;
}

export interface CompiledRestrictions {
  usesWallTime: boolean;
  startMinute: number | null;
  endMinute: number | null;
  startDay: number | null;
  endDay: number | null;
  /** Bit i set for weekday i (0 = Monday); null when any day applies. */
  weekdays: number | null;
  minEnergyMilliWh: number | null;
  maxEnergyMilliWh: number | null;
  minCurrentE4: number | null;
  maxCurrentE4: number | null;
  minPowerE4: number | null;
  maxPowerE4: number | null;
  minDurationMs: number | null;
  maxDurationMs: number | null;
}

export interface CompiledElement {
  index: number;
  components: Partial<Record<TariffDimension, CompiledComponent>>;
  restrictions: CompiledRestrictions | null;
}

/**
 * A min_price / max_price. Without incl_vat, the limit bounds the excl. VAT total and VAT follows
 * the session's own VAT mix (engine.ts, applyLimit; docs/pricing.md "min_price / max_price").
 */
export interface CompiledPrice {
  exclE10: bigint;
  inclE10: bigint | null;
  /** VAT (percent x 1e4) for a session with nothing priced raised to a min_price without incl_vat: the plan's highest rate. */
  fallbackVatE4: bigint;
}

export interface CompiledIdleFee {
  priceE10: bigint;
  price: string;
  vatE4: bigint;
  vatPercent: string | null;
  graceMs: number;
  stepSize: number;
  maxExclE10: bigint | null;
}

/** Where the prices in a plan come from, shown on every line. */
export type ElementsSource = 'tariff' | `member tier ${string}` | `fleet account ${string}`;

export interface PricingPlan {
  tariff: Tariff;
  currency: string;
  minorDigits: number;
  elementsSource: ElementsSource;
  elements: CompiledElement[];
  /** Per dimension, the elements that price it, in tariff order (reservation elements excluded). */
  byDimension: Record<TariffDimension, CompiledElement[]>;
  /** Elements with `restrictions.reservation` RESERVATION / RESERVATION_EXPIRES, in tariff order: they price reservations only. */
  reservationElements: CompiledElement[];
  reservationExpiresElements: CompiledElement[];
  minPrice: CompiledPrice | null;
  maxPrice: CompiledPrice | null;
  idleFee: CompiledIdleFee | null;
  discountPercent: string | null;
  timeBased: boolean;
  /** Local times of day (minutes) at which some restriction can change. */
  boundaryMinutes: number[];
  durationThresholdsMs: number[];
  energyThresholdsMilliWh: number[];
  usesWallTime: boolean;
}

/** What the engine is to do for a billing profile: price with a plan, or not at all (free). */
export type PricingChoice =
  | { kind: 'priced'; plan: PricingPlan; basis: string; notes: string[] }
  | { kind: 'free'; plan: PricingPlan; basis: string; notes: string[] };

function minutesOf(time: string): number {
  return Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
}

const toE4 = (value: number | undefined) => (value === undefined ? null : Number(scaleNumber(value, 4)));

function compileElement(element: TariffElement, index: number, discountFactorE4: bigint): CompiledElement {
  const components: Partial<Record<TariffDimension, CompiledComponent>> = {};
  for (const component of element.price_components) {
    if (components[component.type]) continue; // validation rejects duplicates; keep the first as OCPI would
    components[component.type] = {
      dimension: component.type,
      priceE10: (scaleNumber(component.price, PRICE_SCALE) * discountFactorE4) / 10_000n,
      listPrice: formatScaledTrimmed(scaleNumber(component.price, PRICE_SCALE), PRICE_SCALE),
      vatE4: component.vat === undefined ? 0n : scaleNumber(component.vat, 4),
      vatPercent: component.vat === undefined ? null : formatScaledTrimmed(scaleNumber(component.vat, 4), 4),
      stepSize: component.step_size,
    };
  }
  const r = element.restrictions;
  let restrictions: CompiledRestrictions | null = null;
  if (r && Object.keys(r).some((key) => key !== 'reservation')) {
    const weekdays = r.day_of_week ? r.day_of_week.reduce((mask, day) => mask | (1 << DAYS_OF_WEEK.indexOf(day)), 0) : null;
    restrictions = {
      usesWallTime: r.start_time !== undefined || r.end_time !== undefined || r.start_date !== undefined || r.end_date !== undefined || weekdays !== null,
      startMinute: r.start_time === undefined ? null : minutesOf(r.start_time),
      endMinute: r.end_time === undefined ? null : minutesOf(r.end_time),
      startDay: r.start_date === undefined ? null : dayOfDate(r.start_date),
      endDay: r.end_date === undefined ? null : dayOfDate(r.end_date),
      weekdays,
      minEnergyMilliWh: r.min_kwh === undefined ? null : Number(scaleNumber(r.min_kwh, 6)),
      maxEnergyMilliWh: r.max_kwh === undefined ? null : Number(scaleNumber(r.max_kwh, 6)),
      minCurrentE4: toE4(r.min_current),
      maxCurrentE4: toE4(r.max_current),
      minPowerE4: toE4(r.min_power),
      maxPowerE4: toE4(r.max_power),
      minDurationMs: r.min_duration === undefined ? null : r.min_duration * 1000,
      maxDurationMs: r.max_duration === undefined ? null : r.max_duration * 1000,
    };
  }
  return { index, components, restrictions };
}

function compilePrice(price: Price | undefined, fallbackVatE4: bigint): CompiledPrice | null {
  if (!price) return null;
  return {
    exclE10: scaleNumber(price.excl_vat, PRICE_SCALE),
    inclE10: price.incl_vat === undefined ? null : scaleNumber(price.incl_vat, PRICE_SCALE),
    fallbackVatE4,
  };
}

function compilePlan(tariff: Tariff, elements: TariffElement[], elementsSource: ElementsSource, discountPercent: number | null, withExtensions: boolean): PricingPlan {
  const discountFactorE4 = discountPercent === null ? 10_000n : 10_000n - scaleNumber(discountPercent, 2);
  const compiled: CompiledElement[] = [];
  const byDimension: Record<TariffDimension, CompiledElement[]> = { ENERGY: [], FLAT: [], PARKING_TIME: [], TIME: [] };
  const reservationElements: CompiledElement[] = [];
  const reservationExpiresElements: CompiledElement[] = [];
  elements.forEach((element, index) => {
    const compiledElement = compileElement(element, index, discountFactorE4);
    compiled.push(compiledElement);
    // OCPI 2.2.1: reservation elements price reservations, never the charging session itself.
    const reservation = element.restrictions?.reservation;
    if (reservation !== undefined) {
      (reservation === 'RESERVATION' ? reservationElements : reservationExpiresElements).push(compiledElement);
      return;
    }
    for (const dimension of Object.keys(compiledElement.components) as TariffDimension[]) byDimension[dimension].push(compiledElement);
  });

  const boundaryMinutes = new Set<number>();
  const durations = new Set<number>();
  const energies = new Set<number>();
  let usesWallTime = false;
  for (const element of compiled) {
    const r = element.restrictions;
    if (!r) continue;
    if (r.usesWallTime) {
      usesWallTime = true;
      boundaryMinutes.add(0); // day and date changes
    }
    if (r.startMinute !== null) boundaryMinutes.add(r.startMinute);
    if (r.endMinute !== null) boundaryMinutes.add(r.endMinute);
    if (r.minDurationMs !== null) durations.add(r.minDurationMs);
    if (r.maxDurationMs !== null) durations.add(r.maxDurationMs);
    if (r.minEnergyMilliWh !== null) energies.add(r.minEnergyMilliWh);
    if (r.maxEnergyMilliWh !== null) energies.add(r.maxEnergyMilliWh);
  }

  const idle = withExtensions ? tariff.voltledger?.idle_fee : undefined;
  return {
    tariff,
    currency: tariff.currency,
    minorDigits: isoMinorDigits(tariff.currency),
    elementsSource,
    elements: compiled,
    byDimension,
    reservationElements,
    reservationExpiresElements,
    minPrice: compilePrice(tariff.min_price, highestVat(compiled, idle?.vat)),
    maxPrice: compilePrice(tariff.max_price, highestVat(compiled, idle?.vat)),
    idleFee: idle
      ? {
          priceE10: scaleNumber(idle.price, PRICE_SCALE),
          price: formatScaledTrimmed(scaleNumber(idle.price, PRICE_SCALE), PRICE_SCALE),
          vatE4: idle.vat === undefined ? 0n : scaleNumber(idle.vat, 4),
          vatPercent: idle.vat === undefined ? null : formatScaledTrimmed(scaleNumber(idle.vat, 4), 4),
          graceMs: idle.grace_period * 1000,
          stepSize: idle.step_size ?? 1,
          maxExclE10: idle.max_price === undefined ? null : scaleNumber(idle.max_price, PRICE_SCALE),
        }
      : null,
    discountPercent: discountPercent === null ? null : formatScaledTrimmed(scaleNumber(discountPercent, 2), 2),
    timeBased: withExtensions && tariff.voltledger?.pricing_mode === 'TIME_BASED',
    boundaryMinutes: [...boundaryMinutes].sort((a, b) => a - b),
    durationThresholdsMs: [...durations].sort((a, b) => a - b),
    energyThresholdsMilliWh: [...energies].sort((a, b) => a - b),
    usesWallTime,
  };
}

function highestVat(elements: CompiledElement[], idleVat: number | undefined): bigint {
  let highest = idleVat === undefined ? 0n : scaleNumber(idleVat, 4);
  for (const element of elements) for (const component of Object.values(element.components)) if (component.vatE4 > highest) highest = component.vatE4;
  return highest;
}

const plans = new WeakMap<Tariff, Map<string, PricingPlan>>();

function cachedPlan(tariff: Tariff, key: string, build: () => PricingPlan): PricingPlan {
  let byKey = plans.get(tariff);
  if (!byKey) {
    byKey = new Map();
    plans.set(tariff, byKey);
  }
  let plan = byKey.get(key);
  if (!plan) {
    plan = build();
    byKey.set(key, plan);
  }
  return plan;
}

/** The plan for the tariff as written (retail), extensions included. */
export function retailPlan(tariff: Tariff): PricingPlan {
  return cachedPlan(tariff, 'retail', () => compilePlan(tariff, tariff.elements, 'tariff', null, true));
}

/**
 * Picks the prices for a billing profile (see docs/pricing.md, "Billing models"):
 * retail -> the tariff; member / fleet -> the tier's or account's elements or discount, else the
 * tariff; roaming -> the tariff as exported to OCPI partners; free -> nothing to pay.
 */
export function choosePricing(tariff: Tariff, profile: BillingProfile | undefined): PricingChoice {
  // No profile is retail: the one rule every context follows (events/billing.ts).
  if (!profile || profile.kind === 'retail') {
    const channel = profile?.kind === 'retail' && profile.channel ? ` (${profile.channel})` : '';
    return { kind: 'priced', plan: retailPlan(tariff), basis: `retail${channel}: tariff ${tariff.id}`, notes: profile ? [] : ['no billing profile given: priced as retail'] };
  }
  switch (profile.kind) {
    case 'free':
      return { kind: 'free', plan: retailPlan(tariff), basis: `free: ${profile.reason ?? 'billing profile is free'}`, notes: [] };
    case 'no-payer':
      return { kind: 'priced', plan: retailPlan(tariff), basis: `no payer (${profile.reason}): tariff ${tariff.id}, charged to nobody, held for review`, notes: [] };
    case 'roaming': {
      const exported = exportTariffToOcpi(tariff);
      const plan = cachedPlan(tariff, 'roaming', () => compilePlan(exported.tariff, exported.tariff.elements, 'tariff', null, false));
      return {
        kind: 'priced',
        plan,
        basis: `roaming partner ${profile.partnerId}: tariff ${tariff.id} as exported to OCPI`,
        notes: exported.dropped.map((reason) => `not applied to roaming: ${reason}`),
      };
    }
    case 'member':
    case 'fleet': {
      const [field, key, label] =
        profile.kind === 'member'
          ? (['member_tiers', profile.tier, `member tier ${profile.tier}`] as const)
          : (['fleet_accounts', profile.accountId, `fleet account ${profile.accountId}`] as const);
      const overrides = tariff.voltledger?.[field];
      const override = overrides && Object.hasOwn(overrides, key) ? overrides[key] : undefined;
      if (!override) {
        const note =
          profile.kind === 'member'
            ? `tariff ${tariff.id} has no voltledger.member_tiers.${key}: priced at the tariff's own prices`
            : `fleet account ${key}: tariff ${tariff.id} prices it like retail`;
        return { kind: 'priced', plan: retailPlan(tariff), basis: `${label}: tariff ${tariff.id}`, notes: [note] };
      }
      const source: ElementsSource = label;
      const plan = cachedPlan(tariff, `${field}/${key}`, () =>
        override.elements
          ? compilePlan(tariff, override.elements, source, null, true)
          : compilePlan(tariff, tariff.elements, source, override.discount_percent ?? 0, true),
      );
      const how = override.elements ? `the ${label} elements` : `${plan.discountPercent}% off the tariff's prices`;
      return { kind: 'priced', plan, basis: `${label}: tariff ${tariff.id}, ${how}${override.description ? ` (${override.description})` : ''}`, notes: [] };
    }
  }
}
