import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decimalToMinor,
  fromStripeAmount,
  ISO_4217_CURRENCIES,
  ISO_4217_WITHOUT_MINOR_UNIT,
  isIsoCurrency,
  isKnownCurrency,
  isoMinorDigits,
  isStripeAmount,
  minimumChargeMinor,
  minorPerMajor,
  minorToDecimal,
  parseMinor,
  STRIPE_MINIMUM_CHARGE,
  stripeAmount,
  stripeDigits,
  stripeStepMinor,
  toStripeStep,
  UnknownCurrencyError,
} from '../../../functions/shared/money.ts';

// A second, independently written statement of ISO 4217 List One (2026-01-01): every code has a
// minor unit of 2 except these. Written from the standard's text ("17 codes with 0, 7 with 3, 2
// with 4"), not copied from the module's table.
const ISO_ZERO = 'BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'.split(' ');
const ISO_THREE = 'BHD IQD JOD KWD LYD OMR TND'.split(' ');
const ISO_FOUR = 'CLF UYW'.split(' ');

// The currencies on which the platform's CLDR data (what pricing used through Intl.NumberFormat)
// and ISO 4217 (what the ledger used) disagreed on Node 20, with ISO's exponent, which now holds
// everywhere. HUF is issue 14's reproduction: 1,905 Ft was 1905 minor units in pricing and 150000
// for its net revenue in the ledger.
const CLDR_DISAGREED: ReadonlyArray<[string, number]> = [
  ['AFN', 2], ['ALL', 2], ['COP', 2], ['HUF', 2], ['IDR', 2], ['IQD', 3], ['IRR', 2], ['KPW', 2], ['LAK', 2],
  ['LBP', 2], ['MGA', 2], ['MMK', 2], ['PKR', 2], ['SLL', 2], ['SOS', 2], ['SYP', 2], ['YER', 2],
];

describe('isoMinorDigits: every ISO 4217 currency', () => {
  it('knows the 165 active codes with a minor unit (178 in List One, 13 of them without)', () => {
    expect(ISO_4217_CURRENCIES).toHaveLength(165);
    expect(ISO_4217_WITHOUT_MINOR_UNIT).toHaveLength(13);
    expect(new Set(ISO_4217_CURRENCIES).size).toBe(165);
    for (const code of ISO_4217_CURRENCIES) expect(code).toMatch(/^[A-Z]{3}$/);
    for (const code of [...ISO_ZERO, ...ISO_THREE, ...ISO_FOUR]) expect(ISO_4217_CURRENCIES).toContain(code);
  });

  it.each(ISO_4217_CURRENCIES.map((code) => [code]))('%s', (code) => {
    const expected = ISO_ZERO.includes(code) ? 0 : ISO_THREE.includes(code) ? 3 : ISO_FOUR.includes(code) ? 4 : 2;
    expect(isoMinorDigits(code)).toBe(expected);
    expect(isoMinorDigits(code.toLowerCase())).toBe(expected);
    expect(minorPerMajor(code)).toBe(10n ** BigInt(expected));
    expect(isIsoCurrency(code)).toBe(true);
  });

  it.each(CLDR_DISAGREED)('%s has ISO 4217 exponent %i, whatever CLDR displays', (code, digits) => {
    expect(isoMinorDigits(code)).toBe(digits);
  });

  it('refuses codes without a minor unit and unknown codes', () => {
    for (const code of [...ISO_4217_WITHOUT_MINOR_UNIT, 'XYZ', 'EU', '', 'EURO']) {
      expect(() => isoMinorDigits(code)).toThrow(UnknownCurrencyError);
      expect(isKnownCurrency(code)).toBe(false);
    }
  });

  it('still knows withdrawn codes old amounts may carry, without calling them active', () => {
    for (const code of ['BGN', 'HRK', 'ANG', 'SLL', 'ZWL', 'CUC', 'STD', 'MRO', 'VEF']) {
      expect(isoMinorDigits(code)).toBe(2);
      expect(isKnownCurrency(code)).toBe(true);
      expect(isIsoCurrency(code)).toBe(false);
    }
  });

  it("covers every currency the platform's Intl knows, or says why not", () => {
    for (const code of Intl.supportedValuesOf('currency')) {
      expect(isKnownCurrency(code) || ISO_4217_WITHOUT_MINOR_UNIT.includes(code), code).toBe(true);
    }
  });
});

