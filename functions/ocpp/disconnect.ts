import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logger } from '../shared/logger.ts';
import { createCentralSystem } from './central-system.ts';
import { ocppDepsFromEnv } from './deps.ts';
import { onDisconnect, type WebSocketEvent } from './websocket-events.ts';

const system = createCentralSystem(ocppDepsFromEnv());

/** Lambda for the WebSocket API's `$disconnect` route. */
export const handler = middy((event: WebSocketEvent) => onDisconnect(system, event)).use(injectLambdaContext(logger));
