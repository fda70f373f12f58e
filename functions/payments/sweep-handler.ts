import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { stripeFromEnv } from '../shared/stripe-client.ts';
import { requirePayments } from './deps.ts';

/** The reader-payment sweep over a platform (Lambda's schedule, or the local stack's timer). */
export function createHandler(platform: PlatformSource) {
  return middy(async () => ({ released: await (await requirePayments(platform())).readers.releaseUnmatched() })).use(injectLambdaContext(logger));
}

/** Every minute (EventBridge Scheduler): releases card authorizations at readers that no session claimed within the window. */
export const handler = createHandler(lambdaPlatform({ stripeClient: stripeFromEnv }));
