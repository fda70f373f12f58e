import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { log, logger } from '../shared/logger.ts';
import { systemClock } from '../shared/clock.ts';
import { RECONCILIATION_METRICS } from '../shared/metric-names.ts';
import { createMetrics, flushMetrics, MetricUnit } from '../shared/metrics.ts';
import { accountingDepsFromEnv } from './handlers.ts';
import { unexplainedDifferences } from './domain/reconciliation.ts';
import { stripeSecretsFromEnv } from '../shared/stripe.ts';
import { stripeFromEnv } from '../entitlements/adapters/stripe-subscriptions.ts';

const deps = accountingDepsFromEnv({ stripe: async () => stripeFromEnv(process.env, (await stripeSecretsFromEnv()).secretKey) });
const metrics = createMetrics(RECONCILIATION_METRICS.service);

/**
 * Reconciliation: as the target of the ReconcilePaidPayouts rule (PayoutPaid) it reconciles that
 * payout; run by the daily schedule it reconciles yesterday (UTC), reports revenue assurance, and
 * emits the two numbers the alarms watch: sessions without a financial closure and unexplained
 * reconciliation differences (both should be 0).
 */
export const handler = middy(async (event: Partial<EventBridgeEvent<string, unknown>>) => {
  if (event['detail-type'] === 'PayoutPaid') return deps.consumers.reconciliation(event as EventBridgeEvent<string, unknown>);
  const yesterday = new Date(systemClock.now().getTime() - 86_400_000).toISOString().slice(0, 10);
  const report = await deps.reconciler!.reconcileDay(yesterday);
  const assurance = await deps.revenueAssurance.report();
  const unexplained = unexplainedDifferences(report.counts);
  try {
    metrics.addMetric(RECONCILIATION_METRICS.sessionsWithoutClosure, MetricUnit.Count, assurance.open.length);
    metrics.addMetric(RECONCILIATION_METRICS.unexplainedDifferences, MetricUnit.Count, unexplained);
  } finally {
    flushMetrics(metrics);
  }
  log.info('daily reconciliation', { date: yesterday, counts: report.counts, explained: report.explained, unexplained, openSessions: assurance.open.length, byStage: assurance.byStage });
  return { date: yesterday, counts: report.counts, explained: report.explained, unexplained, openSessions: assurance.open.length };
}).use(injectLambdaContext(logger));

