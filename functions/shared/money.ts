/**
 * Money: the one place that knows how many minor units a currency has, how a decimal amount
 * becomes integer minor units and back, and how Stripe's API integers differ. Pure (no I/O, no
 * environment): any domain/ may import it.
 *
 * ## The product's integer minor units
 *
 * Every `*Minor` amount in VoltLedger (prices, events, payments, the ledger, fleet statements,
 * roaming CDRs) is an integer count of the currency's ISO 4217 minor unit: 10^-e of the major unit,
 * e being the "minor unit" ISO 4217 List One gives the currency. EUR 1234 is 12.34 EUR, HUF 190500
 * is 1,905.00 Ft, JPY 1905 is 1,905 yen, ISK 1905 is 1,905 kr, BHD 1905 is 1.905 dinars.
 *
 * Why ISO 4217 and not the platform's CLDR data (`Intl.NumberFormat(..., { style: 'currency' })`):
 * CLDR's `digits` is how many decimals people in a locale expect to *see*, and it deviates from ISO
 * on purpose (HUF, IDR, COP, PKR, IRR, ... 0 instead of 2; IQD 0 instead of 3). Pricing used CLDR
 * while the ledger used ISO, so a 1,905 Ft session became 1905 minor units in one and 150000 for
 * its revenue in the other. ISO is the standard banks, card schemes and accounting systems exchange
 * amounts in; it wins. Intl stays fine for display, fed with these digits.
 *
 * Why not Stripe's integers: Stripe is one provider and its API integer differs from ISO for some
 * currencies (ISK and UGX are two-decimal there, MGA zero-decimal, IQD/LYD two-decimal, ...). The
 * Stripe adapters convert with {@link stripeAmount} and {@link fromStripeAmount}; nothing else
 * sees Stripe's integers.
 *
 * ## Rounding
 *
 * {@link parseMinor} and {@link decimalToMinor} round half up (half away from zero for negative
 * amounts: `0.005` EUR -> 1, `-0.005` EUR -> -1) when the text has more decimals than the currency;
 * everything else is exact. Nothing here goes through a binary float.
 */
import { VoltLedgerError } from './errors.ts';

/** Thrown for a currency code this module knows no minor unit of (not in ISO 4217 List One, nor a recently withdrawn code). */
export class UnknownCurrencyError extends VoltLedgerError {}

// ---------------------------------------------------------------------------------------------
// ISO 4217
// ---------------------------------------------------------------------------------------------

/**
 * ISO 4217 List One ("current currency & funds code list"), the `CcyMnrUnts` of every code that has
 * a minor unit: 165 codes. Source: the maintenance agency's list-one.xml (SIX Group,
 * six-group.com/.../iso-currrency/lists/list-one.xml), `Pblshd="2026-01-01"` (amendment 180:
 * BGN withdrawn), as tabulated by github.com/datasets/currency-codes data/codes-all.csv on
 * 2026-02-01. When ISO amends the list, update this table and {@link ISO_4217_PUBLISHED}.
 */
