import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryLedgerStore } from '../../../functions/accounting/adapters/memory-ledger.ts';
import { assertBalanced, balances } from '../../../functions/accounting/domain/journal.ts';
import type { LedgerEvent } from '../../../functions/accounting/domain/posting-rules.ts';
import { createLedger } from '../../../functions/accounting/ledger.ts';
import { fixedClock } from '../../../functions/shared/clock.ts';
import { silentLog } from '../../../functions/shared/log.ts';
import {
  aDisputeClosed,
  aDisputeOpened,
  aFleetStatement,
  aHoldReleased,
  anInvoicePaid,
  aPaymentCaptured,
  aPayoutFailed,
  aPayoutPaid,
  aRefund,
  aRoamingCdr,
  aSessionPriced,
  aSettlement,
} from './builders.ts';

/** One session's story: how it is billed, what it costs and what happens to its money. */
const sessionStory = fc.record({
  kind: fc.constantFrom('retail', 'member', 'fleet', 'roaming', 'free'),
  energyMinor: fc.integer({ min: 0, max: 20_000 }),
  timeMinor: fc.integer({ min: 0, max: 3_000 }),
  idleMinor: fc.integer({ min: 0, max: 3_000 }),
  fixedMinor: fc.integer({ min: 0, max: 500 }),
  vatPercent: fc.constantFrom(0, 7, 19, 20),
  capturedShare: fc.constantFrom(1, 0.5, 0),
  feeMinor: fc.option(fc.integer({ min: 0, max: 400 })),
  refund: fc.option(fc.record({ share: fc.constantFrom(0.25, 1), failed: fc.boolean() })),
  dispute: fc.option(fc.constantFrom('won', 'lost', 'open')),
  creditCdr: fc.boolean(),
  /** Fleet only: the statement's Stripe invoice was paid (its capture without a session, and InvoicePaid). */
  statementPaid: fc.boolean(),
});

/** A Stripe invoice paid that day: its PaymentCaptured (no session) and, unless Stripe's event is missing, InvoicePaid. */
const invoiceStory = fc.record({
  kind: fc.constantFrom('membership', 'other'),
  amountMinor: fc.integer({ min: 0, max: 5_000 }),
  vatPercent: fc.constantFrom(0, 19),
  invoicePaid: fc.boolean(),
});

const dayStory = fc.record({
  sessions: fc.array(sessionStory, { minLength: 1, maxLength: 8 }),
  payouts: fc.array(fc.record({ amountMinor: fc.integer({ min: -500, max: 50_000 }), failed: fc.boolean(), paid: fc.boolean() }), { maxLength: 3 }),
  invoices: fc.array(invoiceStory, { maxLength: 3 }),
});

type DayStory = typeof dayStory extends fc.Arbitrary<infer T> ? T : never;

