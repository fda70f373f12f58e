import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { stripeFromEnv } from '../shared/stripe-client.ts';
import { createPaymentsConsumer } from './consumer.ts';
import { requirePayments } from './deps.ts';

/** The ChargeCardSessions consumer over a platform (Lambda's, or the local stack's). */
export function createHandler(platform: PlatformSource) {
  return middy(async (event: EventBridgeEvent<string, unknown>) => createPaymentsConsumer((await requirePayments(platform())).payments)(event)).use(
    injectLambdaContext(logger),
  );
}

/** Lambda target of the ChargeCardSessions rule: SessionStarted (hold), SessionMeterValues (running cost), SessionPriced (capture). */
export const handler = createHandler(lambdaPlatform({ stripeClient: stripeFromEnv }));
