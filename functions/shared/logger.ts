import { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from './log.ts';

/**
 * The process-wide structured logger (Powertools). Level from POWERTOOLS_LOG_LEVEL. Handlers log
 * identities and outcomes, never passwords, Authorization headers or card data.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'voltledger' });

/** The Powertools logger behind the domain's Log interface. */
export const log: Log = {
  debug: (message, extra) => (extra ? logger.debug(message, extra as never) : logger.debug(message)),
  info: (message, extra) => (extra ? logger.info(message, extra as never) : logger.info(message)),
  warn: (message, extra) => (extra ? logger.warn(message, extra as never) : logger.warn(message)),
  error: (message, extra) => (extra ? logger.error(message, extra as never) : logger.error(message)),
};
