import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { composeOcpp } from './deps.ts';

/** The idle-session sweep over a platform (Lambda's schedule, or the local stack's timer). */
export function createHandler(platform: PlatformSource) {
  return middy(async () => {
    const p = platform();
    const { system } = composeOcpp(p);
    // Stale sessions first: a session closed now is completed at once (never waits for the idle limit).
    const closedWithoutStop = await system.closeStaleSessions();
    const completed = await system.completeIdleSessions();
    p.log.info('idle-session sweep finished', { completed, closedWithoutStop });
    return { completed, closedWithoutStop };
  }).use(injectLambdaContext(logger));
}

/**
 * Scheduled job (EventBridge Scheduler, every minute): completes stopped sessions whose connector
 * never reported Available within SESSION_IDLE_LIMIT_SECONDS, and closes started sessions with no
 * stop past SESSION_MAX_OPEN_HOURS (docs/sessions.md).
 */
export const handler = createHandler(lambdaPlatform());