const ISO_4217_MINOR_UNITS: Readonly<Record<string, number>> = {
  AED: 2, AFN: 2, ALL: 2, AMD: 2, AOA: 2, ARS: 2, AUD: 2, AWG: 2, AZN: 2,
  BAM: 2, BBD: 2, BDT: 2, BHD: 3, BIF: 0, BMD: 2, BND: 2, BOB: 2, BOV: 2, BRL: 2, BSD: 2, BTN: 2, BWP: 2, BYN: 2, BZD: 2,
  CAD: 2, CDF: 2, CHE: 2, CHF: 2, CHW: 2, CLF: 4, CLP: 0, CNY: 2, COP: 2, COU: 2, CRC: 2, CUP: 2, CVE: 2, CZK: 2,
  DJF: 0, DKK: 2, DOP: 2, DZD: 2,
  EGP: 2, ERN: 2, ETB: 2, EUR: 2,
  FJD: 2, FKP: 2,
  GBP: 2, GEL: 2, GHS: 2, GIP: 2, GMD: 2, GNF: 0, GTQ: 2, GYD: 2,
  HKD: 2, HNL: 2, HTG: 2, HUF: 2,
  IDR: 2, ILS: 2, INR: 2, IQD: 3, IRR: 2, ISK: 0,
  JMD: 2, JOD: 3, JPY: 0,
  KES: 2, KGS: 2, KHR: 2, KMF: 0, KPW: 2, KRW: 0, KWD: 3, KYD: 2, KZT: 2,
  LAK: 2, LBP: 2, LKR: 2, LRD: 2, LSL: 2, LYD: 3,
  MAD: 2, MDL: 2, MGA: 2, MKD: 2, MMK: 2, MNT: 2, MOP: 2, MRU: 2, MUR: 2, MVR: 2, MWK: 2, MXN: 2, MXV: 2, MYR: 2, MZN: 2,
  NAD: 2, NGN: 2, NIO: 2, NOK: 2, NPR: 2, NZD: 2,
  OMR: 3,
  PAB: 2, PEN: 2, PGK: 2, PHP: 2, PKR: 2, PLN: 2, PYG: 0,
  QAR: 2,
  RON: 2, RSD: 2, RUB: 2, RWF: 0,
  SAR: 2, SBD: 2, SCR: 2, SDG: 2, SEK: 2, SGD: 2, SHP: 2, SLE: 2, SOS: 2, SRD: 2, SSP: 2, STN: 2, SVC: 2, SYP: 2, SZL: 2,
  THB: 2, TJS: 2, TMT: 2, TND: 3, TOP: 2, TRY: 2, TTD: 2, TWD: 2, TZS: 2,
  UAH: 2, UGX: 0, USD: 2, USN: 2, UYI: 0, UYU: 2, UYW: 4, UZS: 2,
  VED: 2, VES: 2, VND: 0, VUV: 0,
  WST: 2,
  XAD: 2, XAF: 0, XCD: 2, XCG: 2, XOF: 0, XPF: 0,
  YER: 2,
  ZAR: 2, ZMW: 2, ZWG: 2,
};

/** Publication date of the List One edition {@link ISO_4217_MINOR_UNITS} is taken from. */
export const ISO_4217_PUBLISHED = '2026-01-01';

/**
 * The other 13 List One codes: their minor unit is "N.A." (precious metals, bond-market units, the
 * SDR, the Sucre, the ADB unit, the testing and no-currency codes). Nothing can be priced or paid
 * in them, so they are no currency here ({@link isoMinorDigits} throws).
 */
export const ISO_4217_WITHOUT_MINOR_UNIT: readonly string[] = ['XAG', 'XAU', 'XBA', 'XBB', 'XBC', 'XBD', 'XDR', 'XPD', 'XPT', 'XSU', 'XTS', 'XUA', 'XXX'];

/**
 * Codes ISO withdrew (List Three) that stored data, or a platform's currency list, may still carry,
 * with the minor unit List One gave them until withdrawal (all 2; withdrawal month after each).
 * Known, so old amounts still convert; not active ({@link isIsoCurrency} is false for them).
 */
const WITHDRAWN_MINOR_UNITS: Readonly<Record<string, number>> = {
  ANG: 2, // 2025-03, replaced by XCG
  BGN: 2, // 2026-01, Bulgaria adopted the euro
  CUC: 2, // 2021-06
  HRK: 2, // 2023-01, Croatia adopted the euro
  MRO: 2, // 2017-12, replaced by MRU
  SLL: 2, // 2023-12, replaced by SLE
  STD: 2, // 2017-12, replaced by STN
  VEF: 2, // 2018, replaced by VES
  ZWL: 2, // 2024-09, replaced by ZWG
};

/** Every active ISO 4217 code with a minor unit, alphabetically. */
export const ISO_4217_CURRENCIES: readonly string[] = Object.keys(ISO_4217_MINOR_UNITS).sort();

const codeOf = (currency: string): string => currency.trim().toUpperCase();

/** True for an active ISO 4217 currency (List One, with a minor unit); case-insensitive. */
export function isIsoCurrency(code: string): boolean {
  return Object.hasOwn(ISO_4217_MINOR_UNITS, codeOf(code));
}

/** True when {@link isoMinorDigits} knows the code: active, or withdrawn with a known minor unit. */
export function isKnownCurrency(code: string): boolean {
  const upper = codeOf(code);
  return Object.hasOwn(ISO_4217_MINOR_UNITS, upper) || Object.hasOwn(WITHDRAWN_MINOR_UNITS, upper);
}

