import type { FunctionSpec } from '../lib/function-spec.ts';
import type { EventContract } from './contract.ts';
import { JournalEntryPosted } from './accounting-events.ts';
import { FleetStatementIssued, RoamingCdrAccepted } from './billing-events.ts';
import { PayoutPaid, SessionPaymentSettled, STRIPE_MONEY_EVENTS } from './payment-events.ts';
import { SessionPriced } from './pricing-events.ts';
import { SessionCompleted, SessionMeterValues, SessionStarted } from './session-events.ts';

/**
 * Who consumes which events. The CDK stack turns each subscription into an EventBridge rule whose
 * targets are the consumer's Lambda; the local bus routes with the very same patterns. Consumers
 * are named, not imported, so this module stays free of handler code.
 */
export interface Subscription {
  /** Stable rule name (also the construct id in CDK). */
  readonly ruleName: string;
  /** Consumer function id, e.g. `pricing`; resolved to a handler by the local stack and to a Lambda by CDK. */
  readonly consumer: string;
  readonly events: readonly EventContract[];
}

/** EventBridge event pattern matching exactly the subscription's contracts. */
export function eventPatternFor(subscription: Pick<Subscription, 'events'>): {
  source: string[];
  'detail-type': string[];
} {
  const sources = [...new Set(subscription.events.map((e) => e.source))].sort();
  const detailTypes = [...new Set(subscription.events.map((e) => e.detailType))].sort();
  return { source: sources, 'detail-type': detailTypes };
}

/** Subscriptions in force; later capabilities (payments, accounting) add theirs here. */
export const SUBSCRIPTIONS: Subscription[] = [
  // A session is priced once it is over for billing (unplugged, or the idle limit passed).
  { ruleName: 'PriceCompletedSessions', consumer: 'pricing', events: [SessionCompleted] },
  // Card payments: the hold at start, the running cost against it, the capture once priced.
  { ruleName: 'ChargeCardSessions', consumer: 'payments', events: [SessionStarted, SessionMeterValues, SessionPriced] },
  // Fleet sessions accrue to their account's next statement; roaming sessions become OCPI CDRs.
  { ruleName: 'AccrueFleetSessions', consumer: 'fleet', events: [SessionPriced] },
  { ruleName: 'SendRoamingCdrs', consumer: 'roaming', events: [SessionPriced] },
  // Every money event becomes balanced journal entries (functions/accounting, docs/accounting.md).
  {
    ruleName: 'BookMoneyEventsInLedger',
    consumer: 'ledger',
    events: [SessionPriced, SessionPaymentSettled, ...STRIPE_MONEY_EVENTS, FleetStatementIssued, RoamingCdrAccepted],
  },
  // Each posted entry goes to the accounting system as it happens.
  { ruleName: 'PushJournalEntriesToAccounting', consumer: 'accounting-sync', events: [JournalEntryPosted] },
  // A payout that reached the bank is reconciled against its balance transactions.
  { ruleName: 'ReconcilePaidPayouts', consumer: 'reconciliation', events: [PayoutPaid] },
];

/**
 * The consumers the subscriptions name, by consumer id: the handler module (it exports
 * `createHandler(platform)` and `handler`) and what its function touches. The CDK stack creates a
 * function for each and a rule with retries and a dead-letter queue for every subscription naming
 * it; the local stack imports the same module and invokes its handler. Adding a consumer is its
 * handler in its context plus an entry here and a subscription above; the CDK stack refuses to
 * synthesize a subscription whose consumer has no entry.
 */
export const CONSUMERS: Readonly<Record<string, FunctionSpec>> = {
  pricing: {
    entry: 'functions/pricing/handler.ts',
    description: 'Prices completed sessions once: SessionCompleted -> SessionPriced (or SessionPricingFailed)',
    // Reads the session, its samples and tariff version and the connector's status timeline;
    // stores the price beside the session (conditional write).
    tables: { Sessions: 'readWrite', Tariffs: 'read', Registry: 'read' },
    publishesEvents: true,
    timeoutSeconds: 30,
  },
  payments: {
    entry: 'functions/payments/handler.ts',
    description: 'Card payments: hold on SessionStarted, running cost and incremental authorization on SessionMeterValues, capture on SessionPriced',
    // Payments: the session's payment record, carried small amounts, policies, reader authorizations.
    // Sessions/Registry/Tariffs: the session, its samples and tariff for the running cost; Registry
    // also stores the pending RemoteStopTransaction. Entitlements: the idTag's driver and saved card.
    tables: { Payments: 'readWrite', Sessions: 'read', Registry: 'readWrite', Tariffs: 'read', Entitlements: 'read' },
    publishesEvents: true,
    // A declined hold or one that cannot grow stops the session (RemoteStopTransaction).
    manageConnections: true,
    readsStripeSecrets: true,
    // A settlement is a few Stripe calls (retrieve, capture, maybe an off-session charge) at up to 10 s each.
    timeoutSeconds: 60,
  },
  fleet: {
    entry: 'functions/fleet/handler.ts',
    description: 'Accrues priced fleet sessions to their account, once: SessionPriced -> Fleet table',
    // Reads the fleet account (time zone) beside the idTags; writes the accrual.
    tables: { Fleet: 'readWrite', Entitlements: 'read' },
    timeoutSeconds: 15,
  },
  roaming: {
    entry: 'functions/roaming/handler.ts',
    description: 'Builds, stores and pushes OCPI CDRs of priced roaming sessions: SessionPriced -> partner -> RoamingCdrAccepted',
    // Reads the stored price and the tariff version; stores the CDR and every delivery attempt.
    tables: { Roaming: 'readWrite', Sessions: 'read', Tariffs: 'read' },
    publishesEvents: true,
    // Three attempts with backoff (0, 1, 4 s) at a 10 s timeout each.
    timeoutSeconds: 60,
  },
  ledger: {
    entry: 'functions/accounting/ledger-handler.ts',
    description: 'Books money events as balanced journal entries (once per event) and publishes JournalEntryPosted',
    tables: { Ledger: 'readWrite' },
    publishesEvents: true,
    timeoutSeconds: 30,
  },
  'accounting-sync': {
    entry: 'functions/accounting/sync-handler.ts',
    description: 'Pushes each journal entry to the accounting webhook (signed, idempotent, retried, then dead-lettered)',
    tables: { Ledger: 'readWrite' },
    readsAccountingSecret: true,
    // Five attempts with backoff (0.5 + 1 + 2 + 4 s) and a 10 s timeout each fit well inside.
    timeoutSeconds: 90,
  },
  reconciliation: {
    entry: 'functions/accounting/reconcile-handler.ts',
    description: 'Reconciles a paid payout: its balance transactions vs the ledger vs session settlements',
    tables: { Ledger: 'readWrite', Sessions: 'read' },
    readsStripeSecrets: true,
    timeoutSeconds: 300,
  },
};
