import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableNames } from '../../lib/tables.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { perPlatform, type Platform } from '../shared/platform.ts';
import { DynamoPriceStore } from './adapters/dynamo-prices.ts';
import { DynamoSessionSource } from './adapters/dynamo-sessions.ts';
import { DynamoStatusTimeline } from './adapters/dynamo-status-timeline.ts';
import { DynamoTariffVersions } from './adapters/dynamo-tariffs.ts';
import { createPricingConsumer } from './consumer.ts';
import type { PriceReader, PricingEventPort } from './domain/ports.ts';

/** Pricing's ports over the shared tables: the sessions, statuses and tariffs it reads, the price it owns. */
export function createPricingStores(dynamo: DynamoDBClient, tables: Pick<TableNames, 'Sessions' | 'Registry' | 'Tariffs'>) {
  return {
    sessions: new DynamoSessionSource(dynamo, tables.Sessions),
    statuses: new DynamoStatusTimeline(dynamo, tables.Registry),
    tariffs: new DynamoTariffVersions(dynamo, tables.Tariffs),
    prices: new DynamoPriceStore(dynamo, tables.Sessions),
  };
}

/** Reads stored prices: how other contexts' composition roots (the admin API) get a session's price. */
export function createPriceReader(dynamo: DynamoDBClient, tables: Pick<TableNames, 'Sessions'>): PriceReader {
  return new DynamoPriceStore(dynamo, tables.Sessions);
}

/** The pricing consumer (SessionCompleted -> SessionPriced) over the Sessions, Registry and Tariffs tables. */
export function buildPricingConsumer(input: {
  dynamo: DynamoDBClient;
  tables: Pick<TableNames, 'Sessions' | 'Registry' | 'Tariffs'>;
  events: PricingEventPort;
  clock: Clock;
  log: Log;
}) {
  return createPricingConsumer({ ...createPricingStores(input.dynamo, input.tables), events: input.events, clock: input.clock, log: input.log });
}

/** The pricing context's composition root over a platform: its consumer and its ports. Built once per platform. */
export const composePricing = perPlatform((platform: Platform) => {
  const stores = createPricingStores(platform.dynamo, platform.tables);
  return { ...stores, consumer: createPricingConsumer({ ...stores, events: platform.events, clock: platform.clock, log: platform.log }) };
});
