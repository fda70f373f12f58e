import { describe, expect, it } from 'vitest';
import { decimalToMinor, minorToDecimal } from '../../../functions/shared/money.ts';
import { assertBalanced } from '../../../functions/accounting/domain/journal.ts';
import { UnbalancedEntryError, UnknownAccountError } from '../../../functions/accounting/domain/errors.ts';
import { planPostings, writeOffEntry } from '../../../functions/accounting/domain/posting-rules.ts';
import { buildChart } from '../../../functions/accounting/domain/chart.ts';
import { signatureHeader, verifySignature } from '../../../functions/accounting/domain/signature.ts';
import {
  aDisputeClosed,
  aDisputeOpened,
  aFleetStatement,
  aHoldReleased,
  anInvoicePaid,
  aPaymentCaptured,
  aPayoutFailed,
  aRefund,
  aRoamingCdr,
  aSessionPriced,
  aSettlement,
} from './builders.ts';

const lines = (event: Parameters<typeof planPostings>[0]) => planPostings(event).entries.map((e) => e.lines.map((l) => `${l.side === 'debit' ? 'Dr' : 'Cr'} ${l.account}${l.party ? `[${l.party}]` : ''} ${l.amountMinor}`));

describe('posting rules', () => {
  describe('revenue recognition (SessionPriced)', () => {
    it('retail: receivable incl. VAT against revenue split energy / time / idle / session fee, and VAT', () => {
      const { event } = aSessionPriced({ sessionId: 's', energyMinor: 1000, timeMinor: 200, idleMinor: 300, fixedMinor: 50, vatPercent: 19 });
      expect(lines(event)).toEqual([['Dr driver_receivable 1845', 'Cr revenue_retail_energy 1000', 'Cr revenue_retail_time 200', 'Cr revenue_idle_fees 300', 'Cr revenue_session_fees 50', 'Cr vat_payable 295']]);
    });

    it.each([
      ['member', ['Dr driver_receivable 1428', 'Cr revenue_membership 1000', 'Cr revenue_idle_fees 200', 'Cr vat_payable 228']],
      ['fleet', ['Dr fleet_unbilled[ACME] 1200', 'Cr revenue_fleet 1200']],
      ['roaming', ['Dr roaming_unbilled[ACME] 1200', 'Cr revenue_roaming 1200']],
    ] as const)('%s', (kind, expected) => {
      const { event } = aSessionPriced({ sessionId: 's', kind, party: 'ACME', energyMinor: 1000, idleMinor: 200 });
      expect(lines(event)).toEqual([expected]);
    });

    it('free: no entry, closed as free', () => {
      const plan = planPostings(aSessionPriced({ sessionId: 's', kind: 'free' }).event);
      expect(plan.entries).toEqual([]);
      expect(plan.closures).toEqual([expect.objectContaining({ sessionId: 's', kind: 'free' })]);
    });

    it('states a rounding difference between the rounded components and the rounded total on its own line', () => {
      const priced = aSessionPriced({ sessionId: 's', energyMinor: 1000 });
      const data = { ...priced.data, total_cost: { excl_vat: '10.01', incl_vat: '11.91' }, totalMinor: 1191 };
      const plan = planPostings({ ...priced.event, data } as never);
      expect(plan.entries[0]!.lines).toContainEqual({ account: 'price_rounding', side: 'credit', amountMinor: 1 });
    });
  });

  describe('money events', () => {
    it.each([
      ['capture with fee: receivable to clearing, fee out of clearing', aPaymentCaptured({ sessionId: 's', chargeId: 'ch_1', capturedMinor: 1000, feeMinor: 40 }), [['Dr stripe_clearing 1000', 'Cr driver_receivable 1000'], ['Dr stripe_fees 40', 'Cr stripe_clearing 40']]],
      ['capture without a session: unallocated receipts', aPaymentCaptured({ chargeId: 'ch_2', capturedMinor: 700 }), [['Dr stripe_clearing 700', 'Cr unallocated_receipts 700']]],
      ['top-up: same as a capture', aPaymentCaptured({ sessionId: 's', chargeId: 'ch_3', capturedMinor: 300, purpose: 'top_up' }), [['Dr stripe_clearing 300', 'Cr driver_receivable 300']]],
      ['hold released: nothing moved', aHoldReleased({ sessionId: 's', paymentIntentId: 'pi', amountMinor: 5000 }), []],
      ['refund: contra revenue against clearing', aRefund({ refundId: 're', chargeId: 'ch', amountMinor: 250 }), [['Dr refunds 250', 'Cr stripe_clearing 250']]],
      ['failed refund: reversed', aRefund({ refundId: 're', chargeId: 'ch', amountMinor: 250, status: 'failed' }), [['Dr stripe_clearing 250', 'Cr refunds 250']]],
      ['dispute opened: amount withheld, fee expensed', aDisputeOpened({ disputeId: 'dp', chargeId: 'ch', amountMinor: 1000, feeMinor: 1500 }), [['Dr disputed_funds 1000', 'Dr dispute_fees 1500', 'Cr stripe_clearing 2500']]],
      ['dispute won: amount back in clearing', aDisputeClosed({ disputeId: 'dp', chargeId: 'ch', amountMinor: 1000, status: 'won' }), [['Dr stripe_clearing 1000', 'Cr disputed_funds 1000']]],
      ['dispute lost: a loss', aDisputeClosed({ disputeId: 'dp', chargeId: 'ch', amountMinor: 1000, status: 'lost' }), [['Dr dispute_losses 1000', 'Cr disputed_funds 1000']]],
      ['payout failed alone: nothing (it never left clearing in the ledger)', aPayoutFailed({ payoutId: 'po', amountMinor: 100 }), []],
      ['waived settlement: small-amount write-off', aSettlement({ sessionId: 's', sessionTotalMinor: 30, outcome: 'waived', capturedMinor: 0, waivedMinor: 30 }), [['Dr small_amount_write_offs 30', 'Cr driver_receivable 30']]],
      ['captured settlement: nothing (PaymentCaptured books the money)', aSettlement({ sessionId: 's', sessionTotalMinor: 1000 }), []],
      ['fleet statement: receivable incl. VAT, unbilled sessions, plan fee, VAT', aFleetStatement({ statementId: 'st', accountId: 'ACME', sessionIds: ['a', 'b'], sessionsExclVatMinor: 10_000, fixedFeeMinor: 2000 }), [['Dr fleet_receivable[ACME] 14280', 'Cr fleet_unbilled[ACME] 10000', 'Cr revenue_fleet_plan 2000', 'Cr vat_payable 2280']]],
      ['roaming CDR: receivable per eMSP', aRoamingCdr({ cdrId: 'c', partnerId: 'NL-EMSP', sessionId: 's', exclVatMinor: 1000 }), [['Dr roaming_receivable[NL-EMSP] 1190', 'Cr roaming_unbilled[NL-EMSP] 1000', 'Cr vat_payable 190']]],
      ['membership invoice paid: unallocated receipts to membership fees and VAT', anInvoicePaid({ invoiceId: 'in_m', kind: 'membership', amountPaidMinor: 1189, taxMinor: 190 }), [['Dr unallocated_receipts 1189', 'Cr revenue_membership_fees 999', 'Cr vat_payable 190']]],
      ['membership invoice paid without tax: all fee revenue', anInvoicePaid({ invoiceId: 'in_m0', kind: 'membership', amountPaidMinor: 999 }), [['Dr unallocated_receipts 999', 'Cr revenue_membership_fees 999']]],
      ['fleet statement invoice paid: unallocated receipts clear the receivable', anInvoicePaid({ invoiceId: 'in_f', kind: 'fleet_statement', amountPaidMinor: 14280, statementId: 'st', accountId: 'ACME' }), [['Dr unallocated_receipts 14280', 'Cr fleet_receivable[ACME] 14280']]],
      ['other invoice paid: nothing (stays in unallocated receipts)', anInvoicePaid({ invoiceId: 'in_o', kind: 'other', amountPaidMinor: 500 }), []],
      ['credit CDR: the reverse', aRoamingCdr({ cdrId: 'c2', partnerId: 'NL-EMSP', sessionId: 's', exclVatMinor: 1000, credit: true, creditsCdrId: 'c' }), [['Cr roaming_receivable[NL-EMSP] 1190', 'Dr roaming_unbilled[NL-EMSP] 1000', 'Dr vat_payable 190']]],
    ])('%s', (_name, event, expected) => {
      expect(lines(event)).toEqual(expected);
    });

    it('an invoice payment: entry id is the event id, found by invoice and statement, dated when paid; other invoices leave a memo', () => {
      const plan = planPostings(anInvoicePaid({ invoiceId: 'in_f', kind: 'fleet_statement', amountPaidMinor: 100, statementId: 'st', accountId: 'ACME', paidAt: '2026-11-24T10:00:00.000Z' }));
      expect(plan.entries.map((e) => [e.entryId, e.date, e.kind, e.refs])).toEqual([['InvoicePaid:in_f', '2026-11-24T10:00:00.000Z', 'fleet_invoice_paid', { invoiceId: 'in_f', statementId: 'st', fleetAccountId: 'ACME', billingModel: 'fleet' }]]);
      expect(plan.refs).toEqual(['invoice:in_f', 'statement:st']);
      expect(plan.closures).toEqual([]);
      const other = planPostings(anInvoicePaid({ invoiceId: 'in_o', kind: 'other', amountPaidMinor: 500 }));
      expect(other.memo).toMatch(/in_o.*unallocated receipts/);
    });

    it('closes a settled session and the earlier sessions carried into it', () => {
      const plan = planPostings(aSettlement({ sessionId: 'b', sessionTotalMinor: 1000, carriedInMinor: 20, carriedInSessionIds: ['a'], capturedMinor: 1020 }));
      expect(plan.closures.map((c) => [c.sessionId, c.kind])).toEqual([['b', 'captured'], ['a', 'captured']]);
    });

    it('leaves a session with money outstanding open', () => {
      expect(planPostings(aSettlement({ sessionId: 's', sessionTotalMinor: 1000, outcome: 'collection_failed', capturedMinor: 0, outstandingMinor: 1000 })).closures).toEqual([]);
    });

    it('writes off to bad debts, or to small-amount write-offs', () => {
      expect(writeOffEntry({ sessionId: 's', amountMinor: 99, currency: 'eur', reason: 'r', at: '2026-11-23T00:00:00Z' })[0]!.lines.map((l) => l.account)).toEqual(['bad_debts', 'driver_receivable']);
      expect(writeOffEntry({ sessionId: 's', amountMinor: 0, currency: 'EUR', reason: 'r', at: '2026-11-23T00:00:00Z' })).toEqual([]);
    });
  });

  describe('entries that must not be written', () => {
    const base = { entryId: 'x', date: '2026-11-23T00:00:00Z', currency: 'EUR', kind: 'k', description: '', source: { eventId: 'x', detailType: 'X' }, refs: {} };
    it.each([
      ['debits and credits differ', [{ account: 'bank', side: 'debit', amountMinor: 2 }, { account: 'stripe_clearing', side: 'credit', amountMinor: 1 }], UnbalancedEntryError],
      ['a fractional amount', [{ account: 'bank', side: 'debit', amountMinor: 1.5 }, { account: 'stripe_clearing', side: 'credit', amountMinor: 1.5 }], UnbalancedEntryError],
      ['only debits', [{ account: 'bank', side: 'debit', amountMinor: 1 }, { account: 'stripe_clearing', side: 'debit', amountMinor: 1 }], UnbalancedEntryError],
      ['an unknown account', [{ account: 'petty_cash', side: 'debit', amountMinor: 1 }, { account: 'bank', side: 'credit', amountMinor: 1 }], UnknownAccountError],
    ] as const)('%s', (_name, entryLines, error) => {
      expect(() => assertBalanced({ ...base, lines: entryLines as never })).toThrow(error);
    });
  });
});

