import { describe, expect, it } from 'vitest';
import { buildChart, DEFAULT_CHART } from '../../../functions/accounting/domain/chart.ts';
import { planPostings } from '../../../functions/accounting/domain/posting-rules.ts';
import { docNumber, toQuickBooksJournalEntry } from '../../../functions/accounting/mappers/quickbooks.ts';
import { toXeroManualJournal } from '../../../functions/accounting/mappers/xero.ts';
import { aRoamingCdr, aSessionPriced } from './builders.ts';

const revenue = planPostings(aSessionPriced({ sessionId: 'sess-42', energyMinor: 1000, idleMinor: 250 }).event).entries[0]!;
const cdr = planPostings(aRoamingCdr({ cdrId: 'cdr-9', partnerId: 'NL-EMSP', sessionId: 'sess-9', exclVatMinor: 1000 })).entries[0]!;

describe('QuickBooks Online JournalEntry', () => {
  it('one line per ledger line, positive amounts with PostingType, accounts by QuickBooks id (or code), debits = credits', () => {
    const chart = buildChart({ accounts: { driver_receivable: { quickbooksAccountId: '84' } } });
    const je = toQuickBooksJournalEntry(revenue, chart);
    expect(je).toMatchObject({ TxnDate: '2026-11-23', CurrencyRef: { value: 'EUR' } });
    expect(je.PrivateNote).toContain('SessionPriced:sess-42');
    expect(je.Line.map((l) => [l.JournalEntryLineDetail.PostingType, l.JournalEntryLineDetail.AccountRef.value, l.Amount])).toEqual([
      ['Debit', '84', 14.88],
      ['Credit', '4000', 10],
      ['Credit', '4020', 2.5],
      ['Credit', '2200', 2.38],
    ]);
    expect(je.Line.every((l) => l.DetailType === 'JournalEntryLineDetail')).toBe(true);
    const cents = (type: string) => je.Line.filter((l) => l.JournalEntryLineDetail.PostingType === type).reduce((s, l) => s + Math.round(l.Amount * 100), 0);
    expect(cents('Debit')).toBe(cents('Credit'));
  });

  it('names the eMSP as the customer on a receivable line, and keeps DocNumber within 21 characters', () => {
    const je = toQuickBooksJournalEntry(cdr, DEFAULT_CHART, { 'NL-EMSP': '17' });
    expect(je.Line[0]!.JournalEntryLineDetail.Entity).toEqual({ Type: 'Customer', EntityRef: { value: '17', name: 'NL-EMSP' } });
    expect(je.DocNumber.length).toBeLessThanOrEqual(21);
    expect(docNumber('RoamingCdrAccepted:cdr-9')).toBe(je.DocNumber);
    expect(docNumber('RoamingCdrAccepted:cdr-8')).not.toBe(je.DocNumber);
  });
});

describe('Xero ManualJournal', () => {
  it('signs amounts (debit positive, credit negative) summing to zero, VAT already on its own line', () => {
    const { ManualJournals } = toXeroManualJournal(revenue, DEFAULT_CHART, { baseCurrency: 'EUR' });
    const journal = ManualJournals[0]!;
    expect(journal).toMatchObject({ Date: '2026-11-23', Status: 'POSTED', LineAmountTypes: 'NoTax' });
    expect(journal.JournalLines.map((l) => [l.AccountCode, l.LineAmount])).toEqual([
      ['1100', 14.88],
      ['4000', -10],
      ['4020', -2.5],
      ['2200', -2.38],
    ]);
    expect(journal.JournalLines.reduce((s, l) => s + Math.round(l.LineAmount * 100), 0)).toBe(0);
  });

  it('tracks the eMSP, and refuses an entry outside the base currency', () => {
    const journal = toXeroManualJournal(cdr, DEFAULT_CHART, { baseCurrency: 'EUR', trackingCategory: 'eMSP' }).ManualJournals[0]!;
    expect(journal.JournalLines[0]!.Tracking).toEqual([{ Name: 'eMSP', Option: 'NL-EMSP' }]);
    expect(() => toXeroManualJournal({ ...cdr, currency: 'GBP' }, DEFAULT_CHART, { baseCurrency: 'EUR' })).toThrow(/base currency/);
  });
});
