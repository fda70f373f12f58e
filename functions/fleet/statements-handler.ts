import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { stripeFromEnv } from '../shared/stripe-client.ts';
import { composeStatementRun } from './deps.ts';

/** The statement run over a platform: invoices through its Stripe (read on the first issue), FleetStatementIssued on its bus. */
export function createHandler(platform: PlatformSource) {
  return middy(async (event: { period?: string } | undefined) => {
    const p = platform();
    const report = await composeStatementRun(p).run(typeof event?.period === 'string' ? { period: event.period } : {});
    p.log.info('fleet statement run done', { period: report.period, counts: report.counts });
    const failed = report.accounts.filter((a) => a.outcome === 'failed');
    if (failed.length) throw new Error(`fleet statements for ${report.period}: ${failed.length} account(s) failed (${failed.map((a) => a.accountId).join(', ')}); the retry resumes them`);
    return report;
  }).use(injectLambdaContext(logger));
}

/**
 * The monthly fleet statement run (EventBridge Scheduler, the 1st of each month): last month's
 * statement for every fleet account. `{"period": "YYYY-MM"}` as the input re-runs a given month.
 * Throws when an account failed for a transient reason, after trying every account, so the
 * scheduler retries (issued accounts are skipped) and the function's error alarm fires.
 */
export const handler = createHandler(lambdaPlatform({ stripeClient: stripeFromEnv }));
