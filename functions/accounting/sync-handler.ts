import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { logger } from '../shared/logger.ts';
import { accountingDepsFromEnv } from './handlers.ts';

const deps = accountingDepsFromEnv();

/** Lambda target of the PushJournalEntriesToAccounting rule: each entry to the accounting webhook (retries, then a dead letter). */
export const handler = middy((event: EventBridgeEvent<string, unknown>) => deps.consumers['accounting-sync'](event)).use(injectLambdaContext(logger));
