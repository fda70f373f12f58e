import type { EventBridgeEvent } from 'aws-lambda';
import { JournalEntryPosted } from '../../events/accounting-events.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import type { AccountingSink } from './adapters/webhook-sink.ts';
import { buildChart, type Chart } from './domain/chart.ts';
import { PermanentDeliveryError } from './domain/errors.ts';
import type { JournalEntry } from './domain/journal.ts';
import { minorToDecimal } from '../shared/money.ts';
import type { LedgerStore, SyncRecord } from './domain/ports.ts';
import { toQuickBooksJournalEntry } from './mappers/quickbooks.ts';
import { toXeroManualJournal } from './mappers/xero.ts';

/** What the webhook body is: VoltLedger's own entry, or the accounting system's payload ready to forward. */
export type PayloadFormat = 'voltledger' | 'quickbooks' | 'xero';

export interface SyncConfig {
  format: PayloadFormat;
  /** Attempts per entry before it becomes a dead letter (default 5). */
  maxAttempts: number;
  /** First retry delay; each further one doubles (default 500 ms: 0.5, 1, 2, 4 s). */
  baseDelayMs: number;
  /** Xero: the organisation's base currency (default EUR) and the tracking category parties go to. */
  xeroBaseCurrency?: string;
  xeroTrackingCategory?: string;
}

export const DEFAULT_SYNC_CONFIG: SyncConfig = { format: 'voltledger', maxAttempts: 5, baseDelayMs: 500 };

export interface AccountingSyncDeps {
  store: LedgerStore;
  sink: AccountingSink;
  clock: Clock;
  log: Log;
  config?: Partial<SyncConfig>;
  sleep?: (ms: number) => Promise<void>;
}

/** The entry as the generic webhook sends it: the ledger's entry with account codes, names and decimal amounts beside minor units. */
export function webhookPayload(entry: JournalEntry, chart: Chart, postedAt: string) {
  return {
    type: 'journal_entry.posted',
    entryId: entry.entryId,
    postedAt,
    entry: {
      ...entry,
      lines: entry.lines.map((line) => {
        const account = chart[line.account as keyof Chart];
        return { ...line, code: account.code, name: account.name, amount: minorToDecimal(line.amountMinor, entry.currency) };
      }),
    },
  };
}

/**
 * Pushes journal entries to the accounting system as they are posted: retries with exponential
 * backoff, then a dead-letter record (`SYNC#<entryId>`, status dead) that `voltledger accounting
 * replay` re-sends. A delivered entry is not sent again unless replayed; the receiver dedupes on
 * the Idempotency-Key (the entry id) anyway.
 */
export function createAccountingSync(deps: AccountingSyncDeps) {
  const config = { ...DEFAULT_SYNC_CONFIG, ...deps.config };
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const { store, sink, clock, log } = deps;

  async function body(entry: JournalEntry, postedAt: string): Promise<string> {
    const chart = buildChart(await store.getChartOverride());
    switch (config.format) {
      case 'quickbooks':
        return JSON.stringify({ entryId: entry.entryId, JournalEntry: toQuickBooksJournalEntry(entry, chart) });
      case 'xero':
        return JSON.stringify({ entryId: entry.entryId, ...toXeroManualJournal(entry, chart, { baseCurrency: config.xeroBaseCurrency ?? 'EUR', trackingCategory: config.xeroTrackingCategory }) });
      default:
        return JSON.stringify(webhookPayload(entry, chart, postedAt));
    }
  }

  async function deliver(entry: JournalEntry, postedAt: string, opts: { force?: boolean } = {}): Promise<SyncRecord> {
    const previous = await store.getSync(entry.entryId);
    if (previous?.status === 'delivered' && !opts.force) return previous;
    let attempts = previous?.status === 'dead' ? 0 : (previous?.attempts ?? 0);
    let lastError = '';
    let payload: string;
    try {
      payload = await body(entry, postedAt);
    } catch (error) {
      // A payload that cannot be built (Xero and a foreign currency) will not build on a retry either.
      return dead(entry.entryId, attempts, String(error));
    }
    while (attempts < config.maxAttempts) {
      if (attempts > 0) await sleep(config.baseDelayMs * 2 ** (attempts - 1));
      attempts++;
      try {
        await sink.deliver({ idempotencyKey: entry.entryId, body: payload });
        const record: SyncRecord = { entryId: entry.entryId, status: 'delivered', attempts, deliveredAt: clock.now().toISOString(), updatedAt: clock.now().toISOString() };
        await store.putSync(record);
        return record;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        log.warn('accounting delivery failed', { entryId: entry.entryId, attempt: attempts, error: lastError });
        if (error instanceof PermanentDeliveryError) break;
        await store.putSync({ entryId: entry.entryId, status: 'failed', attempts, lastError, updatedAt: clock.now().toISOString() });
      }
    }
    return dead(entry.entryId, attempts, lastError);
  }

  async function dead(entryId: string, attempts: number, lastError: string): Promise<SyncRecord> {
    const now = clock.now().toISOString();
    const record: SyncRecord = { entryId, status: 'dead', attempts, lastError, deadAt: now, updatedAt: now };
    await store.putSync(record);
    log.error('accounting delivery dead-lettered; replay with `voltledger accounting replay`', { entryId, attempts, error: lastError });
    return record;
  }

  return {
    deliver,
    /** EventBridge target of JournalEntryPosted. */
    async onEntryPosted(event: EventBridgeEvent<string, unknown>): Promise<void> {
      const { data } = JournalEntryPosted.envelope.parse(event.detail);
      // The stored entry is the truth (the event could be an old copy); it exists once posted.
      const stored = (await store.getEntry(data.entry.entryId)) ?? { entry: data.entry, postedAt: data.postedAt };
      await deliver(stored.entry, stored.postedAt);
    },
    /** Re-sends dead letters, or given entries, or a day's entries; returns each outcome. */
    async replay(what: { deadLetters?: boolean; entryIds?: string[]; day?: string }): Promise<Array<{ entryId: string; status: SyncRecord['status']; attempts: number; lastError?: string }>> {
      const ids = new Set<string>(what.entryIds ?? []);
      if (what.deadLetters) for (const r of await store.deadLetters()) ids.add(r.entryId);
      if (what.day) for (const p of await store.entriesByDay(what.day)) ids.add(p.entry.entryId);
      const results = [];
      for (const entryId of [...ids].sort()) {
        const posted = await store.getEntry(entryId);
        if (!posted) {
          results.push({ entryId, status: 'dead' as const, attempts: 0, lastError: 'no such entry' });
          continue;
        }
        const record = await deliver(posted.entry, posted.postedAt, { force: true });
        results.push({ entryId, status: record.status, attempts: record.attempts, ...(record.lastError ? { lastError: record.lastError } : {}) });
      }
      return results;
    },
  };
}

export type AccountingSync = ReturnType<typeof createAccountingSync>;
