import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { log, logger } from '../shared/logger.ts';
import { systemClock } from '../shared/clock.ts';
import { accountingDepsFromEnv } from './handlers.ts';
import { stripeSecretsFromEnv } from '../entitlements/deps.ts';
import { stripeFromEnv } from '../entitlements/adapters/stripe-subscriptions.ts';

const deps = accountingDepsFromEnv({ stripe: async () => stripeFromEnv(process.env, (await stripeSecretsFromEnv()).secretKey) });

/**
 * Reconciliation: as the target of the ReconcilePaidPayouts rule (PayoutPaid) it reconciles that
 * payout; run by the daily schedule it reconciles yesterday (UTC) and reports revenue assurance.
 */
export const handler = middy(async (event: Partial<EventBridgeEvent<string, unknown>>) => {
  if (event['detail-type'] === 'PayoutPaid') return deps.consumers.reconciliation(event as EventBridgeEvent<string, unknown>);
  const yesterday = new Date(systemClock.now().getTime() - 86_400_000).toISOString().slice(0, 10);
  const report = await deps.reconciler!.reconcileDay(yesterday);
  const assurance = await deps.revenueAssurance.report();
  log.info('daily reconciliation', { date: yesterday, counts: report.counts, explained: report.explained, openSessions: assurance.open.length, byStage: assurance.byStage });
  return { date: yesterday, counts: report.counts, explained: report.explained, openSessions: assurance.open.length };
}).use(injectLambdaContext(logger));
