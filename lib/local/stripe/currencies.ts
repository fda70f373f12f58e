/**
 * How Stripe's API treats currencies, as https://docs.stripe.com/currencies documents it: amounts
 * are integers in Stripe's own minor unit of the currency, with a minimum per currency and a few
 * special cases. Written from Stripe's documentation on purpose, not from the product's
 * functions/shared/money.ts: the emulator stands in for Stripe, so the product's conversions at its
 * Stripe adapters are tested against an independent statement of Stripe's rules.
 */
import { StripeApiError } from './errors.ts';

/** "Zero-decimal currencies": the amount is the charge (500 JPY is `500`). UGX is listed too, but its special case governs. */
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);

/** "Three-decimal currencies": thousandths, and "the least-significant (last) digit to be 0". */
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** "Special cases": ISK and UGX are represented as two-decimal values "where the decimal amount is always 00". */
const WHOLE_UNITS_IN_TWO_DECIMALS = new Set(['isk', 'ugx']);

/**
 * "Minimum charge amount by currency", in Stripe's integer (0.50 USD is `50`, 50 JPY is `50`,
 * 175.00 HUF is `17500`). BGN (1.00) is from the table's earlier editions. Others: 50.
 */
export const MINIMUM_AMOUNTS: Readonly<Record<string, number>> = {
  usd: 50, aed: 200, ars: 50, aud: 50, bgn: 100, brl: 50, cad: 50, chf: 50, cop: 50, czk: 1500, dkk: 250, eur: 50, gbp: 30, hkd: 400,
  huf: 17500, idr: 50, ils: 50, inr: 50, jpy: 50, krw: 50, mxn: 1000, myr: 200, nok: 300, nzd: 50, php: 50, pln: 200, ron: 200,
  rub: 50, sek: 300, sgd: 50, thb: 1000, zar: 50,
};

/** Decimal digits of Stripe's integer for the currency: 0, 3, or 2 ("two-decimal currencies unless otherwise specified"). */
export function stripeDigits(currency: string): number {
  const code = currency.toLowerCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  if (THREE_DECIMAL.has(code)) return 3;
  return 2;
}

/** What every amount in the currency must be a multiple of: 100 for ISK/UGX, 10 for three-decimal currencies, else 1. */
export function amountMultiple(currency: string): number {
  const code = currency.toLowerCase();
  if (WHOLE_UNITS_IN_TWO_DECIMALS.has(code)) return 100;
  if (THREE_DECIMAL.has(code)) return 10;
  return 1;
}

/** The smallest charge in the currency (Stripe's integer). */
export function minimumAmount(currency: string): number {
  return MINIMUM_AMOUNTS[currency.toLowerCase()] ?? 50;
}

/** Stripe's integer shown as its messages do (`€0.50`, `¥50`, `1.000 kwd`), by digits, never through a float. */
export function formatAmount(amount: number, currency: string): string {
  const code = currency.toLowerCase();
  const symbol = code === 'eur' ? '€' : code === 'usd' ? '$' : code === 'gbp' ? '£' : code === 'jpy' ? '¥' : '';
  const digits = stripeDigits(code);
  const text = String(Math.abs(amount)).padStart(digits + 1, '0');
  const decimal = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return `${amount < 0 ? '-' : ''}${symbol}${decimal}${symbol ? '' : ` ${code}`}`;
}

/**
 * Refuses an amount Stripe would: not a multiple of {@link amountMultiple} (ISK/UGX fractions,
 * a three-decimal amount whose last digit is not 0). The ISK/UGX message and code are Stripe's
 * own (support.stripe.com, "Deprecation of fractional ISK charges"); Stripe documents the
 * three-decimal rule without an error code, so `invalid_charge_amount` is the emulator's.
 */
export function checkAmountFormat(amount: number, currency: string, param: string): void {
  const code = currency.toLowerCase();
  const multiple = amountMultiple(code);
  if (amount % multiple === 0) return;
  if (WHOLE_UNITS_IN_TWO_DECIMALS.has(code)) {
    throw new StripeApiError(
      400,
      'invalid_request_error',
      `Invalid amount. Currency ${code.toUpperCase()} has become effectively zero-decimal and charged amounts must be evenly divisible by 100. See https://stripe.com/docs/currencies#special-cases for more information.`,
      { code: 'invalid_charge_amount_no_decimal_compatible', param, replayable: false },
    );
  }
  throw new StripeApiError(
    400,
    'invalid_request_error',
    `Invalid amount ${amount} for ${code}: amounts in three-decimal currencies must end in 0 (round to the nearest ten). See https://stripe.com/docs/currencies#three-decimal.`,
    { code: 'invalid_charge_amount', param, replayable: false },
  );
}

/** `amount` rounded half up to a multiple of the currency's {@link amountMultiple} (fees stay representable: whole krónur, tens of fils). */
export function roundToMultiple(amount: number, currency: string): number {
  const multiple = amountMultiple(currency);
  return multiple === 1 ? amount : Math.floor((amount + multiple / 2) / multiple) * multiple;
}
