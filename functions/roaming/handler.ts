import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent } from 'aws-lambda';
import { systemClock } from '../shared/clock.ts';
import { requireEnv } from '../shared/env.ts';
import { EventBridgePublisher } from '../shared/event-publisher.ts';
import { log, logger } from '../shared/logger.ts';
import { createRoamingConsumer } from './consumer.ts';
import { buildRoaming } from './deps.ts';

const roaming = buildRoaming({
  dynamo: new DynamoDBClient({}),
  tables: { Roaming: requireEnv('ROAMING_TABLE'), Entitlements: requireEnv('ENTITLEMENTS_TABLE'), Sessions: requireEnv('SESSIONS_TABLE'), Tariffs: requireEnv('TARIFFS_TABLE') },
  events: new EventBridgePublisher(new EventBridgeClient({}), requireEnv('EVENT_BUS_NAME')),
  clock: systemClock,
  log,
});
const consume = createRoamingConsumer(roaming);

/** Lambda target of the SendRoamingCdrs rule (SessionPriced -> OCPI CDR -> partner -> RoamingCdrAccepted). */
export const handler = middy((event: EventBridgeEvent<string, unknown>) => consume(event)).use(injectLambdaContext(logger));
