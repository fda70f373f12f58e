import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { createFleetConsumer } from './consumer.ts';
import { composeFleet } from './deps.ts';

/** The AccrueFleetSessions consumer over a platform (Lambda's, or the local stack's). It publishes nothing. */
export function createHandler(platform: PlatformSource) {
  return middy((event: EventBridgeEvent<string, unknown>) => createFleetConsumer(composeFleet(platform()))(event)).use(injectLambdaContext(logger));
}

/** Lambda target of the AccrueFleetSessions rule (SessionPriced -> fleet accrual). */
export const handler = createHandler(lambdaPlatform());
