import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { stripeFromEnv } from '../shared/stripe-client.ts';
import { composeMemberships } from './deps.ts';

/** The membership resync over a platform. */
export function createHandler(platform: PlatformSource) {
  return middy(async () => {
    const p = platform();
    const report = await composeMemberships(p).sync.resyncMemberships();
    p.log.info('membership resync done', { checked: report.checked, subscriptions: report.subscriptions, changed: report.changed, failed: report.failed });
    if (report.failed.length) throw new Error(`membership resync failed for ${report.failed.length} driver(s)`);
    return report;
  }).use(injectLambdaContext(logger));
}

/**
 * The scheduled full resync (hourly): repairs whatever lost webhooks left wrong and logs the report.
 * Throws when a driver could not be refreshed, so the failure shows in the function's error metric.
 */
export const handler = createHandler(lambdaPlatform({ stripeClient: stripeFromEnv }));
