import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUBSCRIPTIONS } from '../../../events/routing.ts';
import { businessDate, LEDGER_CONTRACTS, parseLedgerEvent, planPostings, POSTING_RULES, type LedgerDetailType, type LedgerEvent, type PostingRule } from '../../../functions/accounting/domain/posting-rules.ts';
import {
  aDisputeClosed,
  aDisputeOpened,
  aFleetStatement,
  aHoldReleased,
  anInvoicePaid,
  aPaymentCaptured,
  aPaymentFailed,
  aPayoutFailed,
  aPayoutPaid,
  aRefund,
  aRoamingCdr,
  aSessionPriced,
  aSettlement,
} from './builders.ts';

/** The rule for an event's type, applied as planPostings applies it. */
const applyRule = (event: LedgerEvent) => (POSTING_RULES[event.detailType] as PostingRule<LedgerDetailType>)(event, businessDate(event));
const show = (event: LedgerEvent) => applyRule(event).entries.map((e) => [e.entryId, ...e.lines.map((l) => `${l.side === 'debit' ? 'Dr' : 'Cr'} ${l.account}${l.party ? `[${l.party}]` : ''} ${l.amountMinor}`)]);

/** A typical event of every detail type, and the entries its rule books (entry id, then lines). */
const TYPICAL: { [K in LedgerDetailType]: { event: LedgerEvent; entries: string[][]; memo?: RegExp } } = {
  SessionPriced: {
    event: aSessionPriced({ sessionId: 's1', energyMinor: 1000, timeMinor: 200, idleMinor: 300, fixedMinor: 50 }).event,
    entries: [['SessionPriced:s1', 'Dr driver_receivable 1845', 'Cr revenue_retail_energy 1000', 'Cr revenue_retail_time 200', 'Cr revenue_idle_fees 300', 'Cr revenue_session_fees 50', 'Cr vat_payable 295']],
  },
  SessionPaymentSettled: {
    event: aSettlement({ sessionId: 's1', sessionTotalMinor: 30, outcome: 'waived', capturedMinor: 0, waivedMinor: 30 }),
    entries: [['SessionPaymentSettled:s1', 'Dr small_amount_write_offs 30', 'Cr driver_receivable 30']],
  },
  PaymentCaptured: {
    event: aPaymentCaptured({ sessionId: 's1', chargeId: 'ch_1', capturedMinor: 1845, feeMinor: 55, balanceTransactionId: 'txn_1' }),
    entries: [
      ['PaymentCaptured:ch_1', 'Dr stripe_clearing 1845', 'Cr driver_receivable 1845'],
      ['StripeFee:txn_1', 'Dr stripe_fees 55', 'Cr stripe_clearing 55'],
    ],
  },
  PaymentHoldReleased: { event: aHoldReleased({ sessionId: 's1', paymentIntentId: 'pi_1', amountMinor: 5000 }), entries: [], memo: /hold of 5000 EUR released \(canceled\); no money moved/ },
  PaymentFailed: { event: aPaymentFailed({ sessionId: 's1', paymentIntentId: 'pi_1', amountMinor: 5000 }), entries: [], memo: /^payment failed: 5000 EUR$/ },
  PaymentRefunded: { event: aRefund({ refundId: 're_1', chargeId: 'ch_1', amountMinor: 250 }), entries: [['PaymentRefunded:re_1:succeeded', 'Dr refunds 250', 'Cr stripe_clearing 250']] },
  DisputeOpened: {
    event: aDisputeOpened({ disputeId: 'dp_1', chargeId: 'ch_1', amountMinor: 1000, feeMinor: 1500 }),
    entries: [['DisputeOpened:dp_1', 'Dr disputed_funds 1000', 'Dr dispute_fees 1500', 'Cr stripe_clearing 2500']],
  },
  DisputeClosed: { event: aDisputeClosed({ disputeId: 'dp_1', chargeId: 'ch_1', amountMinor: 1000, status: 'lost' }), entries: [['DisputeClosed:dp_1', 'Dr dispute_losses 1000', 'Cr disputed_funds 1000']] },
  PayoutPaid: { event: aPayoutPaid({ payoutId: 'po_1', amountMinor: 9000 }), entries: [['PayoutPaid:po_1', 'Dr bank 9000', 'Cr stripe_clearing 9000']] },
  PayoutFailed: { event: aPayoutFailed({ payoutId: 'po_1', amountMinor: 9000 }), entries: [], memo: /^payout po_1 failed \(account_closed\)$/ },
  InvoicePaid: {
    event: anInvoicePaid({ invoiceId: 'in_1', kind: 'membership', amountPaidMinor: 1189, taxMinor: 190 }),
    entries: [['InvoicePaid:in_1', 'Dr unallocated_receipts 1189', 'Cr revenue_membership_fees 999', 'Cr vat_payable 190']],
  },
  FleetStatementIssued: {
    event: aFleetStatement({ statementId: 'st_1', accountId: 'ACME', sessionIds: ['a', 'b'], sessionsExclVatMinor: 10_000, fixedFeeMinor: 2000 }),
    entries: [['FleetStatementIssued:st_1', 'Dr fleet_receivable[ACME] 14280', 'Cr fleet_unbilled[ACME] 10000', 'Cr revenue_fleet_plan 2000', 'Cr vat_payable 2280']],
  },
  RoamingCdrAccepted: {
    event: aRoamingCdr({ cdrId: 'cdr_1', partnerId: 'NL-EMSP', sessionId: 's1', exclVatMinor: 1000 }),
    entries: [['RoamingCdrAccepted:cdr_1', 'Dr roaming_receivable[NL-EMSP] 1190', 'Cr roaming_unbilled[NL-EMSP] 1000', 'Cr vat_payable 190']],
  },
};

