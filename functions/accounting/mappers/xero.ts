import type { Chart } from '../domain/chart.ts';
import type { JournalEntry } from '../domain/journal.ts';
import { minorToDecimal } from '../../shared/money.ts';

/** A Xero ManualJournal as PUT /api.xro/2.0/ManualJournals takes it (wrapped in `ManualJournals`). */
export interface XeroManualJournal {
  Narration: string;
  Date: string;
  Status: 'POSTED' | 'DRAFT';
  LineAmountTypes: 'NoTax';
  ShowOnCashBasisReports: boolean;
  JournalLines: Array<{ LineAmount: number; AccountCode: string; Description: string; Tracking?: Array<{ Name: string; Option: string }> }>;
}

/**
 * Maps a ledger entry to a Xero ManualJournal. Xero signs the amount instead of naming a side:
 * debits positive, credits negative, summing to zero. VAT is already its own line (to the VAT
 * account), so LineAmountTypes is NoTax. Xero manual journals are in the organisation's base
 * currency: an entry in another currency is refused rather than booked at a wrong rate.
 * A party (eMSP, fleet account) becomes a tracking option of the `trackingCategory` given.
 */
export function toXeroManualJournal(entry: JournalEntry, chart: Chart, options: { baseCurrency: string; status?: 'POSTED' | 'DRAFT'; trackingCategory?: string }): { ManualJournals: XeroManualJournal[] } {
  if (entry.currency !== options.baseCurrency.toUpperCase()) {
    throw new RangeError(`Xero manual journals are in the base currency ${options.baseCurrency}; entry ${entry.entryId} is in ${entry.currency}`);
  }
  return {
    ManualJournals: [
      {
        Narration: `${entry.description} [VoltLedger ${entry.entryId}]`,
        Date: entry.date.slice(0, 10),
        Status: options.status ?? 'POSTED',
        LineAmountTypes: 'NoTax',
        ShowOnCashBasisReports: true,
        JournalLines: entry.lines.map((line) => {
          const account = chart[line.account as keyof Chart];
          const amount = minorToDecimal(line.amountMinor, entry.currency);
          return {
            // The decimal string read as a number prints back as the same digits in JSON.
            LineAmount: Number(line.side === 'debit' ? amount : `-${amount}`),
            AccountCode: account.xeroAccountCode ?? account.code,
            Description: line.memo ?? entry.description,
            ...(line.party && options.trackingCategory ? { Tracking: [{ Name: options.trackingCategory, Option: line.party }] } : {}),
          };
        }),
      },
    ],
  };
}
