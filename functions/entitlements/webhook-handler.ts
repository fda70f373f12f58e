import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { HttpEvent, HttpResult } from '../shared/http.ts';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { stripeFromEnv } from '../shared/stripe-client.ts';
import { composeStripeWebhook } from './webhook-deps.ts';

const NOT_CONFIGURED: HttpResult = {
  statusCode: 503,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error: 'StripeNotConfigured', message: 'set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET' }),
};

/** `POST /webhooks/stripe` over a platform (Lambda's, or the local stack's); 503 when no Stripe is configured. */
export function createHandler(platform: PlatformSource) {
  return middy(async (event: HttpEvent): Promise<HttpResult> => {
    const webhook = await composeStripeWebhook(platform());
    return webhook ? webhook(event) : NOT_CONFIGURED;
  }).use(injectLambdaContext(logger));
}

/** Lambda behind `POST /webhooks/stripe` on the webhook HTTP API (no authorizer: the Stripe signature is the authentication). */
export const handler = createHandler(lambdaPlatform({ stripeClient: stripeFromEnv }));
