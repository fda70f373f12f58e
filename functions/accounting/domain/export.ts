import type { Chart } from './chart.ts';
import type { JournalEntry } from './journal.ts';
import { minorToDecimal } from '../../shared/money.ts';

export interface RevenueRow {
  date: string;
  currency: string;
  siteId: string;
  billingModel: string;
  accountCode: string;
  accountName: string;
  /** Credits minus debits: revenue positive, refunds (contra revenue) negative. */
  amountMinor: number;
  amount: string;
  entries: number;
}

/** Accounts a revenue export covers: revenue, contra revenue, and the VAT charged on it. */
const isRevenueLike = (chart: Chart, account: string) => {
  const a = chart[account as keyof Chart];
  return a && (a.type === 'revenue' || a.type === 'contra_revenue' || a.key === 'vat_payable');
};

/**
 * The day's revenue by site, billing model and account, for operators who import files: one row
 * per (currency, site, billing model, account), from the ledger's entries dated that day.
 */
export function revenueByDay(date: string, entries: JournalEntry[], chart: Chart): RevenueRow[] {
  const rows = new Map<string, RevenueRow & { ids: Set<string> }>();
  for (const entry of entries) {
    if (entry.date.slice(0, 10) !== date) continue;
    for (const l of entry.lines) {
      if (!isRevenueLike(chart, l.account)) continue;
      const account = chart[l.account as keyof Chart];
      const siteId = entry.refs.siteId ?? '';
      const billingModel = entry.refs.billingModel ?? '';
      const key = [entry.currency, siteId, billingModel, account.code].join('|');
      const row = rows.get(key) ?? { date, currency: entry.currency, siteId, billingModel, accountCode: account.code, accountName: account.name, amountMinor: 0, amount: '', entries: 0, ids: new Set<string>() };
      row.amountMinor += l.side === 'credit' ? l.amountMinor : -l.amountMinor;
      row.ids.add(entry.entryId);
      rows.set(key, row);
    }
  }
  return [...rows.values()]
    .map(({ ids, ...row }) => ({ ...row, amount: minorToDecimal(row.amountMinor, row.currency), entries: ids.size }))
    .sort((a, b) => a.currency.localeCompare(b.currency) || a.siteId.localeCompare(b.siteId) || a.billingModel.localeCompare(b.billingModel) || a.accountCode.localeCompare(b.accountCode));
}

const CSV_COLUMNS: Array<keyof RevenueRow> = ['date', 'currency', 'siteId', 'billingModel', 'accountCode', 'accountName', 'amount', 'amountMinor', 'entries'];

/** RFC 4180 CSV with a header row; a cell with a comma, quote or newline is quoted. */
export function toCsv(rows: RevenueRow[]): string {
  const cell = (v: unknown) => {
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
