import type { ChartOverride } from '../domain/chart.ts';
import { ConflictingEntryError } from '../domain/errors.ts';
import { entryRefs, sameMoney, utcDay, type JournalEntry } from '../domain/journal.ts';
import type { LedgerFact, LedgerStore, PostedEntry, StoredClosure, SyncRecord } from '../domain/ports.ts';
import { summarizeClosures, type Closure } from '../domain/posting-rules.ts';


/** The ledger store in memory, with the Dynamo store's semantics: for the domain tests and property tests. */
export class MemoryLedgerStore implements LedgerStore {
  readonly facts = new Map<string, LedgerFact>();
  readonly entries = new Map<string, PostedEntry>();
  readonly closureSources = new Map<string, Map<string, Closure>>();
  readonly sync = new Map<string, SyncRecord>();
  private chart: ChartOverride | undefined;
  private readonly reportList: Array<{ scope: string; runAt: string; report: unknown }> = [];

  async recordFact(fact: LedgerFact) {
    if (!this.facts.has(fact.eventId)) this.facts.set(fact.eventId, structuredClone(fact));
  }
  async factsByRef(ref: string) {
    return [...this.facts.values()].filter((f) => f.refs.includes(ref));
  }
  async factsByDay(day: string) {
    return [...this.facts.values()].filter((f) => utcDay(f.date) === day).sort((a, b) => a.date.localeCompare(b.date));
  }
  async postEntry(entry: JournalEntry, postedAt: string) {
    const existing = this.entries.get(entry.entryId);
    if (existing) {
      if (!sameMoney(existing.entry, entry)) throw new ConflictingEntryError(`entry ${entry.entryId} is stored with different amounts`);
      return { ...existing, created: false };
    }
    const posted = { entry: structuredClone(entry), postedAt };
    this.entries.set(entry.entryId, posted);
    return { ...posted, created: true };
  }
  async getEntry(entryId: string) {
    return this.entries.get(entryId);
  }
  private sorted(filter: (p: PostedEntry) => boolean) {
    return [...this.entries.values()].filter(filter).sort((a, b) => a.entry.date.localeCompare(b.entry.date) || a.entry.entryId.localeCompare(b.entry.entryId));
  }
  async entriesByDay(day: string) {
    return this.sorted((p) => utcDay(p.entry.date) === day);
  }
  async entriesByRef(ref: string) {
    return this.sorted((p) => entryRefs(p.entry).includes(ref));
  }
  async entriesByAccount(account: string, fromDay: string, toDay: string) {
    return this.sorted((p) => p.entry.lines.some((l) => l.account === account) && utcDay(p.entry.date) >= fromDay && utcDay(p.entry.date) <= toDay);
  }
  async closeSession(closure: Closure) {
    const sources = this.closureSources.get(closure.sessionId) ?? new Map<string, Closure>();
    const created = sources.size === 0;
    sources.set(closure.sourceId, { ...closure });
    this.closureSources.set(closure.sessionId, sources);
    return { closure: summarizeClosures([...sources.values()])!, created };
  }
  async closures(sessionIds: string[]) {
    const out = new Map<string, StoredClosure>();
    for (const id of sessionIds) {
      const summary = summarizeClosures([...(this.closureSources.get(id)?.values() ?? [])]);
      if (summary) out.set(id, summary);
    }
    return out;
  }
  async getSync(entryId: string) {
    return this.sync.get(entryId);
  }
  async putSync(record: SyncRecord) {
    this.sync.set(record.entryId, record);
  }
  async deadLetters() {
    return [...this.sync.values()].filter((r) => r.status === 'dead');
  }
  async getChartOverride() {
    return this.chart;
  }
  async putChartOverride(override: ChartOverride) {
    this.chart = override;
  }
  async saveReport(scope: string, runAt: string, report: unknown) {
    this.reportList.push({ scope, runAt, report });
  }
  async reports(scope: string, limit = 10) {
    return this.reportList.filter((r) => r.scope === scope).sort((a, b) => b.runAt.localeCompare(a.runAt)).slice(0, limit);
  }
}
