import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableNames } from '../../lib/tables.ts';
import { DynamoEntitlements } from '../ocpp/adapters/dynamo-entitlements.ts';
import { DynamoSessionStore } from '../ocpp/adapters/dynamo-sessions.ts';
import { DynamoTariffs } from '../ocpp/adapters/dynamo-tariffs.ts';
import type { EventPort } from '../ocpp/domain/ports.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { DynamoRoamingStore } from './adapters/dynamo-roaming.ts';
import { HttpCdrPusher } from './adapters/http-cdr-pusher.ts';
import type { CdrPusher } from './domain/ports.ts';
import { createRoaming, type RoamingDeps } from './roaming-service.ts';

/**
 * Roaming over the Roaming, Entitlements, Sessions and Tariffs tables, pushing CDRs over HTTP. The
 * OCPP context's stores serve roaming's ports (domain/ports.ts); this composition root is the one
 * place roaming names them.
 */
export function buildRoaming(input: {
  dynamo: DynamoDBClient;
  tables: Pick<TableNames, 'Roaming' | 'Entitlements' | 'Sessions' | 'Tariffs'>;
  events: EventPort;
  clock: Clock;
  log: Log;
  pusher?: CdrPusher;
  retry?: Pick<RoamingDeps, 'sleep' | 'retryDelaysMs'>;
}) {
  return createRoaming({
    store: new DynamoRoamingStore(input.dynamo, input.tables.Roaming),
    entitlements: new DynamoEntitlements(input.dynamo, input.tables.Entitlements),
    sessions: new DynamoSessionStore(input.dynamo, input.tables.Sessions),
    tariffs: new DynamoTariffs(input.dynamo, input.tables.Tariffs),
    pusher: input.pusher ?? new HttpCdrPusher(),
    events: input.events,
    clock: input.clock,
    log: input.log,
    ...input.retry,
  });
}
