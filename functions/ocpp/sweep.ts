import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { log, logger } from '../shared/logger.ts';
import { createCentralSystem } from './central-system.ts';
import { ocppDepsFromEnv } from './deps.ts';

const system = createCentralSystem(ocppDepsFromEnv());

/**
 * Scheduled job (EventBridge Scheduler, every minute): completes stopped sessions whose connector
 * never reported Available within SESSION_IDLE_LIMIT_SECONDS.
 */
export const handler = middy(async () => {
  const completed = await system.completeIdleSessions();
  log.info('idle-session sweep finished', { completed });
  return { completed };
}).use(injectLambdaContext(logger));
