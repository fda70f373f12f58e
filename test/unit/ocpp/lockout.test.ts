import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOCKOUT_POLICY, firstFailure, lockEndsAt, lockoutState, type LoginFailures } from '../../../functions/ocpp/domain/lockout.ts';

const now = new Date('2026-11-23T12:00:00Z');
const nowS = now.getTime() / 1000;
const policy = { maxFailures: 10, windowSeconds: 300 };
const aCounter = (overrides: Partial<LoginFailures> = {}): LoginFailures => ({ failures: 1, windowStartedAt: nowS - 60, expiresAt: nowS + 240, ...overrides });

describe('connect lockout', () => {
  describe('lockoutState', () => {
    it.each([
      ['no counter', undefined, false],
      ['failures under the limit', aCounter({ failures: 9 }), false],
      ['the limit reached, window running', aCounter({ failures: 10 }), true],
      ['over the limit (concurrent attempts), window running', aCounter({ failures: 13 }), true],
      ['the limit reached, window just passed (TTL not yet applied)', aCounter({ failures: 10, expiresAt: nowS }), false],
      ['the limit reached, window passed long ago', aCounter({ failures: 50, expiresAt: nowS - 3600 }), false],
    ])('with %s: locked %s', (_name, record, locked) => {
      expect(lockoutState(record, now, policy).locked).toBe(locked);
    });

    it('says until when the identity is locked', () => {
      expect(lockoutState(aCounter({ failures: 10, expiresAt: nowS + 120 }), now, policy)).toEqual({
        locked: true,
        failures: 10,
        until: new Date('2026-11-23T12:02:00Z'),
      });
    });

    it('never locks when maxFailures is 0 (lockout off)', () => {
      expect(lockoutState(aCounter({ failures: 1000 }), now, { maxFailures: 0, windowSeconds: 300 }).locked).toBe(false);
    });
  });

  describe('counting', () => {
    it('starts a window of windowSeconds at the first failure', () => {
      expect(firstFailure(now, policy)).toEqual({ failures: 1, windowStartedAt: nowS, expiresAt: nowS + 300 });
    });

    it.each([
      [9, undefined],
      [10, nowS + 300],
      [11, undefined],
    ])('after failure number %s the lock ends at %s', (failures, end) => {
      expect(lockEndsAt(failures, now, policy)).toBe(end);
    });

    it('defaults to 10 wrong passwords per 5 minutes', () => {
      expect(DEFAULT_LOCKOUT_POLICY).toEqual({ maxFailures: 10, windowSeconds: 300 });
    });
  });

  describe('invariants', () => {
    it('locks exactly from the limit on, for a whole window after the failure that reached it', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 3600 }), fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 40 }), (maxFailures, windowSeconds, gaps) => {
          // Replays failures `gaps` seconds apart through the same rules the adapter applies.
          const p = { maxFailures, windowSeconds };
          let at = now.getTime();
          let counter: LoginFailures | undefined;
          for (const gap of gaps) {
            at += gap * 1000;
            const when = new Date(at);
            if (lockoutState(counter, when, p).locked) continue; // refused without counting
            counter = counter && counter.expiresAt > Math.floor(at / 1000) ? { ...counter, failures: counter.failures + 1 } : firstFailure(when, p);
            const end = lockEndsAt(counter.failures, when, p);
            if (end !== undefined) counter = { ...counter, expiresAt: Math.max(end, counter.expiresAt) };
            const state = lockoutState(counter, when, p);
            expect(state.locked).toBe(counter.failures >= maxFailures);
            if (state.locked) expect(state.until.getTime()).toBeGreaterThanOrEqual(at + windowSeconds * 1000 - 1000);
            // A window's failures never exceed the limit when attempts are sequential.
            expect(counter.failures).toBeLessThanOrEqual(maxFailures);
          }
        }),
        { seed: 20261123, numRuns: 300 },
      );
    });
  });
});