/**
 * Decimal digits of the currency's ISO 4217 minor unit: EUR 2, JPY 0, HUF 2, ISK 0, BHD 3, CLF 4.
 * Case-insensitive (`eur` as Stripe writes it works).
 *
 * @throws UnknownCurrencyError for a code with no known minor unit (`XYZ`, `XAU`, `XDR`).
 */
export function isoMinorDigits(currency: string): number {
  const upper = codeOf(currency);
  const digits = ISO_4217_MINOR_UNITS[upper] ?? WITHDRAWN_MINOR_UNITS[upper];
  if (digits === undefined) throw new UnknownCurrencyError(`${JSON.stringify(currency)} is not an ISO 4217 currency with a minor unit`);
  return digits;
}

/** Minor units in one major unit: 10^{@link isoMinorDigits} (EUR 100n, JPY 1n, BHD 1000n). */
export function minorPerMajor(currency: string): bigint {
  return 10n ** BigInt(isoMinorDigits(currency));
}

// ---------------------------------------------------------------------------------------------
// Decimal <-> minor units
// ---------------------------------------------------------------------------------------------

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/**
 * A decimal string (`"12.3450"`, `"-0.5"`, `"1905"`) in integer minor units of the currency, as a
 * BigInt. More decimals than the currency has are rounded half up (away from zero), once.
 *
 * @throws RangeError for text that is not a plain decimal (`-?digits[.digits]`: no exponent, no grouping, no `+`).
 * @throws UnknownCurrencyError for an unknown currency.
 * @example parseMinor('1905', 'HUF') === 190500n; parseMinor('0.125', 'EUR') === 13n
 */
export function parseMinor(text: string, currency: string): bigint {
  const match = DECIMAL.exec(text.trim());
  if (!match) throw new RangeError(`not a decimal amount: ${JSON.stringify(text)}`);
  const [, sign, whole = '0', fraction = ''] = match;
  const digits = isoMinorDigits(currency);
  const kept = fraction.slice(0, digits).padEnd(digits, '0');
  let minor = BigInt(whole + kept);
  if (fraction.length > digits && fraction.charCodeAt(digits) >= 53 /* '5' */) minor += 1n;
  return sign === '-' ? -minor : minor;
}

/**
 * Like {@link parseMinor}, as a number (the product's minor-unit fields are safe integers).
 *
 * @throws RangeError when the amount is not a decimal or exceeds Number.MAX_SAFE_INTEGER minor units.
 */
export function decimalToMinor(text: string, currency: string): number {
  return toSafeInteger(parseMinor(text, currency), `amount ${text} ${currency}`);
}

/**
 * Integer minor units as a decimal string with exactly the currency's digits: `1234` EUR ->
 * `"12.34"`, `190500` HUF -> `"1905.00"`, `1905` ISK -> `"1905"`, `-5` BHD -> `"-0.005"`.
 */
export function minorToDecimal(minor: number | bigint, currency: string): string {
  const value = typeof minor === 'bigint' ? minor : toBigInt(minor);
  const digits = isoMinorDigits(currency);
  const negative = value < 0n;
  const text = (negative ? -value : value).toString().padStart(digits + 1, '0');
  const decimal = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return negative ? `-${decimal}` : decimal;
}

function toBigInt(minor: number): bigint {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`minor units must be a safe integer, got ${minor}`);
  return BigInt(minor);
}

