import { minorDigitsOf } from '../../pricing/domain/pricing-plan.ts';
import { scaleNumber } from '../../pricing/domain/decimal.ts';
import type { Tariff } from '../../pricing/domain/tariff.ts';
import type { HoldAmountPolicy, PaymentPolicy } from './policy.ts';

/**
 * Stripe's minimum charge amounts in minor units (stripe.com/docs/currencies#minimum-and-maximum-charge-amounts).
 * Below these a PaymentIntent or a capture is refused with `amount_too_small`.
 */
const MINIMUM_CHARGE_MINOR: Readonly<Record<string, number>> = {
  USD: 50, EUR: 50, CHF: 50, CAD: 50, AUD: 50, NZD: 50, SGD: 50, BRL: 50, INR: 50,
  GBP: 30, DKK: 250, NOK: 300, SEK: 300, PLN: 200, CZK: 1500, HUF: 17500, RON: 200, BGN: 100,
  JPY: 50, MXN: 1000, HKD: 400, AED: 200, THB: 1000, MYR: 200,
};

/** The smallest amount Stripe charges in `currency` (upper-case ISO 4217); unknown currencies: 50. */
export function minimumChargeMinor(currency: string): number {
  return MINIMUM_CHARGE_MINOR[currency.toUpperCase()] ?? 50;
}

/** What the hold estimate was made of, shown in the admin view. */
export interface HoldEstimate {
  amountMinor: number;
  basis: 'fixed' | 'estimate' | 'cap' | 'floor' | 'minimum';
  /** For an estimate: the exact figure before capping, as a decimal string in major units. */
  estimate?: string;
  powerKw?: number;
  durationMinutes?: number;
}

const E10 = 10n ** 10n;

/** A tariff price (a JSON number with at most 10 decimals) incl. `vat` percent, scaled by 1e10 x 1e4 (VAT at 4 decimals). */
function inclVatScaled(price: number, vat: number | undefined): bigint {
  return scaleNumber(price, 10) * (1_000_000n + scaleNumber(vat ?? 0, 4));
}

/**
 * The hold for a session: the policy's fixed amount, or the most the session could cost at the
 * tariff's highest rates — `max power x max duration x highest energy price + max duration x
 * highest time price + highest flat fee + the idle fee's cap`, incl. VAT, rounded up to the minor
 * unit — then capped at `capMinor`, at least `floorMinor` and the currency's minimum charge.
 * Exact: prices are scaled BigInts, never binary floats.
 */
export function holdAmount(input: { policy: Pick<PaymentPolicy, 'hold'>; tariff: Tariff | undefined; currency: string; chargerMaxPowerKw?: number }): HoldEstimate {
  const minimum = minimumChargeMinor(input.currency);
  const hold: HoldAmountPolicy = input.policy.hold;
  if (hold.mode === 'fixed') {
    return hold.amountMinor < minimum ? { amountMinor: minimum, basis: 'minimum' } : { amountMinor: hold.amountMinor, basis: 'fixed' };
  }
  if (!input.tariff) return { amountMinor: Math.max(hold.capMinor, minimum), basis: 'cap' };
  const powerKw = [input.chargerMaxPowerKw, hold.maxPowerKw].filter((p): p is number => p !== undefined && p > 0);
  const kw = powerKw.length ? Math.min(...powerKw) : 22;
  const minutes = hold.maxDurationMinutes;
  let energy = 0n;
  let time = 0n;
  let flat = 0n;
  for (const element of input.tariff.elements) {
    for (const c of element.price_components) {
      const price = inclVatScaled(c.price, c.vat);
      if (c.type === 'ENERGY' && price > energy) energy = price;
      if ((c.type === 'TIME' || c.type === 'PARKING_TIME') && price > time) time = price;
      if (c.type === 'FLAT' && price > flat) flat = price;
    }
  }
  const idle = input.tariff.voltledger?.idle_fee;
  let idleCap = 0n;
  if (idle?.max_price !== undefined) idleCap = inclVatScaled(idle.max_price, idle.vat);
  // Scale 1e16 (price 1e10 x VAT 1e6); kW and minutes are exact decimals scaled by 1e4 and integers.
  const kw4 = scaleNumber(kw, 4);
  const exactScaled = (energy * kw4 * BigInt(minutes)) / (60n * 10_000n) + (time * BigInt(minutes)) / 60n + flat + idleCap;
  const remainderExists = (energy * kw4 * BigInt(minutes)) % (60n * 10_000n) !== 0n || (time * BigInt(minutes)) % 60n !== 0n;
  const digits = minorDigitsOf(input.currency);
  const unit = E10 * 1_000_000n / 10n ** BigInt(digits);
  let amount = exactScaled / unit + (exactScaled % unit !== 0n || remainderExists ? 1n : 0n);
  const estimate = formatMajor(exactScaled, digits);
  let basis: HoldEstimate['basis'] = 'estimate';
  if (amount > BigInt(hold.capMinor)) {
    amount = BigInt(hold.capMinor);
    basis = 'cap';
  }
  const floor = Math.max(hold.floorMinor ?? 0, minimum);
  if (amount < BigInt(floor)) {
    amount = BigInt(floor);
    basis = floor === minimum && (hold.floorMinor ?? 0) < minimum ? 'minimum' : 'floor';
  }
  return { amountMinor: Number(amount), basis, estimate, powerKw: kw, durationMinutes: minutes };
}

function formatMajor(scaled: bigint, digits: number): string {
  const unit = E10 * 1_000_000n;
  const whole = scaled / unit;
  const fraction = ((scaled % unit) * 10n ** BigInt(digits + 2)) / unit;
  return `${whole}.${fraction.toString().padStart(digits + 2, '0')}`;
}

/**
 * Whether the running cost has come near enough to the hold to raise it, and to what. Returns the
 * new hold, or `at-maximum` when the hold cannot grow under the policy (already at `maxHoldMinor`).
 */
export function incrementDecision(input: {
  policy: Pick<PaymentPolicy, 'incrementAtPercent' | 'incrementHeadroomPercent' | 'incrementMinStepMinor' | 'maxHoldMinor'>;
  holdMinor: number;
  runningCostMinor: number;
}): { action: 'none' } | { action: 'increment'; toMinor: number } | { action: 'at-maximum' } {
  const { policy, holdMinor, runningCostMinor } = input;
  // running >= hold x at%: integer comparison, no float.
  if (BigInt(runningCostMinor) * 100n < BigInt(holdMinor) * BigInt(policy.incrementAtPercent)) return { action: 'none' };
  const withHeadroom = Number((BigInt(runningCostMinor) * BigInt(100 + policy.incrementHeadroomPercent) + 99n) / 100n);
  const target = Math.min(Math.max(withHeadroom, holdMinor + policy.incrementMinStepMinor), policy.maxHoldMinor);
  if (target <= holdMinor) return { action: 'at-maximum' };
  return { action: 'increment', toMinor: target };
}
