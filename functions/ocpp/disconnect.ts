import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { composeOcpp } from './deps.ts';
import { onDisconnect, type WebSocketEvent } from './websocket-events.ts';

/** `$disconnect` over a platform (Lambda's, or the local stack's WebSocket gateway). */
export function createHandler(platform: PlatformSource) {
  return middy((event: WebSocketEvent) => onDisconnect(composeOcpp(platform()).system, event)).use(injectLambdaContext(logger));
}

/** Lambda for the WebSocket API's `$disconnect` route. */
export const handler = createHandler(lambdaPlatform());
