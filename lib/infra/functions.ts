import type { FunctionSpec } from '../function-spec.ts';
import { CONSUMERS } from '../../events/routing.ts';


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
