import type { JournalEntry } from './journal.ts';
import type { ChartOverride } from './chart.ts';
import type { Closure } from './posting-rules.ts';

/** A consumed domain event as the ledger keeps it: the evidence its entries were built from. */
export interface LedgerFact {
  eventId: string;
  detailType: string;
  /** Business time (see businessDate). */
  date: string;
  data: Record<string, unknown>;
  refs: string[];
  entryIds: string[];
  memo?: string;
  recordedAt: string;
}

/** An entry as stored, with when it was first written. */
export interface PostedEntry {
  entry: JournalEntry;
  postedAt: string;
}

/**
 * A session's closure as stored: every closing event is kept (a set, so arrival order does not
 * matter); the earliest is the closure, and closures of more than one kind are a conflict that
 * revenue assurance reports (a session must reach exactly one financial closure).
 */
export interface StoredClosure extends Closure {
  all: Closure[];
  conflict: boolean;
}

/** Delivery state of one entry to the accounting system. */
export interface SyncRecord {
  entryId: string;
  status: 'delivered' | 'failed' | 'dead';
  attempts: number;
  lastError?: string;
  deliveredAt?: string;
  deadAt?: string;
  updatedAt: string;
}

/** The ledger's storage. Every write is idempotent; entries are never updated or deleted. */
export interface LedgerStore {
  recordFact(fact: LedgerFact): Promise<void>;
  factsByRef(ref: string): Promise<LedgerFact[]>;
  factsByDay(day: string): Promise<LedgerFact[]>;
  /**
   * Writes an entry once (conditional on its id). An entry already stored with the same money is
   * returned as it is; with different money, ConflictingEntryError.
   */
  postEntry(entry: JournalEntry, postedAt: string): Promise<PostedEntry & { created: boolean }>;
  getEntry(entryId: string): Promise<PostedEntry | undefined>;
  entriesByDay(day: string): Promise<PostedEntry[]>;
  entriesByRef(ref: string): Promise<PostedEntry[]>;
  /** Entries with a line on the account, dated in [fromDay, toDay]. */
  entriesByAccount(account: string, fromDay: string, toDay: string): Promise<PostedEntry[]>;
  /** Sets the closure when the session has none; records a different one as a conflict. */
  closeSession(closure: Closure): Promise<{ closure: StoredClosure; created: boolean }>;
  closures(sessionIds: string[]): Promise<Map<string, StoredClosure>>;
  getSync(entryId: string): Promise<SyncRecord | undefined>;
  putSync(record: SyncRecord): Promise<void>;
  deadLetters(): Promise<SyncRecord[]>;
  getChartOverride(): Promise<ChartOverride | undefined>;
  putChartOverride(override: ChartOverride): Promise<void>;
  saveReport(scope: string, runAt: string, report: unknown): Promise<void>;
  reports(scope: string, limit?: number): Promise<Array<{ scope: string; runAt: string; report: any }>>;
}