/** The events a day produces, as the producers' contracts describe them. */
function eventsOf(day: DayStory): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  day.sessions.forEach((s, i) => {
    const sessionId = `s-${i}`;
    const priced = aSessionPriced({ sessionId, kind: s.kind as never, party: i % 2 ? 'ACME' : 'DE-EMSP', energyMinor: s.energyMinor, timeMinor: s.timeMinor, idleMinor: s.idleMinor, fixedMinor: s.fixedMinor, vatPercent: s.vatPercent });
    events.push(priced.event);
    if (s.kind === 'fleet') {
      const statement = aFleetStatement({ statementId: `st-${i}`, accountId: 'ACME', sessionIds: [sessionId], sessionsExclVatMinor: priced.exclMinor, fixedFeeMinor: 1000 });
      events.push(statement);
      if (s.statementPaid) {
        const totalMinor = (statement.data as { totalMinor: number }).totalMinor;
        events.push(aPaymentCaptured({ chargeId: `ch_in_st_${i}`, capturedMinor: totalMinor }));
        events.push(anInvoicePaid({ invoiceId: `in_st_${i}`, kind: 'fleet_statement', amountPaidMinor: totalMinor, statementId: `st-${i}`, accountId: 'ACME' }));
      }
      return;
    }
    if (s.kind === 'roaming') {
      events.push(aRoamingCdr({ cdrId: `cdr-${i}`, partnerId: 'DE-EMSP', sessionId, exclVatMinor: priced.exclMinor }));
      if (s.creditCdr) {
        events.push(aRoamingCdr({ cdrId: `cdr-${i}-credit`, partnerId: 'DE-EMSP', sessionId, exclVatMinor: priced.exclMinor, credit: true, creditsCdrId: `cdr-${i}` }));
        events.push(aRoamingCdr({ cdrId: `cdr-${i}-v2`, partnerId: 'DE-EMSP', sessionId, exclVatMinor: priced.exclMinor }));
      }
      return;
    }
    if (s.kind === 'free') return;
    const total = priced.totalMinor;
    const captured = Math.floor(total * s.capturedShare);
    const chargeId = `ch_${i}`;
    if (captured > 0) {
      events.push(aPaymentCaptured({ sessionId, chargeId, capturedMinor: captured, authorizedMinor: Math.max(captured, 5000), ...(s.feeMinor !== null ? { feeMinor: Math.min(s.feeMinor, captured) } : {}) }));
      events.push(aSettlement({ sessionId, sessionTotalMinor: total, outcome: captured === total ? 'captured' : 'collection_failed', capturedMinor: captured, outstandingMinor: total - captured }));
      if (s.refund) {
        const amount = Math.max(1, Math.floor(captured * s.refund.share));
        events.push(aRefund({ refundId: `re_${i}`, chargeId, sessionId, amountMinor: amount }));
        if (s.refund.failed) events.push(aRefund({ refundId: `re_${i}`, chargeId, sessionId, amountMinor: amount, status: 'failed' }));
      }
      if (s.dispute) {
        events.push(aDisputeOpened({ disputeId: `dp_${i}`, chargeId, sessionId, amountMinor: captured }));
        if (s.dispute !== 'open') events.push(aDisputeClosed({ disputeId: `dp_${i}`, chargeId, sessionId, amountMinor: captured, status: s.dispute as 'won' | 'lost' }));
      }
    } else {
      events.push(aHoldReleased({ sessionId, paymentIntentId: `pi_${i}`, amountMinor: 5000 }));
      events.push(aSettlement({ sessionId, sessionTotalMinor: total, outcome: total === 0 ? 'nothing_due' : 'waived', capturedMinor: 0, waivedMinor: total }));
    }
  });
  day.invoices.forEach((inv, i) => {
    const taxMinor = Math.round((inv.amountMinor * inv.vatPercent) / (100 + inv.vatPercent));
    if (inv.amountMinor > 0) events.push(aPaymentCaptured({ chargeId: `ch_in_${i}`, capturedMinor: inv.amountMinor }));
    if (inv.invoicePaid) events.push(anInvoicePaid({ invoiceId: `in_${i}`, kind: inv.kind as 'membership' | 'other', amountPaidMinor: inv.amountMinor, taxMinor }));
  });
  day.payouts.forEach((p, i) => {
    if (p.paid) events.push(aPayoutPaid({ payoutId: `po_${i}`, amountMinor: p.amountMinor }));
    if (p.failed) events.push(aPayoutFailed({ payoutId: `po_${i}`, amountMinor: p.amountMinor }));
  });
  return events;
}

async function bookAll(events: LedgerEvent[]) {
  const store = new MemoryLedgerStore();
  const ledger = createLedger({ store, events: { publish: async () => {} }, clock: fixedClock('2026-11-24T00:00:00Z'), log: silentLog });
  for (const event of events) await ledger.book(event);
  return store;
}

/** The ledger as an accountant would compare it: entries (not when they were written) and closures. */
function snapshot(store: MemoryLedgerStore) {
  const entries = [...store.entries.values()].map((p) => p.entry).sort((a, b) => a.entryId.localeCompare(b.entryId));
  const closures = [...store.closureSources.keys()].sort().map((id) => [...store.closureSources.get(id)!.values()].sort((a, b) => a.sourceId.localeCompare(b.sourceId)));
  return { entries, closures };
}

/** A permutation of the events with some delivered more than once. */
const deliveries = (events: LedgerEvent[]) =>
  fc.tuple(fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }), fc.subarray(events)).map(([shuffled, again]) => [...shuffled, ...again]);

