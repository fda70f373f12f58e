import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { TABLES } from '../../lib/tables.ts';
import { systemClock } from '../shared/clock.ts';
import { intFromEnv, requireEnv } from '../shared/env.ts';
import { EventBridgePublisher } from '../shared/event-publisher.ts';
import type { Log } from '../shared/log.ts';
import { log as powertoolsLog } from '../shared/logger.ts';
import { ApiGatewayConnections } from './adapters/api-gateway-connections.ts';
import { DynamoEntitlements } from './adapters/dynamo-entitlements.ts';
import { DynamoRegistry } from './adapters/dynamo-registry.ts';
import { DynamoSessionStore } from './adapters/dynamo-sessions.ts';
import { DynamoTariffs } from './adapters/dynamo-tariffs.ts';
import type { CentralSystemDeps } from './central-system.ts';

/** Everything the OCPP functions and the admin API reach, built once per process. */
export interface OcppStores {
  registry: DynamoRegistry;
  entitlements: DynamoEntitlements;
  tariffs: DynamoTariffs;
  sessions: DynamoSessionStore;
}

/**
 * Builds the adapters from the environment: table names (REGISTRY_TABLE, ...), EVENT_BUS_NAME, the
 * @connections endpoint (OCPP_CONNECTIONS_ENDPOINT, `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`
 * on AWS). Endpoints of the local stand-ins come from the SDK's own AWS_ENDPOINT_URL_* variables.
 */
export function ocppDepsFromEnv(env: NodeJS.ProcessEnv = process.env, log: Log = powertoolsLog): CentralSystemDeps & { stores: OcppStores } {
  const dynamo = new DynamoDBClient({});
  const stores: OcppStores = {
    registry: new DynamoRegistry(dynamo, requireEnv(TABLES.Registry.envVar, env)),
    entitlements: new DynamoEntitlements(dynamo, requireEnv(TABLES.Entitlements.envVar, env)),
    tariffs: new DynamoTariffs(dynamo, requireEnv(TABLES.Tariffs.envVar, env)),
    sessions: new DynamoSessionStore(dynamo, requireEnv(TABLES.Sessions.envVar, env)),
  };
  return {
    ...stores,
    stores,
    events: new EventBridgePublisher(new EventBridgeClient({}), requireEnv('EVENT_BUS_NAME', env)),
    connections: new ApiGatewayConnections(new ApiGatewayManagementApiClient({ endpoint: requireEnv('OCPP_CONNECTIONS_ENDPOINT', env) })),
    clock: systemClock,
    config: {
      // API Gateway drops a connection idle for 10 minutes; a 5-minute heartbeat keeps it open.
      heartbeatIntervalSeconds: intFromEnv('OCPP_HEARTBEAT_INTERVAL_SECONDS', 300, env),
      idleCompletionLimitSeconds: intFromEnv('SESSION_IDLE_LIMIT_SECONDS', 4 * 3600, env),
    },
    log,
  };
}
