import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableNames } from '../../lib/tables.ts';
import { type Env, intFromEnv } from '../shared/env.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { perPlatform, type Platform } from '../shared/platform.ts';
import { ApiGatewayConnections } from './adapters/api-gateway-connections.ts';
import { DynamoEntitlements } from './adapters/dynamo-entitlements.ts';
import { DynamoRegistry } from './adapters/dynamo-registry.ts';
import { DynamoSessionStore } from './adapters/dynamo-sessions.ts';
import { DynamoTariffs } from './adapters/dynamo-tariffs.ts';
import { DEFAULT_LOCKOUT_POLICY } from './domain/lockout.ts';
import { DEFAULT_MAX_OPEN_SESSION_HOURS } from './domain/config.ts';
import { type CallObserver, createCentralSystem, type CentralSystemConfig, type CentralSystemDeps } from './central-system.ts';

/** Everything the OCPP functions and the admin API store, built once per process. */
export interface OcppStores {
  registry: DynamoRegistry;
  entitlements: DynamoEntitlements;
  tariffs: DynamoTariffs;
  sessions: DynamoSessionStore;
}

export function createStores(dynamo: DynamoDBClient, tables: TableNames): OcppStores {
  return {
    registry: new DynamoRegistry(dynamo, tables.Registry),
    entitlements: new DynamoEntitlements(dynamo, tables.Entitlements),
    tariffs: new DynamoTariffs(dynamo, tables.Tariffs),
    sessions: new DynamoSessionStore(dynamo, tables.Sessions),
  };
}

/** Central-system settings from the environment, with the defaults documented in the README. */
export function centralSystemConfigFromEnv(env: Env = process.env): CentralSystemConfig {
  const lockoutSeconds = intFromEnv('OCPP_CONNECT_LOCKOUT_SECONDS', DEFAULT_LOCKOUT_POLICY.windowSeconds, env);
  if (lockoutSeconds < 1) throw new ConfigurationError(`OCPP_CONNECT_LOCKOUT_SECONDS must be 1 or more, got ${lockoutSeconds}`);
  const maxOpenSessionHours = intFromEnv('SESSION_MAX_OPEN_HOURS', DEFAULT_MAX_OPEN_SESSION_HOURS, env);
  if (maxOpenSessionHours < 1) throw new ConfigurationError(`SESSION_MAX_OPEN_HOURS must be 1 or more, got ${maxOpenSessionHours}`);
  const payerlessCardTags = env.OCPP_PAYERLESS_CARD_TAGS ?? 'block';
  if (payerlessCardTags !== 'block' && payerlessCardTags !== 'accept') throw new ConfigurationError(`OCPP_PAYERLESS_CARD_TAGS must be block or accept, got ${payerlessCardTags}`);
  return {
    payerlessCardTags,
    // API Gateway drops a connection idle for 10 minutes; a 5-minute heartbeat keeps it open.
    heartbeatIntervalSeconds: intFromEnv('OCPP_HEARTBEAT_INTERVAL_SECONDS', 300, env),
    idleCompletionLimitSeconds: intFromEnv('SESSION_IDLE_LIMIT_SECONDS', 4 * 3600, env),
    singleSessionPerIdTag: env.OCPP_SINGLE_SESSION_PER_IDTAG === 'true',
    activeSessionMaxAgeSeconds: intFromEnv('OCPP_ACTIVE_SESSION_MAX_AGE_SECONDS', 24 * 3600, env),
    maxOpenSessionHours,
    connectLockout: {
      maxFailures: intFromEnv('OCPP_CONNECT_MAX_FAILURES', DEFAULT_LOCKOUT_POLICY.maxFailures, env),
      windowSeconds: lockoutSeconds,
    },
  };
}

/**
 * The OCPP context's composition root: the stores, the central system's dependencies and the
 * central system over a platform; settings from OCPP_* / SESSION_IDLE_LIMIT_SECONDS
 * (centralSystemConfigFromEnv) under the caller's overrides. Built once per platform: by the local
 * stack first, with its overrides, else by the first invocation.
 */
export const composeOcpp = perPlatform((platform: Platform, overrides: Partial<CentralSystemConfig> = {}) => {
  const config = { ...centralSystemConfigFromEnv(platform.env), ...overrides };
  if (config.heartbeatIntervalSeconds >= 600) {
    platform.log.warn('OCPP_HEARTBEAT_INTERVAL_SECONDS is 600 or more: API Gateway closes connections idle for 10 minutes');
  }
  const stores = createStores(platform.dynamo, platform.tables);
  // One central system per platform; the message handler watches its answers through `observe`.
  const observers = new Set<CallObserver>();
  const deps: CentralSystemDeps & { stores: OcppStores } = {
    ...stores,
    stores,
    events: platform.events,
    connections: new ApiGatewayConnections(platform.connections),
    clock: platform.clock,
    config,
    log: platform.log,
    observer: {
      answered(action, errorCode) {
        for (const observer of observers) observer.answered(action, errorCode);
      },
    },
  };
  return { deps, stores, system: createCentralSystem(deps), observe: (observer: CallObserver) => void observers.add(observer) };
});
