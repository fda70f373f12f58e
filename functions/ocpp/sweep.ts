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
    const completed = await composeOcpp(p).system.completeIdleSessions();
    p.log.info('idle-session sweep finished', { completed });
    return { completed };
  }).use(injectLambdaContext(logger));
}

/**
 * Scheduled job (EventBridge Scheduler, every minute): completes stopped sessions whose connector
 * never reported Available within SESSION_IDLE_LIMIT_SECONDS.
 */
export const handler = createHandler(lambdaPlatform());
