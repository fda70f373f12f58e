import type { ConcurrencyPolicy } from './authorization.ts';
import { DEFAULT_LOCKOUT_POLICY, type LockoutPolicy } from './lockout.ts';

export interface CentralSystemConfig {
  /** Heartbeat interval given in BootNotification.conf; under API Gateway's 10-minute idle timeout. */
  heartbeatIntervalSeconds: number;
  /** A stopped session whose connector never reports Available is completed this long after the stop. */
  idleCompletionLimitSeconds: number;
  /** Answer ConcurrentTx when an idTag already charges in another transaction (off by default). */
  singleSessionPerIdTag?: boolean;
  /** How long a session may hold its idTag without a StopTransaction before the hold is ignored. */
  activeSessionMaxAgeSeconds?: number;
  /** `$connect` brute-force lockout per charge point identity (default 10 wrong passwords per 5 minutes). */
  connectLockout?: LockoutPolicy;
}

/** The single-session policy the configuration asks for (off unless enabled; a hold counts for 24 hours by default). */
export function concurrencyPolicyOf(config: CentralSystemConfig): ConcurrencyPolicy {
  return {
    rejectConcurrent: config.singleSessionPerIdTag ?? false,
    activeSessionMaxAgeMs: (config.activeSessionMaxAgeSeconds ?? 24 * 3600) * 1000,
  };
}

export function lockoutPolicyOf(config: CentralSystemConfig): LockoutPolicy {
  return config.connectLockout ?? DEFAULT_LOCKOUT_POLICY;
}
