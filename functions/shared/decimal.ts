/**
 * Exact decimal helpers on scaled integers. Money never touches a binary float: decimal strings
 * (or JSON numbers turned back into their shortest decimal form) become BigInts scaled by a power
 * of ten, and go back to strings only at the output.
 */

const DECIMAL = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * The decimal literal a JSON number was written as: `0.27` -> `"0.27"`, `1e-7` -> `"0.0000001"`.
 * JavaScript prints the shortest string that reads back as the same double, which for the
 * decimals found in tariffs (a few fractional digits) is the literal itself.
 */
export function numberToDecimalString(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
  const text = String(value);
  const exponentAt = text.search(/e/i);
  if (exponentAt < 0) return text;
  const mantissa = text.slice(0, exponentAt);
  const exponent = Number(text.slice(exponentAt + 1));
  const negative = mantissa.startsWith('-');
  const [whole = '', fraction = ''] = (negative ? mantissa.slice(1) : mantissa).split('.');
  const digits = whole + fraction;
  const point = whole.length + exponent;
  let result: string;
  if (point <= 0) result = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) result = digits + '0'.repeat(point - digits.length);
  else result = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + stripZeros(result);
}

function stripZeros(text: string): string {
  if (!text.includes('.')) return text.replace(/^0+(?=\d)/, '');
  return text.replace(/^0+(?=\d)/, '').replace(/\.?0+$/, '');
}

/** How many fractional digits a decimal string has (`"0.250"` -> 3). */
export function fractionDigits(text: string): number {
  const match = DECIMAL.exec(text);
  return match?.[3]?.length ?? 0;
}

/**
 * `text` times 10^scale as a BigInt, rounding half away from zero when `text` has more fractional
 * digits than `scale`. Returns null when `text` is not a plain decimal.
 */
export function parseScaled(text: string, scale: number): bigint | null {
  const match = DECIMAL.exec(text.trim());
  if (!match) return null;
  const negative = match[1] === '-';
  const whole = match[2] ?? '0';
  const fraction = match[3] ?? '';
  let digits: bigint;
  if (fraction.length <= scale) {
    digits = BigInt(whole + fraction.padEnd(scale, '0'));
  } else {
    const kept = BigInt(whole + fraction.slice(0, scale));
    const firstDropped = fraction.charCodeAt(scale) - 48;
    digits = firstDropped >= 5 ? kept + 1n : kept;
  }
  return negative ? -digits : digits;
}

/**
 * Like {@link parseScaled}, returning a plain number, for meter values: exact as long as the
 * scaled value stays below 2^53 (a register of 9 billion kWh in mWh); null when it does not.
 */
export function parseScaledToNumber(text: string, scale: number): number | null {
  let at = 0;
  const length = text.length;
  let whole = 0;
  let wholeDigits = 0;
  while (at < length) {
    const code = text.charCodeAt(at) - 48;
    if (code < 0 || code > 9) break;
    whole = whole * 10 + code;
    wholeDigits++;
    at++;
  }
  if (wholeDigits === 0) return null;
  let fraction = 0;
  let fractionDigits = 0;
  let roundUp = false;
  if (at < length && text.charCodeAt(at) === 46) {
    at++;
    const fractionStart = at;
    while (at < length) {
      const code = text.charCodeAt(at) - 48;
      if (code < 0 || code > 9) break;
      if (fractionDigits < scale) {
        fraction = fraction * 10 + code;
        fractionDigits++;
      } else if (at - fractionStart === scale) {
        roundUp = code >= 5;
      }
      at++;
    }
    if (at === fractionStart) return null;
  }
  if (at !== length) return parseScaledFallback(text, scale);
  for (let i = fractionDigits; i < scale; i++) fraction *= 10;
  const value = whole * 10 ** scale + fraction + (roundUp ? 1 : 0);
  return Number.isSafeInteger(value) ? value : null;
}

function parseScaledFallback(text: string, scale: number): number | null {
  const value = parseScaled(text, scale);
  return value === null || value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(value);
}

/** A JSON number scaled by 10^scale (see {@link parseScaled}). */
export function scaleNumber(value: number, scale: number): bigint {
  const scaled = parseScaled(numberToDecimalString(value), scale);
  if (scaled === null) throw new RangeError(`not a decimal: ${value}`);
  return scaled;
}

/** numerator / denominator rounded half away from zero to an integer. `denominator` > 0. */
export function divRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  const quotient = (magnitude * 2n + denominator) / (denominator * 2n);
  return negative ? -quotient : quotient;
}

/** An integer scaled by 10^scale as a decimal string with exactly `scale` fractional digits. */
export function formatScaled(value: bigint, scale: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Like {@link formatScaled} without trailing fractional zeros (`2.500000` -> `2.5`). */
export function formatScaledTrimmed(value: bigint, scale: number): string {
  const text = formatScaled(value, scale);
  return scale === 0 ? text : text.replace(/\.?0+$/, '');
}
