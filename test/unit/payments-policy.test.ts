import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAYMENT_POLICY, parsePaymentPolicy, type PaymentPolicy } from '../../functions/payments/domain/policy.ts';
import { ValidationError } from '../../functions/shared/errors.ts';

const VALID: PaymentPolicy = {
  hold: { mode: 'estimate', maxPowerKw: 22, maxDurationMinutes: 120, capMinor: 10_000, floorMinor: 2_000 },
  incrementAtPercent: 80,
  incrementHeadroomPercent: 50,
  incrementMinStepMinor: 1_000,
  maxHoldMinor: 30_000,
  onIncrementUnavailable: 'continue',
  smallAmount: 'carry',
  readerMatchWindowSeconds: 180,
};

/** The ValidationError parsePaymentPolicy throws for `json` (fails the test when it does not throw one). */
function errorOf(json: unknown): ValidationError {
  try {
    parsePaymentPolicy(json);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`accepted ${JSON.stringify(json)}`);
}

const withField = (field: string, value: unknown) => ({ ...VALID, [field]: value });
const withHold = (hold: unknown) => ({ ...VALID, hold });
const without = (field: keyof PaymentPolicy) => {
  const { [field]: _dropped, ...rest } = VALID;
  return rest;
};

describe('parsePaymentPolicy: valid policies', () => {
  it('accepts the documented example unchanged', () => {
    expect(parsePaymentPolicy(structuredClone(VALID))).toEqual(VALID);
  });

  it('accepts the built-in default', () => {
    expect(parsePaymentPolicy(structuredClone(DEFAULT_PAYMENT_POLICY))).toEqual(DEFAULT_PAYMENT_POLICY);
  });

  it('the built-in default is the documented one', () => {
    expect(DEFAULT_PAYMENT_POLICY).toEqual(VALID);
  });

  it('accepts a fixed hold up to maxHoldMinor', () => {
    const policy = parsePaymentPolicy(withHold({ mode: 'fixed', amountMinor: 30_000 }));
    expect(policy.hold).toEqual({ mode: 'fixed', amountMinor: 30_000 });
    expect(parsePaymentPolicy(withHold({ mode: 'fixed', amountMinor: 0 })).hold).toEqual({ mode: 'fixed', amountMinor: 0 });
  });

  it('accepts an estimate without the optional maxPowerKw and floorMinor, and with capMinor equal to maxHoldMinor', () => {
    const hold = { mode: 'estimate', maxDurationMinutes: 1, capMinor: 30_000 };
    expect(parsePaymentPolicy(withHold(hold)).hold).toEqual(hold);
  });

  it('accepts the bounds of every field', () => {
    const low: PaymentPolicy = {
      hold: { mode: 'estimate', maxPowerKw: 0.1, maxDurationMinutes: 1, capMinor: 0, floorMinor: 0 },
      incrementAtPercent: 1,
      incrementHeadroomPercent: 1,
      incrementMinStepMinor: 0,
      maxHoldMinor: 0,
      onIncrementUnavailable: 'stop',
      smallAmount: 'waive',
      readerMatchWindowSeconds: 10,
    };
    expect(parsePaymentPolicy(low)).toEqual(low);
    const high: PaymentPolicy = {
      ...low,
      hold: { mode: 'estimate', maxPowerKw: 1000, maxDurationMinutes: 7 * 24 * 60, capMinor: 1_000_000 },
      incrementAtPercent: 100,
      incrementHeadroomPercent: 500,
      maxHoldMinor: 1_000_000,
      readerMatchWindowSeconds: 3600,
    };
    expect(parsePaymentPolicy(high)).toEqual(high);
  });
});

