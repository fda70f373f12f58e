import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logger } from '../shared/logger.ts';
import { OCPP_METRICS } from '../shared/metric-names.ts';
import { createMetrics, flushMetrics, MetricUnit } from '../shared/metrics.ts';
import { createCentralSystem, type CallObserver } from './central-system.ts';
import { ocppDepsFromEnv } from './deps.ts';
import { onMessage, type WebSocketEvent } from './websocket-events.ts';

const metrics = createMetrics(OCPP_METRICS.service);
/** When the invocation being served started (one invocation at a time per Lambda instance). */
let receivedAt = 0;

/**
 * Per invocation at most one metric: the Authorize latency, or a CALLERROR count (an Authorize
 * answered with a CALLERROR gives both). Nothing for the other answers: the hot path stays a
 * GetItem and a frame.
 */
export const observer: CallObserver = {
  answered(action, errorCode) {
    if (action === 'Authorize') metrics.addMetric(OCPP_METRICS.authorizeLatency, MetricUnit.Milliseconds, performance.now() - receivedAt);
    if (errorCode !== undefined) metrics.addMetric(OCPP_METRICS.callErrors, MetricUnit.Count, 1);
  },
};

const system = createCentralSystem({ ...ocppDepsFromEnv(), observer });

/** Lambda for the WebSocket API's `$default` route. */
export const handler = middy(async (event: WebSocketEvent) => {
  receivedAt = performance.now();
  try {
    return await onMessage(system, event);
  } finally {
    flushMetrics(metrics);
  }
}).use(injectLambdaContext(logger));
