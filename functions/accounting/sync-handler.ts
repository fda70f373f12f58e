import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { composeAccounting } from './deps.ts';

/** The PushJournalEntriesToAccounting consumer over a platform (Lambda's, or the local stack's). */
export function createHandler(platform: PlatformSource) {
  return middy((event: EventBridgeEvent<string, unknown>) => composeAccounting(platform()).consumers['accounting-sync'](event)).use(injectLambdaContext(logger));
}

/** Lambda target of the PushJournalEntriesToAccounting rule: each entry to the accounting webhook (retries, then a dead letter). */
export const handler = createHandler(lambdaPlatform());
