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
  /**
   * A card-paid idTag no driver with a means of payment stands behind: `block` answers Blocked at
   * Authorize and StartTransaction; `accept` lets it charge ad hoc (its session then fails its card
   * hold). OCPP_PAYERLESS_CARD_TAGS, default `block` (docs/payments.md); unset here means accept.
   */
  payerlessCardTags?: 'block' | 'accept';
  /**
   * A started session with no StopTransaction (and no meter reading) for this long is closed by the
   * sweep from its last reading and flagged `closed-without-stop` (default 48; docs/sessions.md).
   */
  maxOpenSessionHours?: number;
}

/** The documented default of SESSION_MAX_OPEN_HOURS (docs/sessions.md). */
export const DEFAULT_MAX_OPEN_SESSION_HOURS = 48;

/** The single-session policy the configuration asks for (off unless enabled; a hold counts for 24 hours by default). */
export function concurrencyPolicyOf(config: CentralSystemConfig): ConcurrencyPolicy {
  return {
    rejectConcurrent: config.singleSessionPerIdTag ?? false,
    activeSessionMaxAgeMs: (config.activeSessionMaxAgeSeconds ?? 24 * 3600) * 1000,
    blockPayerless: config.payerlessCardTags === 'block',
  };
}

export function lockoutPolicyOf(config: CentralSystemConfig): LockoutPolicy {
  return config.connectLockout ?? DEFAULT_LOCKOUT_POLICY;
}
