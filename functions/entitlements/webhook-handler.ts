import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { HttpEvent, HttpResult } from '../admin/http.ts';
import { systemClock } from '../shared/clock.ts';
import { log, logger } from '../shared/logger.ts';
import { membershipDepsFromEnv, once } from './deps.ts';
import { createStripeWebhook, membershipEventHandlers } from './stripe-webhook.ts';

// Built on the first invocation (the secrets extension only answers inside one) and kept warm.
const webhook = once(async () => {
  const { store, sync, secrets } = await membershipDepsFromEnv(log);
  return createStripeWebhook({ secret: secrets.webhookSecret, handlers: membershipEventHandlers(sync), store, clock: systemClock, log });
});

/** Lambda behind `POST /webhooks/stripe` on the webhook HTTP API (no authorizer: the Stripe signature is the authentication). */
export const handler = middy(async (event: HttpEvent): Promise<HttpResult> => (await webhook())(event)).use(injectLambdaContext(logger));
