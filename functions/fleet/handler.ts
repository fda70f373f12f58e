import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import { systemClock } from '../shared/clock.ts';
import { requireEnv } from '../shared/env.ts';
import { log, logger } from '../shared/logger.ts';
import { createFleetConsumer } from './consumer.ts';
import { buildFleetBilling, NO_EVENTS } from './deps.ts';

const billing = buildFleetBilling({
  dynamo: new DynamoDBClient({}),
  tables: { Fleet: requireEnv('FLEET_TABLE'), Entitlements: requireEnv('ENTITLEMENTS_TABLE') },
  events: NO_EVENTS,
  clock: systemClock,
  log,
});
const consume = createFleetConsumer(billing);

/** Lambda target of the AccrueFleetSessions rule (SessionPriced -> fleet accrual). */
export const handler = middy((event: EventBridgeEvent<string, unknown>) => consume(event)).use(injectLambdaContext(logger));
