import type { Chart } from '../domain/chart.ts';
import type { JournalEntry } from '../domain/journal.ts';
import { minorToDecimal } from '../../shared/money.ts';

/** A QuickBooks Online JournalEntry (API v3) as POST /v3/company/{realmId}/journalentry takes it. */
export interface QuickBooksJournalEntry {
  TxnDate: string;
  DocNumber: string;
  PrivateNote: string;
  CurrencyRef: { value: string };
  Line: Array<{
    Id: string;
    Description: string;
    Amount: number;
    DetailType: 'JournalEntryLineDetail';
    JournalEntryLineDetail: {
      PostingType: 'Debit' | 'Credit';
      AccountRef: { value: string; name: string };
      Entity?: { Type: 'Customer'; EntityRef: { value: string; name?: string } };
    };
  }>;
}

/**
 * Maps a ledger entry to a QuickBooks Online JournalEntry. QuickBooks wants decimal amounts (the
 * value is exact: minor units rendered as a decimal string, then read as a number with at most the
 * currency's digits), positive on both sides with PostingType; DocNumber is at most 21 characters,
 * so the full entry id travels in PrivateNote and in the request's `requestid` (idempotency).
 * A line with a party (eMSP, fleet account) names it as the Customer entity, which QuickBooks
 * requires on receivable lines; `customerRefs` maps parties to QuickBooks customer ids.
 */
export function toQuickBooksJournalEntry(entry: JournalEntry, chart: Chart, customerRefs: Record<string, string> = {}): QuickBooksJournalEntry {
  return {
    TxnDate: entry.date.slice(0, 10),
    DocNumber: docNumber(entry.entryId),
    PrivateNote: `${entry.description} [VoltLedger ${entry.entryId}]`,
    CurrencyRef: { value: entry.currency },
    Line: entry.lines.map((line, index) => {
      const account = chart[line.account as keyof Chart];
      return {
        Id: String(index),
        Description: line.memo ?? entry.description,
        Amount: Number(minorToDecimal(line.amountMinor, entry.currency)),
        DetailType: 'JournalEntryLineDetail' as const,
        JournalEntryLineDetail: {
          PostingType: line.side === 'debit' ? ('Debit' as const) : ('Credit' as const),
          AccountRef: { value: account.quickbooksAccountId ?? account.code, name: account.name },
          ...(line.party ? { Entity: { Type: 'Customer' as const, EntityRef: { value: customerRefs[line.party] ?? line.party, name: line.party } } } : {}),
        },
      };
    }),
  };
}

/** A short, stable document number: `VL-` and 18 characters of the entry id's hash. */
export function docNumber(entryId: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (const ch of entryId) {
    const c = ch.codePointAt(0)!;
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return `VL-${h1.toString(36).padStart(7, '0')}${h2.toString(36).padStart(7, '0')}`.slice(0, 21);
}