describe('ledger', () => {
  describe('invariants over any day of events (fast-check)', () => {
    it('every entry balances, and the balances of all accounts sum to zero per currency', async () => {
      await fc.assert(
        fc.asyncProperty(dayStory, async (day) => {
          const store = await bookAll(eventsOf(day));
          for (const { entry } of store.entries.values()) expect(() => assertBalanced(entry)).not.toThrow();
          const perCurrency = new Map<string, bigint>();
          for (const [key, amount] of balances([...store.entries.values()].map((p) => p.entry))) {
            const currency = key.split('|')[0]!;
            perCurrency.set(currency, (perCurrency.get(currency) ?? 0n) + amount);
          }
          for (const sum of perCurrency.values()) expect(sum).toBe(0n);
        }),
        { numRuns: 150 },
      );
    });

    it('replaying the stream twice, or shuffled with duplicates, gives the same ledger', async () => {
      await fc.assert(
        fc.asyncProperty(
          dayStory.chain((day) => {
            const events = eventsOf(day);
            return fc.tuple(fc.constant(events), deliveries(events));
          }),
          async ([events, redelivered]) => {
            const once = snapshot(await bookAll(events));
            const twice = snapshot(await bookAll([...events, ...events]));
            const shuffled = snapshot(await bookAll(redelivered));
            expect(twice).toEqual(once);
            expect(shuffled).toEqual(once);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('driver receivables hold exactly what card sessions still owe (priced - captured - waived)', async () => {
      await fc.assert(
        fc.asyncProperty(dayStory, async (day) => {
          const events = eventsOf(day);
          const store = await bookAll(events);
          let owed = 0;
          for (const e of events) {
            if (e.detailType === 'SessionPaymentSettled') owed += e.data.outstandingMinor + e.data.carriedOutMinor;
          }
          const receivable = balances([...store.entries.values()].map((p) => p.entry)).get('EUR|driver_receivable') ?? 0n;
          expect(receivable).toBe(BigInt(owed));
        }),
        { numRuns: 100 },
      );
    });

    it('unallocated receipts hold exactly the invoice payments no paid membership or fleet invoice explains; fleet receivables the unpaid statements', async () => {
      await fc.assert(
        fc.asyncProperty(dayStory, async (day) => {
          const events = eventsOf(day);
          const store = await bookAll(events);
          let unexplained = 0;
          for (const e of events) if (e.detailType === 'PaymentCaptured' && !e.data.sessionId) unexplained += e.data.capturedMinor;
          let unpaidStatements = 0;
          let membershipFees = 0;
          for (const e of events) {
            if (e.detailType === 'InvoicePaid' && e.data.kind !== 'other') unexplained -= e.data.amountPaidMinor;
            if (e.detailType === 'InvoicePaid' && e.data.kind === 'membership') membershipFees += e.data.amountPaidMinor - e.data.taxMinor;
            if (e.detailType === 'InvoicePaid' && e.data.kind === 'fleet_statement') unpaidStatements -= e.data.amountPaidMinor;
            if (e.detailType === 'FleetStatementIssued') unpaidStatements += e.data.totalMinor;
          }
          const b = balances([...store.entries.values()].map((p) => p.entry));
          // Credit balances (liability, revenue) are negative debit balances.
          expect(b.get('EUR|unallocated_receipts') ?? 0n).toBe(BigInt(-unexplained));
          expect(b.get('EUR|revenue_membership_fees') ?? 0n).toBe(BigInt(-membershipFees));
          expect(b.get('EUR|fleet_receivable') ?? 0n).toBe(BigInt(unpaidStatements));
        }),
        { numRuns: 100 },
      );
    });

    it('the Stripe clearing account moves only with money facts: captures - fees - refunds - disputes - payouts', async () => {
      await fc.assert(
        fc.asyncProperty(dayStory, async (day) => {
          const events = eventsOf(day);
          const store = await bookAll(events);
          let expected = 0;
          const paid = new Set<string>();
          for (const e of events) {
            if (e.detailType === 'PaymentCaptured') expected += e.data.capturedMinor - (e.data.feeMinor ?? 0);
            if (e.detailType === 'PaymentRefunded') expected += e.data.status === 'succeeded' ? -e.data.amountMinor : e.data.amountMinor;
            if (e.detailType === 'DisputeOpened') expected -= e.data.amountMinor + e.data.feeMinor;
            if (e.detailType === 'DisputeClosed') expected += e.data.reinstatedMinor;
            if (e.detailType === 'PayoutPaid') {
              expected -= e.data.amountMinor;
              paid.add(e.data.payoutId);
            }
          }
          for (const e of events) if (e.detailType === 'PayoutFailed' && paid.has(e.data.payoutId)) expected += e.data.amountMinor;
          const clearing = balances([...store.entries.values()].map((p) => p.entry)).get('EUR|stripe_clearing') ?? 0n;
          expect(clearing).toBe(BigInt(expected));
        }),
        { numRuns: 100 },
      );
    });
  });
});
