import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { once } from '../shared/once.ts';
import { log, logger } from '../shared/logger.ts';
import { createPaymentsConsumer } from './consumer.ts';
import { paymentDepsFromEnv } from './deps.ts';

// Built on the first invocation (the secrets extension only answers inside one) and kept warm.
const consumer = once(async () => createPaymentsConsumer((await paymentDepsFromEnv(log)).payment.payments));

/** Lambda target of the ChargeCardSessions rule: SessionStarted (hold), SessionMeterValues (running cost), SessionPriced (capture). */
export const handler = middy(async (event: EventBridgeEvent<string, unknown>) => (await consumer())(event)).use(injectLambdaContext(logger));
