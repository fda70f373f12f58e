import { isoMinorDigits, minimumChargeMinor, toStripeStep } from '../../shared/money.ts';
import { scaleNumber } from '../../shared/decimal.ts';
import type { HoldAmountPolicy, PaymentPolicy } from './policy.ts';

/**
 * A tariff as the hold estimate reads it: its currency and the prices it takes the highest of
 * (OCPI price components: `price` excl. VAT per unit, `vat` in percent; the idle fee's cap).
 * Pricing's parsed tariff has these fields and more (domain/ports.ts TariffParser).
 */
export interface PaymentTariff {
  currency: string;
  elements: ReadonlyArray<{ price_components: ReadonlyArray<{ type: string; price: number; vat?: number }> }>;
  voltledger?: { idle_fee?: { max_price?: number; vat?: number } };
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
 * unit — then capped at `capMinor`, at least `floorMinor` and the currency's minimum charge,
 * and rounded up to an amount Stripe accepts in the currency (functions/shared/money.ts
 * stripeStepMinor: every minor unit for most currencies; 10 fils for BHD, 1 ariary for MGA).
 * Exact: prices are scaled BigInts, never binary floats.
 */
export function holdAmount(input: { policy: Pick<PaymentPolicy, 'hold'>; tariff: PaymentTariff | undefined; currency: string; chargerMaxPowerKw?: number }): HoldEstimate {
  const minimum = minimumChargeMinor(input.currency);
  const chargeable = (minor: number) => toStripeStep(minor, input.currency, 'up');
  const hold: HoldAmountPolicy = input.policy.hold;
  if (hold.mode === 'fixed') {
    return hold.amountMinor < minimum ? { amountMinor: minimum, basis: 'minimum' } : { amountMinor: chargeable(hold.amountMinor), basis: 'fixed' };
  }
  if (!input.tariff) return { amountMinor: chargeable(Math.max(hold.capMinor, minimum)), basis: 'cap' };
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
  // Prices are scaled 1e16 (price 1e10 x VAT 1e6); kW is scaled 1e4. One fraction over one common
  // denominator (60 min x 1e4), so the rounding up happens once, on the exact total.
  const kw4 = scaleNumber(kw, 4);
  const denominator = 60n * 10_000n;
  const numerator = energy * kw4 * BigInt(minutes) + time * BigInt(minutes) * 10_000n + (flat + idleCap) * denominator;
  const digits = isoMinorDigits(input.currency);
  const unit = (E10 * 1_000_000n) / 10n ** BigInt(digits);
  let amount = (numerator + denominator * unit - 1n) / (denominator * unit);
  const estimate = formatMajor(numerator / denominator, digits);
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
  return { amountMinor: chargeable(Number(amount)), basis, estimate, powerKw: kw, durationMinutes: minutes };
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
 * With `currency`, the new hold is an amount Stripe accepts in it (rounded up, but never above
 * `maxHoldMinor` rounded down); without, any minor unit.
 */
export function incrementDecision(input: {
  policy: Pick<PaymentPolicy, 'incrementAtPercent' | 'incrementHeadroomPercent' | 'incrementMinStepMinor' | 'maxHoldMinor'>;
  holdMinor: number;
  runningCostMinor: number;
  currency?: string;
}): { action: 'none' } | { action: 'increment'; toMinor: number } | { action: 'at-maximum' } {
  const { policy, holdMinor, runningCostMinor, currency } = input;
  const step = (minor: number, direction: 'up' | 'down') => (currency === undefined ? minor : toStripeStep(minor, currency, direction));
  // running >= hold x at%: integer comparison, no float.
  if (BigInt(runningCostMinor) * 100n < BigInt(holdMinor) * BigInt(policy.incrementAtPercent)) return { action: 'none' };
  const withHeadroom = Number((BigInt(runningCostMinor) * BigInt(100 + policy.incrementHeadroomPercent) + 99n) / 100n);
  const maxHold = step(policy.maxHoldMinor, 'down');
  const target = Math.min(step(Math.max(withHeadroom, holdMinor + policy.incrementMinStepMinor), 'up'), maxHold);
  if (target <= holdMinor) return holdMinor >= maxHold ? { action: 'at-maximum' } : { action: 'none' };
  return { action: 'increment', toMinor: target };
}
