import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logger } from '../shared/logger.ts';
import { createCentralSystem } from './central-system.ts';
import { ocppDepsFromEnv } from './deps.ts';
import { onMessage, type WebSocketEvent } from './websocket-events.ts';

const system = createCentralSystem(ocppDepsFromEnv());

/** Lambda for the WebSocket API's `$default` route. */
export const handler = middy((event: WebSocketEvent) => onMessage(system, event)).use(injectLambdaContext(logger));
