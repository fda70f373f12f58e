import type { TableId } from './tables.ts';

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
