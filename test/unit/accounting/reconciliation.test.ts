import { describe, expect, it } from 'vitest';
import { planPostings, type LedgerEvent } from '../../../functions/accounting/domain/posting-rules.ts';
import { reconcile, type StripeBalanceTxn } from '../../../functions/accounting/domain/reconciliation.ts';
import type { LedgerFact } from '../../../functions/accounting/domain/ports.ts';
import { aDisputeOpened, aPaymentCaptured, aPayoutPaid, aRefund, aSettlement } from './builders.ts';

const DAY = '2026-11-23';
const txn = (t: Partial<StripeBalanceTxn> & Pick<StripeBalanceTxn, 'id' | 'type' | 'amountMinor' | 'sourceId'>): StripeBalanceTxn => ({
  feeMinor: 0,
  netMinor: t.amountMinor - (t.feeMinor ?? 0),
  currency: 'EUR',
  status: 'available',
  availableOn: '2026-11-25T00:00:00.000Z',
  created: '2026-11-23T10:00:00.000Z',
  ...t,
});
const entriesOf = (events: LedgerEvent[]) => events.flatMap((e) => planPostings(e).entries).map((entry) => ({ entry, postedAt: entry.date }));
const factOf = (e: LedgerEvent): LedgerFact => ({ eventId: e.metadata.id, detailType: e.detailType, date: e.metadata.occurredAt, data: e.data as never, refs: [], entryIds: [], recordedAt: e.metadata.occurredAt });

function run(balanceTransactions: StripeBalanceTxn[], events: LedgerEvent[], extra: Partial<Parameters<typeof reconcile>[0]> = {}) {
  return reconcile({
    scope: { date: DAY },
    runAt: '2026-11-24T01:00:00Z',
    balanceTransactions,
    charges: new Map(),
    sessionCharges: new Map(),
    entries: entriesOf(events),
    settlements: events.filter((e) => e.detailType === 'SessionPaymentSettled').map(factOf),
    ...extra,
  });
}

describe('reconciliation classification', () => {
  it.each([
    ['matched', [txn({ id: 'txn_1', type: 'charge', amountMinor: 1000, sourceId: 'ch_1', sessionId: 's' })], [aPaymentCaptured({ sessionId: 's', chargeId: 'ch_1', capturedMinor: 1000 })]],
    ['pending_settlement', [txn({ id: 'txn_1', type: 'charge', amountMinor: 1000, sourceId: 'ch_1', sessionId: 's', status: 'pending' })], [aPaymentCaptured({ sessionId: 's', chargeId: 'ch_1', capturedMinor: 1000 })]],
    ['missing_in_ledger', [txn({ id: 'txn_1', type: 'charge', amountMinor: 1000, sourceId: 'ch_1', sessionId: 's' })], []],
    ['amount_mismatch', [txn({ id: 'txn_1', type: 'charge', amountMinor: 1000, sourceId: 'ch_1', sessionId: 's' })], [aPaymentCaptured({ sessionId: 's', chargeId: 'ch_1', capturedMinor: 990 })]],
    ['missing_in_stripe', [], [aPaymentCaptured({ sessionId: 's', chargeId: 'ch_1', capturedMinor: 1000 })]],
    ['unknown', [txn({ id: 'txn_9', type: 'topup', amountMinor: 5000, sourceId: 'tu_1' })], []],
    ['unknown', [txn({ id: 'txn_1', type: 'charge', amountMinor: 1000, sourceId: 'ch_1' })], [aPaymentCaptured({ chargeId: 'ch_1', capturedMinor: 1000 })]],
    ['refund', [txn({ id: 'txn_r', type: 'refund', amountMinor: -300, sourceId: 're_1' })], [aRefund({ refundId: 're_1', chargeId: 'ch_1', amountMinor: 300 })]],
    ['dispute', [txn({ id: 'txn_d', type: 'adjustment', reportingCategory: 'dispute', amountMinor: -1000, feeMinor: 1500, sourceId: 'dp_1' })], [aDisputeOpened({ disputeId: 'dp_1', chargeId: 'ch_1', amountMinor: 1000 })]],
    ['matched', [txn({ id: 'txn_p', type: 'payout', amountMinor: -4000, sourceId: 'po_1' })], [aPayoutPaid({ payoutId: 'po_1', amountMinor: 4000 })]],
  ] as const)('%s', (expected, balanceTransactions, events) => {
    const report = run([...balanceTransactions], [...events]);
    expect(report.items.map((i) => i.class)).toEqual([expected]);
    expect(report.explained).toBe(['matched', 'pending_settlement', 'refund', 'dispute', 'fee'].includes(expected));
  });

  it('a Stripe fee is explained when the ledger booked it, and missing when it did not', () => {
    const charge = txn({ id: 'txn_1', type: 'charge', amountMinor: 1000, feeMinor: 40, sourceId: 'ch_1', sessionId: 's' });
    expect(run([charge], [aPaymentCaptured({ sessionId: 's', chargeId: 'ch_1', capturedMinor: 1000, feeMinor: 40, balanceTransactionId: 'txn_1' })]).items.map((i) => `${i.kind}:${i.class}`)).toEqual(['charge:matched', 'fee:fee']);
    expect(run([charge], [aPaymentCaptured({ sessionId: 's', chargeId: 'ch_1', capturedMinor: 1000 })]).items.map((i) => `${i.kind}:${i.class}`)).toEqual(['charge:matched', 'fee:missing_in_ledger']);
  });

  it('compares a settled session with Stripe’s captures and the ledger', () => {
    const settled = aSettlement({ sessionId: 's', sessionTotalMinor: 1000, holdPaymentIntentId: 'pi_1' });
    const charges = new Map([['s', [{ chargeId: 'ch_1', currency: 'EUR', authorizedMinor: 5000, capturedMinor: 1000, releasedMinor: 4000, refundedMinor: 0, captured: true }]]]);
    const ok = run([], [settled, aPaymentCaptured({ sessionId: 's', chargeId: 'ch_1', capturedMinor: 1000, capturedAt: '2026-11-22T10:00:00.000Z' })], { sessionCharges: charges });
    expect(ok.items.filter((i) => i.kind === 'session').map((i) => i.class)).toEqual(['matched']);
    const notCaptured = run([], [settled]);
    expect(notCaptured.items.map((i) => i.class)).toEqual(['missing_in_stripe']);
  });

  it('checks that a payout’s member transactions net to the payout', () => {
    const report = reconcile({
      scope: { payoutId: 'po_1' },
      runAt: '2026-11-26T00:00:00Z',
      balanceTransactions: [txn({ id: 'txn_1', type: 'charge', amountMinor: 1000, feeMinor: 40, sourceId: 'ch_1', sessionId: 's' }), txn({ id: 'txn_p', type: 'payout', amountMinor: -960, netMinor: -960, sourceId: 'po_1' })],
      charges: new Map(),
      sessionCharges: new Map(),
      payout: { payoutId: 'po_1', amountMinor: 960, currency: 'EUR', status: 'paid', arrivalDate: '2026-11-26T00:00:00Z' },
      entries: entriesOf([aPaymentCaptured({ sessionId: 's', chargeId: 'ch_1', capturedMinor: 1000, feeMinor: 40, balanceTransactionId: 'txn_1' }), aPayoutPaid({ payoutId: 'po_1', amountMinor: 960 })]),
      settlements: [],
    });
    expect(report.payout).toMatchObject({ balances: true, membersSumMinor: 960 });
    expect(report.explained).toBe(true);
  });
});
