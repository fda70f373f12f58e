import type { TableId } from '../tables.ts';

export type TableAccess = 'read' | 'readWrite';

/**
 * One Lambda function, declared by what it runs and what it touches; the stack turns the access
 * list into `grant*` calls, so a function gets exactly the tables and bus rights written here.
 */
export interface FunctionSpec {
  /** Handler module relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Tables the function reads or writes. Every function still receives every table's name (deps.ts reads them all). */
  readonly tables: Partial<Record<TableId, TableAccess>>;
  /** Publishes domain events on the bus (PutEvents). */
  readonly publishesEvents?: boolean;
  /** Sends frames to charge points through the WebSocket stage's @connections API. */
  readonly manageConnections?: boolean;
  /** Reads the Stripe secrets (secret key, webhook signing secret) through the Parameters and Secrets extension. */
  readonly readsStripeSecrets?: boolean;
  /** Reads the accounting webhook secret (URL and signing secret) through the Parameters and Secrets extension. */
  readonly readsAccountingSecret?: boolean;
  /** Writes objects to the export bucket (PutObject on its keys, nothing else). */
  readonly writesExportBucket?: boolean;
  readonly memorySizeMb?: number;
  readonly timeoutSeconds?: number;
}

/** The functions behind the OCPP WebSocket API's routes. */
export const OCPP_FUNCTIONS = {
  connect: {
    entry: 'functions/ocpp/connect.ts',
    description: 'OCPP $connect: identity, Basic auth, subprotocol; records the connection',
    tables: { Registry: 'readWrite' },
    timeoutSeconds: 10,
  },
  disconnect: {
    entry: 'functions/ocpp/disconnect.ts',
    description: 'OCPP $disconnect: forgets the connection',
    tables: { Registry: 'readWrite' },
    timeoutSeconds: 10,
  },
  message: {
    entry: 'functions/ocpp/message.ts',
    description: 'OCPP $default: one OCPP-J frame in, the answer out through the route response',
    // Entitlements read/write: with single-session enforcement, StartTransaction and StopTransaction
    // set and clear the idTag's active-session marker.
    tables: { Registry: 'readWrite', Entitlements: 'readWrite', Tariffs: 'read', Sessions: 'readWrite' },
    publishesEvents: true,
    // No @connections grant: every answer goes back as the $default route response. A function
    // that sends calls to charge points (admin commands, payments stopping a session) gets it.
    timeoutSeconds: 20,
  },
} as const satisfies Record<string, FunctionSpec>;

/** The admin HTTP API (IAM auth): charge points, id tags, tariffs, sessions, commands to charge points. */
export const ADMIN_FUNCTION: FunctionSpec = {
  entry: 'functions/admin/handler.ts',
  description: 'Admin HTTP API: charge points, id tags, tariffs, sessions, payments, commands, fleet statements, roaming, ledger and reconciliation',
  // Payments: session payment views, refunds (Stripe), payment policies, Terminal readers (arming them creates PaymentIntents).
  // Ledger: entries, write-offs, reconciliation reports, the chart override.
  tables: {
    Registry: 'readWrite',
    Entitlements: 'readWrite',
    Tariffs: 'readWrite',
    Sessions: 'readWrite',
    Payments: 'readWrite',
    Fleet: 'readWrite',
    Roaming: 'readWrite',
    Ledger: 'readWrite',
  },
  // POST /admin/jobs/complete-idle-sessions completes sessions, which publishes SessionCompleted.
  publishesEvents: true,
  // Commands to charge points go out through @connections.
  manageConnections: true,
  // GET .../commands/{id}?waitSeconds= polls up to 25 s; the HTTP API gives up at 30 s.
  timeoutSeconds: 29,
  // PUT /admin/drivers/{id} reads the driver's subscriptions; POST /admin/jobs/resync-memberships;
  // issuing a fleet statement creates its Stripe invoice; POST /admin/reconciliations reads balance transactions.
  readsStripeSecrets: true,
  // POST /admin/accounting/replay re-sends dead letters to the accounting webhook.
  readsAccountingSecret: true,
};

/** The daily reconciliation of yesterday against Stripe, and the revenue-assurance report. */
export const RECONCILIATION_FUNCTION: FunctionSpec = {
  entry: 'functions/accounting/reconcile-handler.ts',
  description: 'Daily: reconciles yesterday (sessions vs Stripe vs ledger) and reports sessions without a financial closure',
  tables: { Ledger: 'readWrite', Sessions: 'read' },
  readsStripeSecrets: true,
  timeoutSeconds: 300,
};

