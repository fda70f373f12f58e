import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { EventBridgeEvent } from 'aws-lambda';
import { ConfigurationError } from '../shared/errors.ts';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import { RECONCILIATION_METRICS } from '../shared/metric-names.ts';
import { flushMetrics, MetricUnit } from '../shared/metrics.ts';
import type { MetricsBuffer, PlatformSource } from '../shared/platform.ts';
import { stripeFromEnv } from '../shared/stripe-client.ts';
import { composeAccounting } from './deps.ts';
import { unexplainedDifferences } from './domain/reconciliation.ts';

/**
 * Reconciliation: as the target of the ReconcilePaidPayouts rule (PayoutPaid) it reconciles that
 * payout; run by the daily schedule it reconciles yesterday (UTC), reports revenue assurance, and
 * emits the two numbers the alarms watch: sessions without a financial closure and unexplained
 * reconciliation differences (both should be 0).
 */
export function createHandler(platform: PlatformSource) {
  let metrics: MetricsBuffer | undefined;
  return middy(async (event: Partial<EventBridgeEvent<string, unknown>>) => {
    const p = platform();
    const deps = composeAccounting(p);
    metrics ??= p.metrics(RECONCILIATION_METRICS.service);
    if (event['detail-type'] === 'PayoutPaid') return deps.consumers.reconciliation(event as EventBridgeEvent<string, unknown>);
    const yesterday = new Date(p.clock.now().getTime() - 86_400_000).toISOString().slice(0, 10);
    if (!deps.reconciler) throw new ConfigurationError('the daily reconciliation needs Stripe: STRIPE_SECRETS_ARN or STRIPE_SECRET_KEY');
    const report = await deps.reconciler.reconcileDay(yesterday);
    const assurance = await deps.revenueAssurance.report();
    const unexplained = unexplainedDifferences(report.counts);
    try {
      metrics.addMetric(RECONCILIATION_METRICS.sessionsWithoutClosure, MetricUnit.Count, assurance.open.length);
      metrics.addMetric(RECONCILIATION_METRICS.unexplainedDifferences, MetricUnit.Count, unexplained);
    } finally {
      flushMetrics(metrics);
    }
    p.log.info('daily reconciliation', { date: yesterday, counts: report.counts, explained: report.explained, unexplained, openSessions: assurance.open.length, byStage: assurance.byStage });
    return { date: yesterday, counts: report.counts, explained: report.explained, unexplained, openSessions: assurance.open.length };
  }).use(injectLambdaContext(logger));
}

/** Lambda of the ReconcilePaidPayouts rule and the daily reconciliation schedule; Stripe from its secrets. */
export const handler = createHandler(lambdaPlatform({ stripeClient: stripeFromEnv }));
