/**
 * `$connect` brute-force protection: after `maxFailures` wrong passwords for one charge point
 * identity within `windowSeconds` of the first, that identity is refused, without running scrypt,
 * for `windowSeconds` from the failure that reached the limit. Attempts refused while locked are
 * not counted (they test no password), so the lock ends on time however hard it is hammered.
 */
export interface LockoutPolicy {
  /** Wrong passwords allowed per window; 0 turns the lockout off. */
  maxFailures: number;
  /** Length of the counting window, and of the lock once the limit is reached. */
  windowSeconds: number;
}

/** 10 wrong passwords within 5 minutes lock the identity for 5 minutes. */
export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = { maxFailures: 10, windowSeconds: 300 };

/** The failure counter of one identity (a Registry item that expires through its TTL). */
export interface LoginFailures {
  failures: number;
  /** Epoch seconds of the first failure of the window. */
  windowStartedAt: number;
  /** Epoch seconds when the window (or the lock) ends; also the item's TTL attribute. */
  expiresAt: number;
}

export type LockoutState = { locked: false } | { locked: true; failures: number; until: Date };

/** Stores the counters; the increment must be atomic and start a new window when the old one passed. */
export interface LoginFailurePort {
  loginFailures(chargePointId: string): Promise<LoginFailures | undefined>;
  /** Counts one wrong password at `at` under `policy`; returns the counter after it. */
  recordLoginFailure(chargePointId: string, at: Date, policy: LockoutPolicy): Promise<LoginFailures>;
}

const epochSeconds = (at: Date) => Math.floor(at.getTime() / 1000);

/**
 * Whether `$connect` must refuse the identity now, before looking at the password. A counter whose
 * window has passed counts for nothing even if DynamoDB has not deleted it yet (TTL deletion lags).
 */
export function lockoutState(record: LoginFailures | undefined, now: Date, policy: LockoutPolicy): LockoutState {
  if (!record || policy.maxFailures <= 0) return { locked: false };
  if (record.expiresAt <= epochSeconds(now)) return { locked: false };
  if (record.failures < policy.maxFailures) return { locked: false };
  return { locked: true, failures: record.failures, until: new Date(record.expiresAt * 1000) };
}

/** The counter for a failure at `at` when no window is running: one failure, a fresh window. */
export function firstFailure(at: Date, policy: LockoutPolicy): LoginFailures {
  const now = epochSeconds(at);
  return { failures: 1, windowStartedAt: now, expiresAt: now + policy.windowSeconds };
}

/**
 * When the failure just counted reached the limit, the lock runs a whole window from now (not just
 * to the end of the counting window, which could be a second away); otherwise undefined.
 */
export function lockEndsAt(failuresAfter: number, at: Date, policy: LockoutPolicy): number | undefined {
  if (policy.maxFailures <= 0 || failuresAfter !== policy.maxFailures) return undefined;
  return epochSeconds(at) + policy.windowSeconds;
}