function toSafeInteger(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} is out of range`);
  return Number(value);
}

// ---------------------------------------------------------------------------------------------
// Stripe
// ---------------------------------------------------------------------------------------------
//
// From https://docs.stripe.com/currencies (read 2026: "Specify amounts in API requests",
// "Zero-decimal currencies", "Three-decimal currencies", "Special cases", "Minimum charge amount
// by currency"). Stripe: "Currencies are two-decimal currencies unless otherwise specified."

/** Stripe's zero-decimal currencies: the API integer is whole units. (Stripe's list also names UGX; its special case below governs.) */
const STRIPE_ZERO_DECIMAL: ReadonlySet<string> = new Set(['BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'VND', 'VUV', 'XAF', 'XOF', 'XPF']);

/** Stripe's three-decimal currencies: thousandths, "the least-significant (last) digit to be 0". */
const STRIPE_THREE_DECIMAL: ReadonlySet<string> = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

/**
 * Special cases: ISK and UGX "transitioned to a zero-decimal currency, but backward compatibility
 * requires you to represent it as a two-decimal value, where the decimal amount is always 00"
 * (5 ISK is `500`): two-decimal, in multiples of 100, for charges and payouts alike.
 */
const STRIPE_WHOLE_UNITS_IN_TWO_DECIMALS: ReadonlySet<string> = new Set(['ISK', 'UGX']);

/**
 * Special cases: HUF and TWD are two-decimal for charges, but "Stripe treats [them] as a
 * zero-decimal currency for payouts": a manual payout's amount must be divisible by 100.
 */
const STRIPE_WHOLE_UNIT_PAYOUTS: ReadonlySet<string> = new Set(['HUF', 'TWD']);

/**
 * Decimal digits of Stripe's API integer for a currency (`amount`, `amount_captured`, `fee`, ...):
 * 0 for Stripe's zero-decimal currencies, 3 for its three-decimal ones, 2 for everything else
 * (ISK and UGX included). Not the product's digits: see {@link isoMinorDigits}.
 */
export function stripeDigits(currency: string): number {
  const upper = codeOf(currency);
  if (STRIPE_ZERO_DECIMAL.has(upper)) return 0;
  if (STRIPE_THREE_DECIMAL.has(upper)) return 3;
  return 2;
}

/** What the Stripe API integer must be a multiple of (in Stripe's units): 100 for ISK/UGX (and HUF/TWD payouts), 10 for three-decimal currencies, else 1. */
function stripeMultiple(upper: string, purpose: StripeAmountPurpose): number {
  if (STRIPE_WHOLE_UNITS_IN_TWO_DECIMALS.has(upper)) return 100;
  if (purpose === 'payout' && STRIPE_WHOLE_UNIT_PAYOUTS.has(upper)) return 100;
  if (STRIPE_THREE_DECIMAL.has(upper)) return 10;
  return 1;
}

/** A charge (PaymentIntent, capture, increment, refund, invoice item) or a manual payout. */
export type StripeAmountPurpose = 'charge' | 'payout';

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The smallest step, in the product's minor units, of the amounts Stripe accepts in the currency:
 * 1 for most currencies; 10 for BHD/JOD/KWD/OMR/TND (last digit 0) and for IQD/LYD (ISO
 * thousandths, Stripe hundredths); 100 for MGA (ISO 2 digits, Stripe zero-decimal) and CLF/UYW;
 * 1 for ISK/UGX (whole units in both); 100 for HUF/TWD payouts. Every amount sent to Stripe must
 * be a multiple of it.
 */
export function stripeStepMinor(currency: string, purpose: StripeAmountPurpose = 'charge'): number {
  const upper = codeOf(currency);
  const iso = isoMinorDigits(upper);
  const stripe = stripeDigits(upper);
  const multiple = stripeMultiple(upper, purpose);
  // minor m is sent as m x 10^(stripe-iso), which must be an integer multiple of `multiple`.
  if (stripe >= iso) {
    const scale = 10 ** (stripe - iso);
    return multiple / gcd(multiple, scale);
  }
  return multiple * 10 ** (iso - stripe);
}

/** True when Stripe accepts `minor` as an amount in the currency (a multiple of {@link stripeStepMinor}). */
export function isStripeAmount(minor: number, currency: string, purpose: StripeAmountPurpose = 'charge'): boolean {
  return Number.isSafeInteger(minor) && minor % stripeStepMinor(currency, purpose) === 0;
}

/**
 * `minor` rounded to an amount Stripe accepts ({@link stripeStepMinor}): `up` for what is asked
 * (a hold covers at least the estimate), `down` for what is collected (never more than is due).
 */
export function toStripeStep(minor: number, currency: string, direction: 'up' | 'down', purpose: StripeAmountPurpose = 'charge'): number {
  const step = stripeStepMinor(currency, purpose);
  const remainder = ((minor % step) + step) % step;
  if (remainder === 0) return minor;
  return direction === 'down' ? minor - remainder : minor - remainder + step;
}

/**
 * The product's minor units as Stripe's API integer: ISK 1905 (kr) -> 190500, MGA 123400 (1,234.00
 * Ar) -> 1234, EUR/HUF/JPY/BHD unchanged. Exact or nothing.
 *
 * @throws RangeError when Stripe cannot take the amount (not a multiple of {@link stripeStepMinor}:
 * BHD 5124, MGA 123456); round first with {@link toStripeStep} where the business allows it.
 */
export function stripeAmount(minor: number, currency: string, purpose: StripeAmountPurpose = 'charge'): number {
  const upper = codeOf(currency);
  if (!Number.isSafeInteger(minor)) throw new RangeError(`minor units must be a safe integer, got ${minor}`);
  if (!isStripeAmount(minor, upper, purpose)) {
    throw new RangeError(`Stripe cannot take ${minorToDecimal(minor, upper)} ${upper}: ${purpose} amounts in ${upper} are multiples of ${minorToDecimal(stripeStepMinor(upper, purpose), upper)}`);
  }
  const iso = isoMinorDigits(upper);
  const stripe = stripeDigits(upper);
  const value = stripe >= iso ? BigInt(minor) * 10n ** BigInt(stripe - iso) : BigInt(minor) / 10n ** BigInt(iso - stripe);
  return toSafeInteger(value, `${minor} ${upper} as a Stripe amount`);
}

/**
 * Stripe's API integer (any `amount`, `fee`, `net` field, in the object's own `currency`) as the
 * product's minor units: ISK 190500 -> 1905, MGA 1234 -> 123400, EUR/HUF/JPY/BHD unchanged.
 * Exact or nothing.
 *
 * @throws RangeError when the integer has a fraction of the product's minor unit (ISK `190550`,
 * which Stripe no longer issues since 2023-04-14).
 */
export function fromStripeAmount(amount: number, currency: string): number {
  const upper = codeOf(currency);
  if (!Number.isSafeInteger(amount)) throw new RangeError(`a Stripe amount is an integer, got ${amount}`);
  const iso = isoMinorDigits(upper);
  const stripe = stripeDigits(upper);
  if (iso >= stripe) return toSafeInteger(BigInt(amount) * 10n ** BigInt(iso - stripe), `Stripe amount ${amount} ${upper}`);
  const divisor = 10n ** BigInt(stripe - iso);
  if (BigInt(amount) % divisor !== 0n) throw new RangeError(`Stripe amount ${amount} ${upper} is not a whole number of ${upper} minor units (multiples of ${divisor})`);
  return Number(BigInt(amount) / divisor);
}

/**
 * Stripe's minimum charge amounts, as the major-unit decimals its table states them ("Minimum charge
 * amount by currency"; the minimum applies in the settlement currency after any conversion). BGN
 * (1.00) is from the table's earlier editions: the lev was withdrawn on 2026-01-01 and the current
 * table no longer lists it.
 */
export const STRIPE_MINIMUM_CHARGE: Readonly<Record<string, string>> = {
  USD: '0.50', AED: '2.00', ARS: '0.50', AUD: '0.50', BGN: '1.00', BRL: '0.50', CAD: '0.50', CHF: '0.50', COP: '0.50', CZK: '15.00',
  DKK: '2.50', EUR: '0.50', GBP: '0.30', HKD: '4.00', HUF: '175.00', IDR: '0.50', ILS: '0.50', INR: '0.50', JPY: '50', KRW: '50',
  MXN: '10', MYR: '2.00', NOK: '3.00', NZD: '0.50', PHP: '0.50', PLN: '2.00', RON: '2.00', RUB: '0.50', SEK: '3.00', SGD: '0.50',
  THB: '10', ZAR: '0.50',
};

/** For a currency Stripe's table does not list: 50 minor units (VoltLedger's long-standing default), at least one chargeable step. */
const DEFAULT_MINIMUM_MINOR = 50;

/**
 * The smallest amount Stripe charges in the currency, in the product's minor units (EUR 50, GBP
 * 30, HUF 17500 = 175.00 Ft, JPY 50), rounded up to a chargeable step. Below it a PaymentIntent or
 * a capture is refused with `amount_too_small`. Unlisted currencies: 50 minor units.
 *
 * @throws UnknownCurrencyError for an unknown currency.
 */
export function minimumChargeMinor(currency: string): number {
  const upper = codeOf(currency);
  const listed = STRIPE_MINIMUM_CHARGE[upper];
  const minimum = listed === undefined ? DEFAULT_MINIMUM_MINOR : decimalToMinor(listed, upper);
  return toStripeStep(minimum, upper, 'up');
}
