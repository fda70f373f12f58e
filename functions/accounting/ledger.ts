import { buildEvent, type OutgoingEvent } from '../../events/contract.ts';
import { JournalEntryPosted } from '../../events/accounting-events.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { payoutFailureReversal, planPostings, writeOffEntry, type Closure, type LedgerEvent } from './domain/posting-rules.ts';
import { SessionAlreadyClosedError } from './domain/errors.ts';
import type { LedgerStore, PostedEntry, StoredClosure } from './domain/ports.ts';

/** Where posted entries are announced (the event bus; the accounting sync listens). */
export interface EntryPublisher {
  publish(events: OutgoingEvent[]): Promise<void>;
}

export interface LedgerDeps {
  store: LedgerStore;
  events: EntryPublisher;
  clock: Clock;
  log: Log;
}

export const postedEvent = (posted: PostedEntry) =>
  buildEvent(JournalEntryPosted, { entry: posted.entry, postedAt: posted.postedAt }, {
    id: `JournalEntryPosted:${posted.entry.entryId}`,
    occurredAt: new Date(posted.postedAt),
    correlationId: posted.entry.source.eventId,
  });

/**
 * The ledger: books each domain event once (facts and entries keyed by the event), closes
 * sessions, and announces every entry it holds for the event, new or already stored, so a retry
 * after a failed publish still reaches the accounting system (which dedupes on the entry id).
 */
export function createLedger(deps: LedgerDeps) {
  const { store, events, clock, log } = deps;

  async function post(entries: PostedEntry['entry'][]): Promise<PostedEntry[]> {
    const posted: PostedEntry[] = [];
    for (const entry of entries) posted.push(await store.postEntry(entry, clock.now().toISOString()));
    return posted;
  }

  /** A paid payout whose failure is known gets its reversal, whichever of the two arrived last. */
  async function settlePayout(payoutId: string): Promise<PostedEntry[]> {
    const facts = await store.factsByRef(`payout:${payoutId}`);
    const paid = facts.find((f) => f.detailType === 'PayoutPaid');
    const failed = facts.find((f) => f.detailType === 'PayoutFailed');
    if (!paid || !failed || paid.entryIds.length === 0) return [];
    const paidEntry = await store.getEntry(paid.entryIds[0]!);
    if (!paidEntry) return [];
    const data = failed.data as { failedAt: string; failureCode?: string };
    return post([payoutFailureReversal(paidEntry.entry, { eventId: failed.eventId, failedAt: data.failedAt, payoutId, failureCode: data.failureCode })]);
  }

  async function close(closures: Closure[]): Promise<void> {
    for (const closure of closures) {
      const result = await store.closeSession(closure);
      if (result.closure.conflict) {
        log.warn('session has more than one kind of financial closure', { sessionId: closure.sessionId, closures: result.closure.all.map((c) => `${c.kind}:${c.sourceId}`) });
      }
    }
  }

  return {
    /** Books one event; returns the entries it stands for (already published). */
    async book(event: LedgerEvent): Promise<PostedEntry[]> {
      const plan = planPostings(event);
      // The fact first: the payout pairing reads it, and it is the evidence the entries cite.
      await store.recordFact({
        eventId: event.metadata.id,
        detailType: event.detailType,
        date: plan.date,
        data: event.data as Record<string, unknown>,
        refs: plan.refs,
        entryIds: plan.entries.map((e) => e.entryId),
        ...(plan.memo ? { memo: plan.memo } : {}),
        recordedAt: clock.now().toISOString(),
      });
      const posted = await post(plan.entries);
      if (event.detailType === 'PayoutPaid' || event.detailType === 'PayoutFailed') posted.push(...(await settlePayout(event.data.payoutId)));
      await close(plan.closures);
      if (posted.length) await events.publish(posted.map(postedEvent));
      log.debug('event booked', { eventId: event.metadata.id, entries: posted.map((p) => p.entry.entryId) });
      return posted;
    },

    /**
     * An operator writes off what a session still owes, with a reason: the session's closure.
     * Refused when the session already has a different closure.
     */
    async writeOff(input: { sessionId: string; reason: string; amountMinor: number; currency: string; smallAmount?: boolean }): Promise<{ closure: StoredClosure; entries: PostedEntry[] }> {
      const at = clock.now().toISOString();
      const sourceId = `WriteOff:${input.sessionId}`;
      const [existing] = (await store.closures([input.sessionId])).values();
      if (existing?.all.some((c) => c.sourceId !== sourceId)) {
        throw new SessionAlreadyClosedError(`session ${input.sessionId} is already closed: ${existing.kind}${existing.reason ? ` (${existing.reason})` : ''}`);
      }
      const entries = await post(writeOffEntry({ ...input, at }));
      const { closure } = await store.closeSession({ sessionId: input.sessionId, kind: 'written_off', reason: input.reason, sourceId, at });
      if (entries.length) await events.publish(entries.map(postedEvent));
      return { closure, entries };
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
