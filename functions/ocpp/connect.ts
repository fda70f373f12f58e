import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logger } from '../shared/logger.ts';
import { createCentralSystem } from './central-system.ts';
import { ocppDepsFromEnv } from './deps.ts';
import { onConnect, type WebSocketEvent } from './websocket-events.ts';

const system = createCentralSystem(ocppDepsFromEnv());

/** Lambda for the WebSocket API's `$connect` route. */
export const handler = middy((event: WebSocketEvent) => onConnect(system, event)).use(injectLambdaContext(logger));
