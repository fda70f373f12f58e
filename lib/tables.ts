/**
 * The DynamoDB tables, defined once: the CDK stateful stack deploys these definitions and the local
 * stack creates the same tables in dynalite. Every table uses generic string keys `pk`/`sk` so one
 * bounded context can keep several item types together (a session and its meter samples share a
 * partition, so reading a session for pricing is one Query).
 */
export interface TableDefinition {
  /** Logical name; also the stem of the environment variable holding the physical name. */
  readonly id: TableId;
  /** Environment variable through which handlers receive the physical table name. */
  readonly envVar: string;
  readonly description: string;
  readonly globalSecondaryIndexes: ReadonlyArray<{ indexName: string; partitionKey: string; sortKey: string }>;
  /** Attribute holding an epoch-seconds expiry, where records expire. */
  readonly ttlAttribute?: string;
}

export type TableId = 'Registry' | 'Entitlements' | 'Tariffs' | 'Sessions' | 'Payments' | 'Fleet' | 'Roaming' | 'Ledger';

export const TABLES: Readonly<Record<TableId, TableDefinition>> = {
  Registry: {
    id: 'Registry',
    envVar: 'REGISTRY_TABLE',
    description:
      'Charge points (profile, password hash), connector status and its timeline, WebSocket connections, pending central-system calls.',
    globalSecondaryIndexes: [],
    ttlAttribute: 'expiresAt',
  },
  Entitlements: {
    id: 'Entitlements',
    envVar: 'ENTITLEMENTS_TABLE',
    description:
      'Entitlement records keyed by idTag (status, expiry, parent idTag, billing profile), drivers, Stripe customers, membership tiers and their prices, fleet accounts, processed Stripe webhook ids.',
    globalSecondaryIndexes: [],
    // Processed Stripe webhook ids expire after 30 days.
    ttlAttribute: 'expiresAt',
  },
  Tariffs: {
    id: 'Tariffs',
    envVar: 'TARIFFS_TABLE',
    description: 'OCPI 2.2.1 tariffs, every version kept (sessions price with the version they started under).',
    globalSecondaryIndexes: [],
  },
  Sessions: {
    id: 'Sessions',
    envVar: 'SESSIONS_TABLE',
    description:
      'Charging sessions, their meter samples, idempotency keys for StartTransaction, the transactionId counter and unmatched (unknown-transaction) reports.',
    globalSecondaryIndexes: [
      // Sessions of one charge point, newest first.
      { indexName: 'byChargePoint', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
      // Sparse: only sessions not yet completed carry these attributes: started ones (`OPEN#<chargePoint>`)
      // and stopped ones waiting for completion (`AWAIT#<chargePoint>#<connector>`); docs/sessions.md.
      { indexName: 'awaitingCompletion', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
      // Completed sessions by UTC completion day: the revenue-assurance report walks it.
      { indexName: 'byCompletionDay', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
    ],
  },
  Ledger: {
    id: 'Ledger',
    envVar: 'LEDGER_TABLE',
    description:
      'Append-only double-entry journal (entries, their lines, pointers by session and Stripe id), the money facts it was built from, financial closures of sessions, accounting-sync state and dead letters, reconciliation reports, the chart of accounts override.',
    globalSecondaryIndexes: [
      // Entries, facts, dead letters and reports by day (or kind), in time order.
      { indexName: 'byDay', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
      // Journal lines by account, in date order.
      { indexName: 'byAccount', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    ],
  },
  Payments: {
    id: 'Payments',
    envVar: 'PAYMENTS_TABLE',
    description:
      'Card payments of sessions (hold, increments, settlement plan and outcome, refunds), small amounts carried to a driver\'s next session, payment policies per site and charger, Terminal readers and the card authorizations waiting for a session.',
    globalSecondaryIndexes: [
      // Sparse listings: every Terminal reader (gsi1pk READER), and the reader authorizations not yet
      // matched to a session (gsi1pk READERAUTH#PENDING, sorted by when their window closes).
      { indexName: 'listings', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    ],
  },
  Fleet: {
    id: 'Fleet',
    envVar: 'FLEET_TABLE',
    description: 'Fleet sessions accrued to their account (one item per session) and the statements that bill them, with their Stripe invoice progress.',
    globalSecondaryIndexes: [
      // Sparse: only accruals no statement has claimed yet, by account and period.
      { indexName: 'unbilled', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    ],
  },
  Roaming: {
    id: 'Roaming',
    envVar: 'ROAMING_TABLE',
    description: 'OCPI roaming partners (eMSPs), their tokens, OCPI locations of the sites, CDRs sent (immutable; corrections are credit CDRs) and every delivery attempt.',
    globalSecondaryIndexes: [],
  },
};

/** Physical table names by id, read from the environment variables named in TABLES. */
export type TableNames = Record<TableId, string>;