describe('parsePaymentPolicy: defaults', () => {
  it('a complete policy needs no defaults; the default policy is what applies where none is stored', () => {
    expect(parsePaymentPolicy({ ...DEFAULT_PAYMENT_POLICY, smallAmount: 'waive' })).toEqual({ ...DEFAULT_PAYMENT_POLICY, smallAmount: 'waive' });
  });

  // MISMATCH (functions/payments/domain/policy.ts:69-72): the JSDoc says "a partial one is completed from
  // the default", but the strict schema requires every field: parsePaymentPolicy({ smallAmount: 'waive' })
  // throws ValidationError "invalid payment policy: hold: is required" (path `hold`) instead of returning
  // DEFAULT_PAYMENT_POLICY with smallAmount 'waive'. Either the code or the comment is wrong.
  it('completes a partial policy from the default (as its JSDoc says)', () => {
    expect(parsePaymentPolicy({ smallAmount: 'waive' })).toEqual({ ...DEFAULT_PAYMENT_POLICY, smallAmount: 'waive' });
  });

  it("a missing field takes the default policy's value", () => {
    for (const field of Object.keys(VALID) as Array<keyof PaymentPolicy>) {
      expect(parsePaymentPolicy(without(field))[field]).toEqual(DEFAULT_PAYMENT_POLICY[field]);
    }
  });

  it('a field given as null is refused, naming it', () => {
    expect(errorOf({ ...VALID, maxHoldMinor: null }).path).toBe('maxHoldMinor');
  });
});

