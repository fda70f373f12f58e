import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { TABLES, type TableId, type TableNames } from '../../lib/tables.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { intFromEnv, requireEnv } from '../shared/env.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { EventBridgePublisher } from '../shared/event-publisher.ts';
import type { Log } from '../shared/log.ts';
import { log as powertoolsLog } from '../shared/logger.ts';
import { ApiGatewayConnections } from './adapters/api-gateway-connections.ts';
import { DynamoEntitlements } from './adapters/dynamo-entitlements.ts';
import { DynamoRegistry } from './adapters/dynamo-registry.ts';
import { DynamoSessionStore } from './adapters/dynamo-sessions.ts';
import { DynamoTariffs } from './adapters/dynamo-tariffs.ts';
import { DEFAULT_LOCKOUT_POLICY } from './domain/lockout.ts';
import type { CentralSystemConfig, CentralSystemDeps } from './central-system.ts';

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

/** Builds the central system's dependencies from explicit clients (the local stack, tests). */
export function buildOcppDeps(input: {
  dynamo: DynamoDBClient;
  eventBridge: EventBridgeClient;
  managementApi: ApiGatewayManagementApiClient;
  tables: TableNames;
  eventBusName: string;
  config: CentralSystemConfig;
  clock?: Clock;
  log: Log;
}): CentralSystemDeps & { stores: OcppStores } {
  const stores = createStores(input.dynamo, input.tables);
  return {
    ...stores,
    stores,
    events: new EventBridgePublisher(input.eventBridge, input.eventBusName),
    connections: new ApiGatewayConnections(input.managementApi),
    clock: input.clock ?? systemClock,
    config: input.config,
    log: input.log,
  };
}

/** Physical table names from the environment variables named in lib/tables.ts. */
export function tableNamesFromEnv(env: NodeJS.ProcessEnv = process.env): TableNames {
  return Object.fromEntries(Object.values(TABLES).map((t) => [t.id, requireEnv(t.envVar, env)])) as Record<TableId, string>;
}

/** Central-system settings from the environment, with the defaults documented in the README. */
export function centralSystemConfigFromEnv(env: NodeJS.ProcessEnv = process.env): CentralSystemConfig {
  const lockoutSeconds = intFromEnv('OCPP_CONNECT_LOCKOUT_SECONDS', DEFAULT_LOCKOUT_POLICY.windowSeconds, env);
  if (lockoutSeconds < 1) throw new ConfigurationError(`OCPP_CONNECT_LOCKOUT_SECONDS must be 1 or more, got ${lockoutSeconds}`);
  return {
    // API Gateway drops a connection idle for 10 minutes; a 5-minute heartbeat keeps it open.
    heartbeatIntervalSeconds: intFromEnv('OCPP_HEARTBEAT_INTERVAL_SECONDS', 300, env),
    idleCompletionLimitSeconds: intFromEnv('SESSION_IDLE_LIMIT_SECONDS', 4 * 3600, env),
    singleSessionPerIdTag: env.OCPP_SINGLE_SESSION_PER_IDTAG === 'true',
    activeSessionMaxAgeSeconds: intFromEnv('OCPP_ACTIVE_SESSION_MAX_AGE_SECONDS', 24 * 3600, env),
    connectLockout: {
      maxFailures: intFromEnv('OCPP_CONNECT_MAX_FAILURES', DEFAULT_LOCKOUT_POLICY.maxFailures, env),
      windowSeconds: lockoutSeconds,
    },
  };
}

/**
 * The Lambda functions' dependencies: table names (REGISTRY_TABLE, ...), EVENT_BUS_NAME and the
 * @connections endpoint (OCPP_CONNECTIONS_ENDPOINT, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`).
 * Endpoints of local stand-ins come through the SDK's own AWS_ENDPOINT_URL_* variables.
 */
export function ocppDepsFromEnv(env: NodeJS.ProcessEnv = process.env, log: Log = powertoolsLog) {
  const heartbeat = centralSystemConfigFromEnv(env);
  if (heartbeat.heartbeatIntervalSeconds >= 600) {
    log.warn('OCPP_HEARTBEAT_INTERVAL_SECONDS is 600 or more: API Gateway closes connections idle for 10 minutes');
  }
  return buildOcppDeps({
    dynamo: new DynamoDBClient({}),
    eventBridge: new EventBridgeClient({}),
    managementApi: new ApiGatewayManagementApiClient({ endpoint: requireEnv('OCPP_CONNECTIONS_ENDPOINT', env) }),
    tables: tableNamesFromEnv(env),
    eventBusName: requireEnv('EVENT_BUS_NAME', env),
    config: heartbeat,
    log,
  });
}
