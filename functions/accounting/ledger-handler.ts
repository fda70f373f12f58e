import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { logger } from '../shared/logger.ts';
import { accountingDepsFromEnv } from './handlers.ts';

const deps = accountingDepsFromEnv();

/** Lambda target of the BookMoneyEventsInLedger rule: money events -> journal entries -> JournalEntryPosted. */
export const handler = middy((event: EventBridgeEvent<string, unknown>) => deps.consumers.ledger(event)).use(injectLambdaContext(logger));
