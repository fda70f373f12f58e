import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { createMetrics } from '../../functions/shared/metrics.ts';
import type { MetricsBuffer } from '../../functions/shared/platform.ts';
import type { Log } from '../../functions/shared/log.ts';

/**
 * The little of the Lambda runtime the local stack needs to invoke the real handler modules: a
 * Lambda-shaped context per invocation (the middy chain's logger middleware reads it) and a metrics
 * sink that keeps what the handlers publish instead of printing Embedded Metric Format lines.
 */

/** A context for one local invocation of `functionName`, with the deployed functions' 30 s default timeout. */
export function localContext(functionName: string, timeoutMs = 30_000): Context {
  const deadline = performance.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** One flush of a handler's metrics, as CloudWatch would receive it. */
export interface PublishedMetrics {
  service: string;
  /** The Embedded Metric Format document Powertools would have written to the log. */
  emf: Record<string, unknown>;
}

/**
 * Metrics for the local stack: Powertools' own buffer and serialization, but each flush is kept
 * (the newest `limit`) and logged at debug level rather than printed.
 */
export class LocalMetricsSink {
  private readonly flushed: PublishedMetrics[] = [];

  constructor(
    private readonly log: Log,
    private readonly limit = 1000,
  ) {}

  /** A buffer for one service (the platform's `metrics`). */
  buffer(service: string): MetricsBuffer {
    const inner = createMetrics(service);
    return {
      addMetric: (name, unit, value) => inner.addMetric(name, unit, value),
      hasStoredMetrics: () => inner.hasStoredMetrics(),
      publishStoredMetrics: () => {
        if (!inner.hasStoredMetrics()) return;
        const emf = inner.serializeMetrics() as unknown as Record<string, unknown>;
        inner.clearMetrics();
        inner.clearDimensions();
        inner.clearMetadata();
        this.flushed.push({ service, emf });
        if (this.flushed.length > this.limit) this.flushed.splice(0, this.flushed.length - this.limit);
        this.log.debug('metrics', { service, emf });
      },
    };
  }

  /** What the handlers have published, oldest first. */
  published(): readonly PublishedMetrics[] {
    return this.flushed;
  }
}
