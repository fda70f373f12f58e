import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { composePricing } from './deps.ts';

/** The PriceCompletedSessions consumer over a platform (Lambda's, or the local stack's). */
export function createHandler(platform: PlatformSource) {
  return middy((event: EventBridgeEvent<string, unknown>) => composePricing(platform()).consumer(event)).use(injectLambdaContext(logger));
}

/** Lambda target of the PriceCompletedSessions rule (SessionCompleted -> SessionPriced). */
export const handler = createHandler(lambdaPlatform());
