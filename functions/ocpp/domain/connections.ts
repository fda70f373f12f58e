import type { LockoutPolicy } from './lockout.ts';
import { lockoutState } from './lockout.ts';
import { parseBasicAuth, verifyPassword } from './passwords.ts';
import type { OcppPorts } from './ports.ts';
import { WarmCache } from './warm-cache.ts';

/** A `$connect` to authenticate: the identity from the URL and the Basic auth header, as received. */
export interface ConnectAttempt {
  connectionId: string;
  chargePointId: string | undefined;
  authorization: string | undefined;
  /** When the gateway accepted the connection; the clock's now when unknown. */
  connectedAt?: string;
}

/**
 * Charge point connections: `$connect` authentication (OCPP Security Profile 1: the identity as
 * the Basic auth username, its password checked against the stored hash, with a brute-force
 * lockout per identity), and which charge point each open connection belongs to.
 */
export function createConnections({ registry, clock, log }: Pick<OcppPorts, 'registry' | 'clock' | 'log'>, lockoutPolicy: LockoutPolicy) {
  /** A connection id is never reused, so its charge point can be remembered. */
  const connectionOwner = new WarmCache<string, string>();

  return {
    /** Accepts the connection (and records it) or refuses it; every refusal looks the same to the caller. */
    async authenticate(input: ConnectAttempt): Promise<'accepted' | 'refused'> {
      const chargePointId = input.chargePointId;
      const credentials = parseBasicAuth(input.authorization);
      if (!chargePointId || !credentials) {
        log.warn('connect refused: no identity or no Basic auth', { chargePointId: chargePointId ?? null, basicAuth: input.authorization ? 'malformed' : 'missing' });
        return 'refused';
      }
      if (credentials.username !== chargePointId) {
        log.warn('connect refused: Basic auth username differs from the identity', { chargePointId });
        return 'refused';
      }
      // The counter is read beside the profile, so the lockout adds no round trip to a connect.
      const [chargePoint, failures] = await Promise.all([registry.getChargePoint(chargePointId), registry.loginFailures(chargePointId)]);
      if (!chargePoint) {
        // Nothing to guess for an identity that does not exist, so no counter (nor an item per made-up name).
        log.warn('connect refused: unknown charge point', { chargePointId });
        return 'refused';
      }
      const now = clock.now();
      const lockout = lockoutState(failures, now, lockoutPolicy);
      if (lockout.locked) {
        // Refused before scrypt, like a wrong password: a guesser learns nothing.
        log.warn('connect refused: locked out after repeated wrong passwords', { chargePointId, failures: lockout.failures, lockedUntil: lockout.until.toISOString() });
        return 'refused';
      }
      if (!(await verifyPassword(credentials.password, chargePoint.passwordHash))) {
        const counted = lockoutPolicy.maxFailures > 0 ? await registry.recordLoginFailure(chargePointId, now, lockoutPolicy) : undefined;
        const nowLocked = counted ? lockoutState(counted, now, lockoutPolicy) : { locked: false as const };
        log.warn(nowLocked.locked ? 'connect refused: wrong password; identity now locked out' : 'connect refused: wrong password', {
          chargePointId,
          ...(counted ? { failures: counted.failures, maxFailures: lockoutPolicy.maxFailures } : {}),
          ...(nowLocked.locked ? { lockedUntil: nowLocked.until.toISOString() } : {}),
        });
        return 'refused';
      }
      await registry.recordConnection(input.connectionId, chargePointId, input.connectedAt ?? clock.now().toISOString());
      connectionOwner.set(input.connectionId, chargePointId);
      return 'accepted';
    },

    async disconnect(connectionId: string): Promise<void> {
      const chargePointId = connectionOwner.get(connectionId) ?? (await registry.chargePointForConnection(connectionId));
      connectionOwner.delete(connectionId);
      await registry.removeConnection(connectionId, chargePointId);
    },

    /** The charge point on an open connection; undefined once it is gone (or it never was). */
    async chargePointFor(connectionId: string): Promise<string | undefined> {
      const known = connectionOwner.get(connectionId);
      if (known !== undefined) return known;
      const chargePointId = await registry.chargePointForConnection(connectionId);
      if (chargePointId !== undefined) connectionOwner.set(connectionId, chargePointId);
      return chargePointId;
    },
  };
}
