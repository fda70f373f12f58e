import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { systemClock } from '../shared/clock.ts';
import { log, logger } from '../shared/logger.ts';
import { ocppDepsFromEnv } from '../ocpp/deps.ts';
import { createPricingConsumer } from './consumer.ts';

const deps = ocppDepsFromEnv();
const consume = createPricingConsumer({ stores: deps.stores, events: deps.events, clock: systemClock, log });

/** Lambda target of the PriceCompletedSessions rule (SessionCompleted -> SessionPriced). */
export const handler = middy((event: EventBridgeEvent<string, unknown>) => consume(event)).use(injectLambdaContext(logger));
