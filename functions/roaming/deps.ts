import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableNames } from '../../lib/tables.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { perPlatform, type Platform } from '../shared/platform.ts';
import { DynamoEntitlementCache } from './adapters/dynamo-entitlement-cache.ts';
import { DynamoRoamingStore } from './adapters/dynamo-roaming.ts';
import { DynamoSessionPrices } from './adapters/dynamo-session-prices.ts';
import { DynamoTariffReader } from './adapters/dynamo-tariffs.ts';
import { HttpCdrPusher } from './adapters/http-cdr-pusher.ts';
import { pricingTariffRules } from './adapters/pricing-tariff-rules.ts';
import type { CdrPusher, RoamingEventPort } from './domain/ports.ts';
import { createRoaming, type RoamingDeps } from './roaming-service.ts';

/**
 * Roaming over the Roaming, Entitlements, Sessions and Tariffs tables, pushing CDRs over HTTP:
 * roaming's own adapters implement its ports (domain/ports.ts), the records of other contexts read
 * (and the entitlement cache written) in their layout, and pricing's engine behind TariffRules.
 */
export function buildRoaming(input: {
  dynamo: DynamoDBClient;
  tables: Pick<TableNames, 'Roaming' | 'Entitlements' | 'Sessions' | 'Tariffs'>;
  events: RoamingEventPort;
  clock: Clock;
  log: Log;
  pusher?: CdrPusher;
  retry?: Pick<RoamingDeps, 'sleep' | 'retryDelaysMs'>;
}) {
  return createRoaming({
    store: new DynamoRoamingStore(input.dynamo, input.tables.Roaming),
    entitlements: new DynamoEntitlementCache(input.dynamo, input.tables.Entitlements),
    sessions: new DynamoSessionPrices(input.dynamo, input.tables.Sessions),
    tariffs: new DynamoTariffReader(input.dynamo, input.tables.Tariffs),
    tariffRules: pricingTariffRules,
    pusher: input.pusher ?? new HttpCdrPusher(),
    events: input.events,
    clock: input.clock,
    log: input.log,
    ...input.retry,
  });
}

/** The roaming context's composition root over a platform; the caller may set the CDR push retries. Built once per platform. */
export const composeRoaming = perPlatform((platform: Platform, overrides: { retry?: Pick<RoamingDeps, 'sleep' | 'retryDelaysMs'> } = {}) =>
  buildRoaming({
    dynamo: platform.dynamo,
    tables: platform.tables,
    events: platform.events,
    clock: platform.clock,
    log: platform.log,
    ...(overrides.retry ? { retry: overrides.retry } : {}),
  }),
);
