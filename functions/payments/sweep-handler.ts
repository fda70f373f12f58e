import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { once } from '../shared/once.ts';
import { log, logger } from '../shared/logger.ts';
import { paymentDepsFromEnv } from './deps.ts';

const readers = once(async () => (await paymentDepsFromEnv(log)).payment.readers);

/** Every minute (EventBridge Scheduler): releases card authorizations at readers that no session claimed within the window. */
export const handler = middy(async () => ({ released: await (await readers()).releaseUnmatched() })).use(injectLambdaContext(logger));
