import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoMembershipStore } from '../entitlements/adapters/dynamo-memberships.ts';
import { stripeFromEnv } from '../entitlements/adapters/stripe-subscriptions.ts';
import { stripeSecretsFromEnv } from '../shared/stripe.ts';
import { systemClock } from '../shared/clock.ts';
import { requireEnv } from '../shared/env.ts';
import { EventBridgePublisher } from '../shared/event-publisher.ts';
import { log, logger } from '../shared/logger.ts';
import { buildFleetBilling } from './deps.ts';
import { createStatementRun } from './statement-run.ts';

const dynamo = new DynamoDBClient({});
const tables = { Fleet: requireEnv('FLEET_TABLE'), Entitlements: requireEnv('ENTITLEMENTS_TABLE') };
const run = createStatementRun({
  // Stripe (invoices) is read on the first issue; FleetStatementIssued goes to the bus for the ledger.
  billing: buildFleetBilling({
    dynamo,
    tables,
    stripe: async () => stripeFromEnv(process.env, (await stripeSecretsFromEnv()).secretKey),
    events: new EventBridgePublisher(new EventBridgeClient({}), requireEnv('EVENT_BUS_NAME')),
    clock: systemClock,
    log,
  }),
  accounts: new DynamoMembershipStore(dynamo, tables.Entitlements),
  clock: systemClock,
  log,
});

/**
 * The monthly fleet statement run (EventBridge Scheduler, the 1st of each month): last month's
 * statement for every fleet account. `{"period": "YYYY-MM"}` as the input re-runs a given month.
 * Throws when an account failed for a transient reason, after trying every account, so the
 * scheduler retries (issued accounts are skipped) and the function's error alarm fires.
 */
export const handler = middy(async (event: { period?: string } | undefined) => {
  const report = await run.run(typeof event?.period === 'string' ? { period: event.period } : {});
  log.info('fleet statement run done', { period: report.period, counts: report.counts });
  const failed = report.accounts.filter((a) => a.outcome === 'failed');
  if (failed.length) throw new Error(`fleet statements for ${report.period}: ${failed.length} account(s) failed (${failed.map((a) => a.accountId).join(', ')}); the retry resumes them`);
  return report;
}).use(injectLambdaContext(logger));