describe('decimal <-> minor units', () => {
  it.each([
    ['12.34', 'EUR', 1234n],
    ['1905', 'HUF', 190500n],
    ['1905.00', 'HUF', 190500n],
    ['1905', 'ISK', 1905n],
    ['1.905', 'BHD', 1905n],
    ['0.0001', 'CLF', 1n],
    ['0', 'JPY', 0n],
    ['-0.01', 'EUR', -1n],
  ])('%s %s is %s minor units, exactly', (text, currency, minor) => {
    expect(parseMinor(text, currency)).toBe(minor);
  });

  it.each([
    ['0.005', 'EUR', 1],
    ['0.0049999', 'EUR', 0],
    ['-0.005', 'EUR', -1],
    ['-0.0049', 'EUR', 0],
    ['0.5', 'JPY', 1],
    ['0.4', 'JPY', 0],
    ['1905.5', 'ISK', 1906],
    ['1.2345', 'KWD', 1235],
    ['1.23449', 'KWD', 1234],
    ['12.345', 'EUR', 1235],
  ])('rounds half up (away from zero), once: %s %s -> %i', (text, currency, minor) => {
    expect(decimalToMinor(text, currency)).toBe(minor);
  });

  it.each(['', '1e3', '12,50', '.5', '5.', '+1', '1 000', 'NaN', '0x10'])('refuses %j as an amount', (text) => {
    expect(() => parseMinor(text, 'EUR')).toThrow(RangeError);
  });

  it('refuses amounts beyond safe integers as numbers, not as BigInts', () => {
    expect(parseMinor('123456789012345678.90', 'EUR')).toBe(12345678901234567890n);
    expect(() => decimalToMinor('123456789012345678.90', 'EUR')).toThrow(RangeError);
  });

  it.each([
    [1234, 'EUR', '12.34'],
    [5, 'EUR', '0.05'],
    [-5, 'BHD', '-0.005'],
    [190500, 'HUF', '1905.00'],
    [1905, 'ISK', '1905'],
    [1, 'CLF', '0.0001'],
    [0, 'KWD', '0.000'],
  ])('%i %s is %s', (minor, currency, text) => {
    expect(minorToDecimal(minor, currency)).toBe(text);
    expect(minorToDecimal(BigInt(minor), currency)).toBe(text);
  });

  it('refuses a fractional or unsafe number of minor units', () => {
    expect(() => minorToDecimal(1.5, 'EUR')).toThrow(RangeError);
    expect(() => minorToDecimal(2 ** 53, 'EUR')).toThrow(RangeError);
  });

  it('round-trips every minor amount of every currency: minor -> decimal -> minor', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ISO_4217_CURRENCIES), fc.maxSafeInteger(), fc.boolean(), (currency, magnitude, negative) => {
        const minor = negative && magnitude !== 0 ? -magnitude : magnitude;
        expect(decimalToMinor(minorToDecimal(minor, currency), currency)).toBe(minor);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips decimals with the currency digits exactly, and rounds longer ones once', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ISO_4217_CURRENCIES), fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.nat(9), (currency, scaled, extra) => {
        const digits = isoMinorDigits(currency);
        const text = minorToDecimal(scaled, currency);
        expect(parseMinor(text, currency)).toBe(scaled);
        // one more digit `extra` after the currency's: rounds up from 5
        const longer = digits === 0 ? `${text}.${extra}` : `${text}${extra}`;
        expect(parseMinor(longer, currency)).toBe(scaled + (extra >= 5 ? 1n : 0n));
      }),
      { numRuns: 2000 },
    );
  });
});