describe('parsePaymentPolicy: invalid fields name themselves', () => {
  it.each([
    ['not an object', 'x', '', 'invalid payment policy: (root): expected a JSON object'],
    ['null', null, '', 'invalid payment policy: (root): expected a JSON object'],
    ['an array', [], '', 'invalid payment policy: (root): expected a JSON object'],
  ])('%s', (_what, json, path, message) => {
    const error = errorOf(json);
    expect(error.path).toBe(path);
    expect(error.message).toBe(message);
  });

  it.each<[string, unknown, string]>([
    ['incrementAtPercent', 0, 'incrementAtPercent must be >= 1'],
    ['incrementAtPercent', 101, 'incrementAtPercent must be <= 100'],
    ['incrementAtPercent', 80.5, ''], // message: see below
    ['incrementAtPercent', '80', ''],
    ['incrementHeadroomPercent', 0, 'incrementHeadroomPercent must be >= 1'],
    ['incrementHeadroomPercent', 501, 'incrementHeadroomPercent must be <= 500'],
    ['incrementHeadroomPercent', 12.5, ''],
    ['incrementMinStepMinor', -1, 'incrementMinStepMinor must be >= 0'],
    ['incrementMinStepMinor', 10.5, ''],
    ['maxHoldMinor', -1, 'maxHoldMinor must be >= 0'],
    ['maxHoldMinor', 300.01, ''],
    ['maxHoldMinor', null, ''],
    ['onIncrementUnavailable', 'pause', 'onIncrementUnavailable must be stop or continue'],
    ['onIncrementUnavailable', 'STOP', 'onIncrementUnavailable must be stop or continue'],
    ['smallAmount', 'refund', 'smallAmount must be waive or carry'],
    ['readerMatchWindowSeconds', 9, 'readerMatchWindowSeconds must be >= 10'],
    ['readerMatchWindowSeconds', 3601, 'readerMatchWindowSeconds must be <= 3600'],
    ['readerMatchWindowSeconds', 60.5, ''],
  ])('%s = %j', (field, value, message) => {
    const error = errorOf(withField(field, value));
    expect(error.path).toBe(field);
    expect(error.message.startsWith(`invalid payment policy: ${field}: `)).toBe(true);
    if (message) expect(error.message).toBe(`invalid payment policy: ${field}: ${message}`);
  });

  it.each<[string, unknown, string, string]>([
    ['an unknown mode', { mode: 'percent', amountMinor: 100 }, 'hold.mode', 'mode must be fixed or estimate'],
    ['no mode', { amountMinor: 100 }, 'hold.mode', 'mode must be fixed or estimate'],
    ['a negative fixed amount', { mode: 'fixed', amountMinor: -1 }, 'hold.amountMinor', 'amountMinor must be >= 0'],
    ['a fractional fixed amount', { mode: 'fixed', amountMinor: 12.5 }, 'hold.amountMinor', ''],
    ['a fixed hold with estimate fields', { mode: 'fixed', amountMinor: 100, capMinor: 100 }, 'hold.capMinor', 'unknown field "capMinor"'],
    ['zero power', { mode: 'estimate', maxPowerKw: 0, maxDurationMinutes: 60, capMinor: 100 }, 'hold.maxPowerKw', 'maxPowerKw must be > 0'],
    ['negative power', { mode: 'estimate', maxPowerKw: -7, maxDurationMinutes: 60, capMinor: 100 }, 'hold.maxPowerKw', 'maxPowerKw must be > 0'],
    ['too much power', { mode: 'estimate', maxPowerKw: 1000.1, maxDurationMinutes: 60, capMinor: 100 }, 'hold.maxPowerKw', ''],
    ['zero duration', { mode: 'estimate', maxDurationMinutes: 0, capMinor: 100 }, 'hold.maxDurationMinutes', 'maxDurationMinutes must be >= 1'],
    ['a duration over a week', { mode: 'estimate', maxDurationMinutes: 7 * 24 * 60 + 1, capMinor: 100 }, 'hold.maxDurationMinutes', ''],
    ['a fractional duration', { mode: 'estimate', maxDurationMinutes: 90.5, capMinor: 100 }, 'hold.maxDurationMinutes', ''],
    ['no duration', { mode: 'estimate', capMinor: 100 }, 'hold.maxDurationMinutes', 'is required'],
    ['no cap', { mode: 'estimate', maxDurationMinutes: 60 }, 'hold.capMinor', 'is required'],
    ['a negative cap', { mode: 'estimate', maxDurationMinutes: 60, capMinor: -1 }, 'hold.capMinor', 'capMinor must be >= 0'],
    ['a negative floor', { mode: 'estimate', maxDurationMinutes: 60, capMinor: 100, floorMinor: -1 }, 'hold.floorMinor', 'floorMinor must be >= 0'],
    ['a fractional floor', { mode: 'estimate', maxDurationMinutes: 60, capMinor: 100, floorMinor: 0.5 }, 'hold.floorMinor', ''],
    ['an unknown field', { mode: 'estimate', maxDurationMinutes: 60, capMinor: 100, maxEnergyKwh: 40 }, 'hold.maxEnergyKwh', 'unknown field "maxEnergyKwh"'],
  ])('hold with %s', (_what, hold, path, message) => {
    const error = errorOf(withHold(hold));
    expect(error.path).toBe(path);
    expect(error.message.startsWith(`invalid payment policy: ${path}: `)).toBe(true);
    if (message) expect(error.message).toBe(`invalid payment policy: ${path}: ${message}`);
  });

  // Found by these tests, since fixed (functions/pricing/domain/tariff.ts:316, validationErrorFrom, shared by tariffs and payment
  // policies): `issue.code === 'invalid_type' && issue.input === undefined` is meant to detect a missing
  // field, but zod 4 leaves `issue.input` out of issues (unless `reportInput` is set), so EVERY
  // invalid_type issue -- a fraction where an integer is required (zod 4 reports .int() as invalid_type),
  // or a string where a number is required -- is reported as "is required", hiding the schema's message.
  // Input: incrementAtPercent 80.5. Expected: "invalid payment policy: incrementAtPercent: incrementAtPercent
  // must be a whole percent". Actual: "invalid payment policy: incrementAtPercent: is required". (The path is right.)
  it('a fractional percent is reported with its own message, not "is required"', () => {
    expect(errorOf(withField('incrementAtPercent', 80.5)).message).toBe('invalid payment policy: incrementAtPercent: incrementAtPercent must be a whole percent');
  });

  it('a fractional fixed amount is reported with its own message, not "is required"', () => {
    expect(errorOf(withHold({ mode: 'fixed', amountMinor: 12.5 })).message).toBe('invalid payment policy: hold.amountMinor: amountMinor must be a whole number of minor units');
  });

  it('a number given as a string is not reported as missing', () => {
    expect(errorOf(withField('maxHoldMinor', '30000')).message).not.toContain('is required');
  });

  it('an unknown top-level field is refused, naming it', () => {
    const error = errorOf({ ...VALID, incrementAtPercnt: 80 });
    expect(error.path).toBe('incrementAtPercnt');
    expect(error.message).toBe('invalid payment policy: incrementAtPercnt: unknown field "incrementAtPercnt"');
  });

  it('refuses a fixed amount above maxHoldMinor', () => {
    const error = errorOf({ ...VALID, hold: { mode: 'fixed', amountMinor: 30_001 } });
    expect(error.path).toBe('hold.amountMinor');
    expect(error.message).toBe('hold.amountMinor must not exceed maxHoldMinor');
  });

  it('refuses an estimate cap above maxHoldMinor', () => {
    const error = errorOf({ ...VALID, hold: { ...VALID.hold, capMinor: 30_001 } });
    expect(error.path).toBe('hold.capMinor');
    expect(error.message).toBe('hold.capMinor must not exceed maxHoldMinor');
  });
});

