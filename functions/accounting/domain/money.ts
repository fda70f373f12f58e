/** ISO 4217 minor-unit exponents that are not 2. */
const EXPONENTS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
};

/** Digits after the decimal point of a currency's minor unit (2 unless ISO 4217 says otherwise). */
export function minorExponent(currency: string): number {
  return EXPONENTS[currency.toUpperCase()] ?? 2;
}

/**
 * A decimal string (`"12.3450"`, as pricing writes amounts) in integer minor units of the currency.
 * Pricing already rounded every figure to the currency; a value with more digits is rounded half up
 * here, once, and that is the only rounding the ledger does.
 */
export function decimalToMinor(value: string, currency: string): number {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw new RangeError(`not a decimal amount: "${value}"`);
  const [, sign, whole, fraction = ''] = match;
  const exponent = minorExponent(currency);
  const kept = (fraction + '0'.repeat(exponent)).slice(0, exponent);
  const rest = fraction.slice(exponent);
  let minor = BigInt(whole!) * 10n ** BigInt(exponent) + BigInt(kept || '0');
  if (rest !== '' && rest[0]! >= '5') minor += 1n;
  const result = Number(sign === '-' ? -minor : minor);
  if (!Number.isSafeInteger(result)) throw new RangeError(`amount ${value} is out of range`);
  return result;
}

/** Integer minor units as a decimal string of the currency (`1234` EUR -> `"12.34"`). */
export function minorToDecimal(minor: number, currency: string): string {
  const exponent = minorExponent(currency);
  const negative = minor < 0;
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  const text = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return negative ? `-${text}` : text;
}
