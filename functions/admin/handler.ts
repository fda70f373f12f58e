import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { HttpEvent } from '../shared/http.ts';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { stripeFromEnv } from '../shared/stripe-client.ts';
import { composeAdmin } from './deps.ts';

/** The admin HTTP API over a platform (Lambda's, or the local stack's HTTP server). */
export function createHandler(platform: PlatformSource) {
  return middy(async (event: HttpEvent) => (await composeAdmin(platform()))(event)).use(injectLambdaContext(logger));
}

/** Lambda behind the admin HTTP API (IAM auth); Stripe's secrets are read on the first request (the card payment routes are composed then). */
export const handler = createHandler(lambdaPlatform({ stripeClient: stripeFromEnv }));
