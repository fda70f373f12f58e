import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { createRoamingConsumer } from './consumer.ts';
import { composeRoaming } from './deps.ts';

/** The SendRoamingCdrs consumer over a platform (Lambda's, or the local stack's). */
export function createHandler(platform: PlatformSource) {
  return middy((event: EventBridgeEvent<string, unknown>) => createRoamingConsumer(composeRoaming(platform()))(event)).use(injectLambdaContext(logger));
}

/** Lambda target of the SendRoamingCdrs rule (SessionPriced -> OCPI CDR -> partner -> RoamingCdrAccepted). */
export const handler = createHandler(lambdaPlatform());
