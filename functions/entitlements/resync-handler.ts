import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { log, logger } from '../shared/logger.ts';
import { once } from '../shared/once.ts';
import { membershipDepsFromEnv } from './deps.ts';

const deps = once(() => membershipDepsFromEnv(log));

/**
 * The scheduled full resync (hourly): repairs whatever lost webhooks left wrong and logs the report.
 * Throws when a driver could not be refreshed, so the failure shows in the function's error metric.
 */
export const handler = middy(async () => {
  const report = await (await deps()).sync.resyncMemberships();
  log.info('membership resync done', { checked: report.checked, subscriptions: report.subscriptions, changed: report.changed, failed: report.failed });
  if (report.failed.length) throw new Error(`membership resync failed for ${report.failed.length} driver(s)`);
  return report;
}).use(injectLambdaContext(logger));
