import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { HttpEvent, HttpResult } from '../shared/http.ts';
import { paymentDepsFromEnv } from '../payments/deps.ts';
import { mergeHandlers } from '../payments/stripe-money-events.ts';
import { paymentEventHandlers } from '../payments/webhook-handlers.ts';
import { systemClock } from '../shared/clock.ts';
import { log, logger } from '../shared/logger.ts';
import { once } from '../shared/once.ts';
import { membershipDepsFromEnv } from './deps.ts';
import { createStripeWebhook, membershipEventHandlers } from './stripe-webhook.ts';

// Built on the first invocation (the secrets extension only answers inside one) and kept warm.
const webhook = once(async () => {
  const [{ store, sync, secrets }, payments] = await Promise.all([membershipDepsFromEnv(log), paymentDepsFromEnv(log)]);
  const handlers = mergeHandlers(
    membershipEventHandlers(sync),
    paymentEventHandlers({ payment: payments.payment, stripe: payments.stripe, events: payments.ocpp.events, clock: systemClock, log }),
  );
  return createStripeWebhook({ secret: secrets.webhookSecret, handlers, store, clock: systemClock, log });
});

/** Lambda behind `POST /webhooks/stripe` on the webhook HTTP API (no authorizer: the Stripe signature is the authentication). */
export const handler = middy(async (event: HttpEvent): Promise<HttpResult> => (await webhook())(event)).use(injectLambdaContext(logger));