describe('money', () => {
  it.each([
    ['12.34', 'EUR', 1234],
    ['12.345', 'EUR', 1235],
    ['12.3449', 'EUR', 1234],
    ['1500', 'JPY', 1500],
    ['1.2345', 'KWD', 1235],
    ['-0.01', 'EUR', -1],
  ])('%s %s is %i minor units', (value, currency, minor) => {
    expect(decimalToMinor(value, currency)).toBe(minor);
  });

  it('formats minor units without a float', () => {
    expect(minorToDecimal(5, 'EUR')).toBe('0.05');
    expect(minorToDecimal(-123456789012345, 'EUR')).toBe('-1234567890123.45');
    expect(minorToDecimal(1500, 'JPY')).toBe('1500');
  });
});

describe('chart of accounts', () => {
  it('applies an override by key and refuses two accounts with one code', () => {
    expect(buildChart({ accounts: { stripe_fees: { code: '6800', name: 'Merchant fees' } } }).stripe_fees).toMatchObject({ code: '6800', name: 'Merchant fees', type: 'expense' });
    expect(() => buildChart({ accounts: { bank: { code: '1050' } } })).toThrow(/share the code 1050/);
  });
});

describe('webhook signature', () => {
  it('verifies over the exact body and refuses a changed body, a wrong secret or a stale timestamp', () => {
    const header = signatureHeader('s3cret', 1_800_000_000, '{"a":1}');
    expect(verifySignature('s3cret', header, '{"a":1}', 1_800_000_010)).toBe(true);
    expect(verifySignature('s3cret', header, '{"a":2}', 1_800_000_010)).toBe(false);
    expect(verifySignature('other', header, '{"a":1}', 1_800_000_010)).toBe(false);
    expect(verifySignature('s3cret', header, '{"a":1}', 1_800_000_400)).toBe(false);
    expect(verifySignature('s3cret', 'garbage', '{"a":1}', 1_800_000_010)).toBe(false);
  });
});