describe('parsePaymentPolicy: properties', () => {
  const policyArb: fc.Arbitrary<PaymentPolicy> = fc
    .record({
      fixed: fc.boolean(),
      amount: fc.integer({ min: 0, max: 1_000_000 }),
      maxPowerKw: fc.option(fc.integer({ min: 1, max: 10_000 }).map((t) => t / 10), { nil: undefined }),
      maxDurationMinutes: fc.integer({ min: 1, max: 7 * 24 * 60 }),
      floorMinor: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }),
      incrementAtPercent: fc.integer({ min: 1, max: 100 }),
      incrementHeadroomPercent: fc.integer({ min: 1, max: 500 }),
      incrementMinStepMinor: fc.integer({ min: 0, max: 100_000 }),
      maxHoldMinor: fc.integer({ min: 0, max: 1_000_000 }),
      onIncrementUnavailable: fc.constantFrom('stop', 'continue') as fc.Arbitrary<'stop' | 'continue'>,
      smallAmount: fc.constantFrom('waive', 'carry') as fc.Arbitrary<'waive' | 'carry'>,
      readerMatchWindowSeconds: fc.integer({ min: 10, max: 3600 }),
    })
    .map(({ fixed, amount, maxPowerKw, maxDurationMinutes, floorMinor, ...rest }) => ({
      ...rest,
      hold: fixed
        ? { mode: 'fixed' as const, amountMinor: amount }
        : {
            mode: 'estimate' as const,
            maxDurationMinutes,
            capMinor: amount,
            ...(maxPowerKw === undefined ? {} : { maxPowerKw }),
            ...(floorMinor === undefined ? {} : { floorMinor }),
          },
    }));

  it('accepts a well-formed policy exactly when its hold amount or cap is at most maxHoldMinor and its floor at most its cap, and returns it unchanged', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        const amount = policy.hold.mode === 'fixed' ? policy.hold.amountMinor : policy.hold.capMinor;
        const floorAboveCap = policy.hold.mode === 'estimate' && (policy.hold.floorMinor ?? 0) > policy.hold.capMinor;
        if (amount > policy.maxHoldMinor) {
          expect(errorOf(policy).path).toBe(policy.hold.mode === 'fixed' ? 'hold.amountMinor' : 'hold.capMinor');
        } else if (floorAboveCap) {
          expect(errorOf(policy).path).toBe('hold.floorMinor');
        } else {
          expect(parsePaymentPolicy(structuredClone(policy))).toEqual(policy);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a single wrong field is reported at its own path', () => {
    const breakers: Array<[keyof PaymentPolicy, unknown]> = [
      ['incrementAtPercent', 0],
      ['incrementHeadroomPercent', 501],
      ['incrementMinStepMinor', -5],
      ['maxHoldMinor', 1.5],
      ['onIncrementUnavailable', 'later'],
      ['smallAmount', 'keep'],
      ['readerMatchWindowSeconds', 5],
    ];
    fc.assert(
      fc.property(policyArb, fc.constantFrom(...breakers), (policy, [field, value]) => {
        expect(errorOf({ ...policy, [field]: value }).path).toBe(field);
      }),
      { numRuns: 200 },
    );
  });
});
