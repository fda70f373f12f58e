import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { TABLES } from '../../lib/tables.ts';
import { systemClock } from '../shared/clock.ts';
import { requireEnv } from '../shared/env.ts';
import { EventBridgePublisher } from '../shared/event-publisher.ts';
import { log } from '../shared/logger.ts';
import type Stripe from 'stripe';
import { accountingWebhookFromEnv, buildAccountingDeps, syncConfigFromEnv } from './deps.ts';

/**
 * The accounting functions' dependencies from the environment (LEDGER_TABLE, SESSIONS_TABLE,
 * EVENT_BUS_NAME; the webhook secret on first use only, so the ledger consumer never reads a
 * secret; Stripe, for reconciliation, from the caller).
 */
export function accountingDepsFromEnv(options: { stripe?: () => Promise<Stripe> } = {}, env: NodeJS.ProcessEnv = process.env) {
  // The Stripe client comes from the caller, so the ledger and sync bundles carry no Stripe SDK.
  const stripe = options.stripe;
  return buildAccountingDeps({
    dynamo: new DynamoDBClient({}),
    ledgerTable: requireEnv(TABLES.Ledger.envVar, env),
    sessionsTable: requireEnv(TABLES.Sessions.envVar, env),
    events: new EventBridgePublisher(new EventBridgeClient({}), requireEnv('EVENT_BUS_NAME', env)),
    webhook: () => accountingWebhookFromEnv(env),
    ...(stripe ? { stripe } : {}),
    syncConfig: syncConfigFromEnv(env),
    clock: systemClock,
    log,
  });
}
