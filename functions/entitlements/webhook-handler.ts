import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { HttpEvent } from '../admin/http.ts';
import { systemClock } from '../shared/clock.ts';
import { log, logger } from '../shared/logger.ts';
import { membershipDepsFromEnv } from './deps.ts';
import { createStripeWebhook, membershipEventHandlers } from './stripe-webhook.ts';

// Built once per container; the secrets extension is read on the first (cold) invocation only.
const webhook = membershipDepsFromEnv(log).then(({ store, sync, secrets }) =>
  createStripeWebhook({ secret: secrets.webhookSecret, handlers: membershipEventHandlers(sync), store, clock: systemClock, log }),
);

/** Lambda behind `POST /webhooks/stripe` on the webhook HTTP API (no auth: the Stripe signature is the auth). */
export const handler = middy(async (event: HttpEvent) => (await webhook)(event)).use(injectLambdaContext(logger));
