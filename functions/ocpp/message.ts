import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import { OCPP_METRICS } from '../shared/metric-names.ts';
import { flushMetrics, MetricUnit } from '../shared/metrics.ts';
import type { MetricsBuffer, PlatformSource } from '../shared/platform.ts';
import type { CentralSystem } from './central-system.ts';
import { composeOcpp } from './deps.ts';
import { onMessage, type WebSocketEvent } from './websocket-events.ts';

/**
 * `$default` over a platform (Lambda's, or the local stack's WebSocket gateway). Per invocation at
 * most one metric: the Authorize latency, or a CALLERROR count (an Authorize answered with a
 * CALLERROR gives both). Nothing for the other answers: the hot path stays a GetItem and a frame.
 * The latency is measured from the start of the invocation being served: exact on Lambda (one
 * invocation at a time per instance), approximate in the local stack, which serves many at once.
 */
export function createHandler(platform: PlatformSource) {
  let receivedAt = 0;
  let wired: { system: CentralSystem; metrics: MetricsBuffer } | undefined;
  const wire = () => {
    const p = platform();
    const metrics = p.metrics(OCPP_METRICS.service);
    const ocpp = composeOcpp(p);
    ocpp.observe({
      answered(action, errorCode) {
        if (action === 'Authorize') metrics.addMetric(OCPP_METRICS.authorizeLatency, MetricUnit.Milliseconds, performance.now() - receivedAt);
        if (errorCode !== undefined) metrics.addMetric(OCPP_METRICS.callErrors, MetricUnit.Count, 1);
      },
    });
    return { system: ocpp.system, metrics };
  };
  return middy(async (event: WebSocketEvent) => {
    receivedAt = performance.now();
    wired ??= wire();
    try {
      return await onMessage(wired.system, event);
    } finally {
      flushMetrics(wired.metrics);
    }
  }).use(injectLambdaContext(logger));
}

/** Lambda for the WebSocket API's `$default` route. */
export const handler = createHandler(lambdaPlatform());