/** The monthly fleet statement run (EventBridge Scheduler, the 1st of each month). */
export const FLEET_STATEMENTS_FUNCTION: FunctionSpec = {
  entry: 'functions/fleet/statements-handler.ts',
  description: 'Monthly: issues last month\'s statement of every fleet account whose month is over in its time zone (idempotent)',
  // Fleet: accruals, statements, leases, invoice progress. Entitlements: the fleet accounts (Scan) and their settings.
  tables: { Fleet: 'readWrite', Entitlements: 'read' },
  // FleetStatementIssued, booked by the ledger.
  publishesEvents: true,
  // Each statement with a Stripe customer becomes a Stripe invoice.
  readsStripeSecrets: true,
  // Accounts one after another, each a few DynamoDB writes and up to a handful of Stripe calls.
  timeoutSeconds: 900,
};

/** The nightly export of yesterday's revenue (CSV and JSON) to the export bucket. */
export const NIGHTLY_EXPORT_FUNCTION: FunctionSpec = {
  entry: 'functions/accounting/export-handler.ts',
  description: 'Nightly: writes yesterday\'s revenue by site, billing model and account (CSV and JSON) to the export bucket',
  // Ledger: the day's entries (byDay index) and the chart override.
  tables: { Ledger: 'read' },
  writesExportBucket: true,
  timeoutSeconds: 120,
};

/** The Stripe webhook endpoint: verifies, dedupes, re-reads subscriptions, rewrites the entitlement cache. */
export const STRIPE_WEBHOOK_FUNCTION: FunctionSpec = {
  entry: 'functions/entitlements/webhook-handler.ts',
  description: 'Stripe webhooks (signature checked): memberships -> entitlement cache; money events -> bus; reader payments -> RemoteStart',
  // Entitlements: memberships and the idTag a reader payment starts with. Payments: reader
  // authorizations and refunds. Registry: the pending RemoteStartTransaction call. Sessions: read
  // by the payments wiring (running sessions).
  tables: { Entitlements: 'readWrite', Payments: 'readWrite', Registry: 'readWrite', Sessions: 'read', Tariffs: 'read' },
  readsStripeSecrets: true,
  // PaymentCaptured, PaymentRefunded, DisputeOpened, PayoutPaid... for accounting.
  publishesEvents: true,
  // A card approved at a charger's reader starts the session (RemoteStartTransaction).
  manageConnections: true,
  // Stripe waits up to 10 s (then retries); a refresh is a few Stripe reads and DynamoDB writes.
  timeoutSeconds: 10,
};

/** The hourly membership resync (EventBridge Scheduler). */
export const MEMBERSHIP_RESYNC_FUNCTION: FunctionSpec = {
  entry: 'functions/entitlements/resync-handler.ts',
  description: 'Hourly full resync of memberships from Stripe: repairs what lost webhooks left wrong',
  tables: { Entitlements: 'readWrite' },
  readsStripeSecrets: true,
  timeoutSeconds: 900,
};

/** The scheduled idle-session sweep (every minute). */
export const SWEEP_FUNCTION: FunctionSpec = {
  entry: 'functions/ocpp/sweep.ts',
  description: 'Completes stopped sessions whose connector never reported Available within the idle limit',
  tables: { Sessions: 'readWrite' },
  publishesEvents: true,
  timeoutSeconds: 60,
};

/** Releases card authorizations at readers that no session claimed within the window (every minute). */
export const READER_PAYMENT_SWEEP_FUNCTION: FunctionSpec = {
  entry: 'functions/payments/sweep-handler.ts',
  description: 'Cancels card-reader holds that no session claimed within the matching window',
  tables: { Payments: 'readWrite', Registry: 'read', Sessions: 'read', Tariffs: 'read', Entitlements: 'read' },
  readsStripeSecrets: true,
  timeoutSeconds: 60,
};

/**
 * Consumers of events/routing.ts subscriptions, by consumer id. Adding a consumer is one entry
 * here (its handler file and what it touches); the stack creates its function, and every
 * subscription naming it gets a rule with retries and a dead-letter queue. The stack refuses to
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

/** Every function the app stack deploys, by name (the bundle test and benchmark walk this). */
export function deployedFunctions(consumers: Readonly<Record<string, FunctionSpec>> = CONSUMERS): Record<string, FunctionSpec> {
  return {
    ...OCPP_FUNCTIONS,
    admin: ADMIN_FUNCTION,
    sweep: SWEEP_FUNCTION,
    stripeWebhook: STRIPE_WEBHOOK_FUNCTION,
    membershipResync: MEMBERSHIP_RESYNC_FUNCTION,
    readerPaymentSweep: READER_PAYMENT_SWEEP_FUNCTION,
    reconciliationDaily: RECONCILIATION_FUNCTION,
    fleetStatements: FLEET_STATEMENTS_FUNCTION,
    nightlyExport: NIGHTLY_EXPORT_FUNCTION,
    ...consumers,
  };
}
