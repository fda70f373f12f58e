import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from './metric-names.ts';
import type { MetricsBuffer } from './platform.ts';

export { MetricUnit } from '@aws-lambda-powertools/metrics';

/**
 * A Powertools Metrics buffer for one service: metrics are written as CloudWatch Embedded Metric
 * Format lines to the function's log (no API call) when flushed. Namespace and the `service`
 * dimension come from metric-names.ts, never from the environment, so they match the alarms.
 */
export function createMetrics(service: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service });
}

/** Flushes what was added during this invocation; nothing (not even Powertools' empty-buffer warning) when nothing was. */
export function flushMetrics(metrics: MetricsBuffer): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