// A second statement of Stripe's currency rules (docs.stripe.com/currencies), written as Stripe
// states them: the Stripe integer of one major unit, and the multiple charges must be in.
const STRIPE_UNIT: Record<string, number> = {
  // "Zero-decimal currencies": the amount is the charge (UGX is listed there, but see below).
  BIF: 1, CLP: 1, DJF: 1, GNF: 1, JPY: 1, KMF: 1, KRW: 1, MGA: 1, PYG: 1, RWF: 1, VND: 1, VUV: 1, XAF: 1, XOF: 1, XPF: 1,
  // "Three-decimal currencies": thousandths, last digit 0.
  BHD: 1000, JOD: 1000, KWD: 1000, OMR: 1000, TND: 1000,
  // "Special cases": ISK and UGX as two-decimal values whose decimals are always 00.
  ISK: 100, UGX: 100,
};

describe('Stripe amounts', () => {
  it.each(ISO_4217_CURRENCIES.map((code) => [code]))('%s: the Stripe integer of one major unit', (code) => {
    const perMajor = STRIPE_UNIT[code] ?? 100; // "Currencies are two-decimal currencies unless otherwise specified."
    expect(10 ** stripeDigits(code)).toBe(perMajor);
    const oneMajor = Number(minorPerMajor(code));
    if (isStripeAmount(oneMajor, code)) expect(stripeAmount(oneMajor, code)).toBe(perMajor);
    expect(fromStripeAmount(perMajor, code)).toBe(oneMajor);
  });

  it.each([
    // [currency, product minor units, Stripe integer]
    ['EUR', 1234, 1234],
    ['HUF', 190500, 190500], // 1,905.00 Ft: HUF charges are two-decimal at Stripe too
    ['TWD', 80045, 80045],
    ['JPY', 1905, 1905],
    ['ISK', 5, 500], // "to charge 5 ISK, provide an amount value of 500"
    ['UGX', 5, 500], // "to charge 5 UGX, provide an amount value of 500"
    ['ISK', 1905, 190500],
    ['MGA', 123400, 1234], // ISO hundredths of an ariary, Stripe whole ariary
    ['KWD', 5120, 5120], // "5.124 KWD must be rounded to 5120 or 5130"
    ['BHD', 5130, 5130],
    ['IQD', 1230, 123], // ISO thousandths, Stripe two-decimal
    ['CLF', 10000, 100], // ISO 4 digits, Stripe two-decimal
    ['UYI', 7, 700], // ISO 0 digits, Stripe two-decimal
  ] as const)('%s %i minor units are Stripe %i, and back', (currency, minor, stripe) => {
    expect(stripeAmount(minor, currency)).toBe(stripe);
    expect(stripeAmount(minor, currency.toLowerCase())).toBe(stripe);
    expect(fromStripeAmount(stripe, currency)).toBe(minor);
    expect(fromStripeAmount(stripe, currency.toLowerCase())).toBe(minor);
  });

  it.each([
    ['KWD', 5124], // the last of three digits must be 0
    ['BHD', 1],
    ['MGA', 123456], // fractions of an ariary
    ['IQD', 1235],
    ['CLF', 10001],
  ] as const)('refuses %s %i: Stripe cannot take it', (currency, minor) => {
    expect(isStripeAmount(minor, currency)).toBe(false);
    expect(() => stripeAmount(minor, currency)).toThrow(RangeError);
  });

  it('refuses Stripe integers that are fractions of the product minor unit', () => {
    // ISK and UGX amounts are whole units since 2023; 190550 would be 1,905.50 kr.
    expect(() => fromStripeAmount(190550, 'ISK')).toThrow(RangeError);
    expect(() => fromStripeAmount(501, 'UGX')).toThrow(RangeError);
    expect(() => fromStripeAmount(1.5, 'EUR')).toThrow(RangeError);
  });

  it('HUF and TWD payouts are whole units ("evenly divisible by 100"), their charges are not', () => {
    expect(stripeStepMinor('HUF')).toBe(1);
    expect(stripeStepMinor('HUF', 'payout')).toBe(100);
    expect(stripeAmount(1045, 'HUF')).toBe(1045);
    expect(() => stripeAmount(1045, 'HUF', 'payout')).toThrow(RangeError); // "HUF 10.45 ... 1045 isn't evenly divisible by 100"
    expect(stripeAmount(1000, 'HUF', 'payout')).toBe(1000);
    expect(() => stripeAmount(80045, 'TWD', 'payout')).toThrow(RangeError);
    expect(stripeAmount(80000, 'TWD', 'payout')).toBe(80000);
    expect(stripeStepMinor('EUR', 'payout')).toBe(1);
  });

  it.each([
    ['EUR', 1], ['JPY', 1], ['HUF', 1], ['ISK', 1], ['UGX', 1], ['UYI', 1],
    ['BHD', 10], ['JOD', 10], ['KWD', 10], ['OMR', 10], ['TND', 10], ['IQD', 10], ['LYD', 10],
    ['MGA', 100], ['CLF', 100], ['UYW', 100],
  ] as const)('%s: Stripe takes steps of %i minor units', (currency, step) => {
    expect(stripeStepMinor(currency)).toBe(step);
  });

  it('round-trips every chargeable amount of every currency, and every Stripe integer that is a whole minor amount', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ISO_4217_CURRENCIES), fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }), (currency, n) => {
        const minor = toStripeStep(n, currency, 'down');
        expect(isStripeAmount(minor, currency)).toBe(true);
        expect(fromStripeAmount(stripeAmount(minor, currency), currency)).toBe(minor);
        expect(toStripeStep(n, currency, 'up') - minor).toBe(minor === n ? 0 : stripeStepMinor(currency));
        // a Stripe integer that is a whole number of the product's minor units, in a unit Stripe takes
        const wholeMinor = 10 ** Math.max(0, stripeDigits(currency) - isoMinorDigits(currency));
        const stripeSide = n * wholeMinor * (STRIPE_UNIT[currency] === 1000 ? 10 : 1);
        const back = fromStripeAmount(stripeSide, currency);
        expect(stripeAmount(back, currency)).toBe(stripeSide);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('minimumChargeMinor: Stripe\'s "Minimum charge amount by currency"', () => {
  it.each([
    ['USD', 50], ['AED', 200], ['ARS', 50], ['AUD', 50], ['BRL', 50], ['CAD', 50], ['CHF', 50], ['COP', 50], ['CZK', 1500],
    ['DKK', 250], ['EUR', 50], ['GBP', 30], ['HKD', 400], ['HUF', 17500], ['IDR', 50], ['ILS', 50], ['INR', 50], ['JPY', 50],
    ['KRW', 50], ['MXN', 1000], ['MYR', 200], ['NOK', 300], ['NZD', 50], ['PHP', 50], ['PLN', 200], ['RON', 200], ['RUB', 50],
    ['SEK', 300], ['SGD', 50], ['THB', 1000], ['ZAR', 50], ['BGN', 100],
  ] as const)('%s: %i minor units', (currency, minor) => {
    expect(minimumChargeMinor(currency)).toBe(minor);
    expect(Object.keys(STRIPE_MINIMUM_CHARGE)).toContain(currency);
  });

  it('is 175.00 Ft in HUF, not 17,500 Ft', () => {
    expect(minorToDecimal(minimumChargeMinor('HUF'), 'HUF')).toBe('175.00');
  });

  it('defaults to 50 minor units, rounded up to what Stripe can take', () => {
    expect(minimumChargeMinor('KWD')).toBe(50);
    expect(minimumChargeMinor('ISK')).toBe(50);
    expect(minimumChargeMinor('MGA')).toBe(100);
    expect(minimumChargeMinor('CLF')).toBe(100);
  });

  it('is a chargeable amount in every currency', () => {
    for (const currency of ISO_4217_CURRENCIES) expect(isStripeAmount(minimumChargeMinor(currency), currency), currency).toBe(true);
  });
});
