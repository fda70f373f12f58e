import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { PayoutPaid } from '../../events/payment-events.ts';
import type { Clock } from '../shared/clock.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { type Env, intFromEnv } from '../shared/env.ts';
import { perPlatform, type Platform } from '../shared/platform.ts';
import type { Log } from '../shared/log.ts';
import { DynamoCompletedSessions } from './adapters/dynamo-completed-sessions.ts';
import { DynamoLedgerStore } from './adapters/dynamo-ledger.ts';
import { lazySettlementSource, StripeSdkSettlementSource } from './adapters/stripe-settlement.ts';
import { SignedWebhookSink, type AccountingSink } from './adapters/webhook-sink.ts';
import { createLedgerConsumer } from './consumer.ts';
import { createLedger, type EntryPublisher } from './ledger.ts';
import { createReconciler } from './reconciler.ts';
import { createRevenueAssurance } from './revenue-assurance.ts';
import { createAccountingSync, type PayloadFormat, type SyncConfig } from './sync.ts';

/** Where entries are pushed: the webhook URL and its signing secret. */
export interface AccountingWebhook {
  url: string;
  secret: string;
}

/** A sink for when no accounting system is configured: every entry waits as a dead letter for a replay. */
const unconfiguredSink: AccountingSink = {
  deliver: () => Promise.reject(new Error('no accounting webhook configured (ACCOUNTING_WEBHOOK_URL / ACCOUNTING_SECRETS_ARN)')),
};

/** The ledger, the accounting sync, reconciliation and revenue assurance from explicit clients (local stack, tests, Lambdas). */
export function buildAccountingDeps(input: {
  dynamo: DynamoDBClient;
  ledgerTable: string;
  sessionsTable: string;
  events: EntryPublisher;
  webhook?: AccountingWebhook | (() => Promise<AccountingWebhook | undefined>);
  /** Stripe for reconciliation: a client, or a factory called on first use. */
  stripe?: Stripe | (() => Promise<Stripe>);
  syncConfig?: Partial<SyncConfig>;
  clock: Clock;
  log: Log;
  sleep?: (ms: number) => Promise<void>;
}) {
  const { clock, log } = input;
  const store = new DynamoLedgerStore(input.dynamo, input.ledgerTable);
  const ledger = createLedger({ store, events: input.events, clock, log });
  let sink: Promise<AccountingSink> | undefined;
  const resolveSink = () =>
    (sink ??= (async () => {
      const webhook = typeof input.webhook === 'function' ? await input.webhook() : input.webhook;
      return webhook ? new SignedWebhookSink({ url: webhook.url, secret: webhook.secret, clock }) : unconfiguredSink;
    })().catch((error) => {
      sink = undefined;
      throw error;
    }));
  const sync = createAccountingSync({ store, sink: { deliver: async (d) => (await resolveSink()).deliver(d) }, clock, log, config: input.syncConfig, sleep: input.sleep });
  const stripe = input.stripe;
  const reconciler = stripe
    ? createReconciler({ store, stripe: typeof stripe === 'function' ? lazySettlementSource(stripe) : new StripeSdkSettlementSource(stripe), clock, log })
    : undefined;
  const revenueAssurance = createRevenueAssurance({ store, sessions: new DynamoCompletedSessions(input.dynamo, input.sessionsTable), clock });
  return {
    store,
    ledger,
    sync,
    reconciler,
    revenueAssurance,
    /** Handlers of the consumers named in events/routing.ts. */
    consumers: {
      ledger: createLedgerConsumer(ledger),
      'accounting-sync': (event: EventBridgeEvent<string, unknown>) => sync.onEntryPosted(event),
      reconciliation: async (event: EventBridgeEvent<string, unknown>) => {
        if (!reconciler) {
          log.warn('payout paid, but no Stripe is configured to reconcile it');
          return;
        }
        const { data } = PayoutPaid.envelope.parse(event.detail);
        await reconciler.reconcilePayout(data.payoutId);
      },
    },
  };
}

export type AccountingDeps = ReturnType<typeof buildAccountingDeps>;

/** Sync settings from the environment: ACCOUNTING_PAYLOAD_FORMAT, ACCOUNTING_MAX_ATTEMPTS, ACCOUNTING_RETRY_BASE_MS, XERO_BASE_CURRENCY. */
export function syncConfigFromEnv(env: Env = process.env): Partial<SyncConfig> {
  const format = (env.ACCOUNTING_PAYLOAD_FORMAT || 'voltledger') as PayloadFormat;
  if (!['voltledger', 'quickbooks', 'xero'].includes(format)) throw new ConfigurationError(`ACCOUNTING_PAYLOAD_FORMAT must be voltledger, quickbooks or xero, got "${format}"`);
  return {
    format,
    maxAttempts: intFromEnv('ACCOUNTING_MAX_ATTEMPTS', 5, env),
    baseDelayMs: intFromEnv('ACCOUNTING_RETRY_BASE_MS', 500, env),
    ...(env.XERO_BASE_CURRENCY ? { xeroBaseCurrency: env.XERO_BASE_CURRENCY } : {}),
    ...(env.XERO_TRACKING_CATEGORY ? { xeroTrackingCategory: env.XERO_TRACKING_CATEGORY } : {}),
  };
}

/**
 * The accounting context's composition root: the ledger, the sync, reconciliation (when the
 * platform has Stripe) and revenue assurance over the platform's tables, bus and accounting
 * webhook; sync settings from ACCOUNTING_* (syncConfigFromEnv) under the caller's overrides (and
 * another Stripe client for reconciliation, when the caller reconciles against one). Built
 * once per platform: by the local stack first, with its overrides, else by the first invocation.
 */
export const composeAccounting = perPlatform((platform: Platform, overrides: { syncConfig?: Partial<SyncConfig>; stripe?: Stripe } = {}) => {
  const stripe = platform.stripe;
  return buildAccountingDeps({
    dynamo: platform.dynamo,
    ledgerTable: platform.tables.Ledger,
    sessionsTable: platform.tables.Sessions,
    events: platform.events,
    webhook: platform.accountingWebhook,
    ...(overrides.stripe ? { stripe: overrides.stripe } : stripe ? { stripe: () => stripe.client() } : {}),
    syncConfig: { ...syncConfigFromEnv(platform.env), ...overrides.syncConfig },
    clock: platform.clock,
    log: platform.log,
  });
});