/** The event types named in the first column of docs/accounting.md's "Posting rules" table, and the rows naming none. */
function docsPostingRulesTable(): { eventTypes: Set<string>; rowsWithoutEvent: string[] } {
  const markdown = readFileSync(new URL('../../../docs/accounting.md', import.meta.url), 'utf8');
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Posting rules\n'));
  if (!section) throw new Error('docs/accounting.md has no "## Posting rules" section');
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('|'))
    .slice(2) // header and separator
    .map((l) => l.split('|')[1]!.trim());
  const eventTypes = new Set<string>();
  const rowsWithoutEvent: string[] = [];
  for (const cell of rows) {
    const named = [...cell.matchAll(/`([A-Z][A-Za-z]+)`/g)].map((m) => m[1]!);
    if (named.length === 0) rowsWithoutEvent.push(cell);
    for (const name of named) eventTypes.add(name);
  }
  return { eventTypes, rowsWithoutEvent };
}

const sorted = (names: Iterable<string>) => [...names].sort();

describe('posting rule map', () => {
  it('has one rule per event type the ledger consumer subscribes to and the docs table lists, no more and no fewer', () => {
    const subscription = SUBSCRIPTIONS.find((s) => s.ruleName === 'BookMoneyEventsInLedger');
    expect(subscription?.consumer).toBe('ledger');
    const subscribed = sorted(subscription!.events.map((e) => e.detailType));
    const docs = docsPostingRulesTable();
    expect(sorted(Object.keys(POSTING_RULES))).toEqual(subscribed);
    expect(sorted(Object.keys(LEDGER_CONTRACTS))).toEqual(subscribed);
    expect(sorted(docs.eventTypes)).toEqual(subscribed);
    // The rows that name no event: the fee of a capture and the operator's write-off.
    expect(docs.rowsWithoutEvent).toEqual(['its fee (`feeMinor`)', 'admin write-off']);
  });

  it.each(Object.keys(TYPICAL) as LedgerDetailType[])('%s: a typical event books balanced entries of its own, dated when it happened', (detailType) => {
    const { event, entries, memo } = TYPICAL[detailType];
    expect(event.detailType).toBe(detailType);
    const plan = applyRule(event);
    expect(show(event)).toEqual(entries);
    for (const entry of plan.entries) {
      const sum = (side: 'debit' | 'credit') => entry.lines.filter((l) => l.side === side).reduce((total, l) => total + BigInt(l.amountMinor), 0n);
      expect(sum('debit')).toBeGreaterThan(0n);
      expect(sum('debit')).toBe(sum('credit'));
      expect(entry.date).toBe(businessDate(event));
      expect(entry.source).toEqual({ eventId: event.metadata.id, detailType });
    }
    expect(plan.date).toBe(businessDate(event));
    if (memo) expect(plan.memo).toMatch(memo);
    else expect(plan.memo).toBeUndefined();
  });

  /** The other rows of the docs table: each variant through its rule, balanced (or, where the table says "—", no entry). */
  it.each([
    ['SessionPriced, member', aSessionPriced({ sessionId: 'm', kind: 'member', energyMinor: 1000, idleMinor: 200 }).event, 1],
    ['SessionPriced, fleet', aSessionPriced({ sessionId: 'f', kind: 'fleet', energyMinor: 1000 }).event, 1],
    ['SessionPriced, roaming', aSessionPriced({ sessionId: 'r', kind: 'roaming', energyMinor: 1000 }).event, 1],
    ['SessionPriced, free', aSessionPriced({ sessionId: 'z', kind: 'free' }).event, 0],
    ['SessionPaymentSettled, captured', aSettlement({ sessionId: 'c', sessionTotalMinor: 1000 }), 0],
    ['PaymentCaptured without a session', aPaymentCaptured({ chargeId: 'ch_2', capturedMinor: 700 }), 1],
    ['PaymentRefunded failed', aRefund({ refundId: 're_2', chargeId: 'ch_1', amountMinor: 250, status: 'failed' }), 1],
    ['DisputeClosed won', aDisputeClosed({ disputeId: 'dp_2', chargeId: 'ch_1', amountMinor: 1000, status: 'won' }), 1],
    ['InvoicePaid, fleet statement', anInvoicePaid({ invoiceId: 'in_f', kind: 'fleet_statement', amountPaidMinor: 14280, statementId: 'st_1', accountId: 'ACME' }), 1],
    ['InvoicePaid, other', anInvoicePaid({ invoiceId: 'in_o', kind: 'other', amountPaidMinor: 500 }), 0],
    ['RoamingCdrAccepted, credit CDR', aRoamingCdr({ cdrId: 'cdr_2', partnerId: 'NL-EMSP', sessionId: 's1', exclVatMinor: 1000, credit: true, creditsCdrId: 'cdr_1' }), 1],
  ] as const)('%s', (_name, event, entryCount) => {
    const plan = applyRule(event);
    expect(plan.entries).toHaveLength(entryCount);
    for (const entry of plan.entries) {
      const sum = (side: 'debit' | 'credit') => entry.lines.filter((l) => l.side === side).reduce((total, l) => total + BigInt(l.amountMinor), 0n);
      expect(sum('debit')).toBe(sum('credit'));
    }
    expect(planPostings(event)).toEqual(plan);
  });

  it('planPostings dispatches to the rule of the event type', () => {
    for (const { event } of Object.values(TYPICAL)) expect(planPostings(event)).toEqual(applyRule(event));
  });

  it('refuses an event type without a rule, as parsing does', () => {
    const event = { ...TYPICAL.PayoutPaid.event, detailType: 'PayoutCanceled' } as unknown as LedgerEvent;
    expect(() => parseLedgerEvent('PayoutCanceled', {})).toThrow(new RangeError('the ledger does not book PayoutCanceled'));
    expect(() => planPostings(event)).toThrow(new RangeError('the ledger does not book PayoutCanceled'));
    expect(() => planPostings({ ...event, detailType: 'toString' } as unknown as LedgerEvent)).toThrow(RangeError);
  });
});
