import { z } from 'zod';

/** The kind of an account, as a balance sheet and an income statement group them. */
export type AccountType = 'asset' | 'liability' | 'revenue' | 'contra_revenue' | 'expense';

/** One account of the chart: a stable key the ledger writes, and what the accountant sees. */
export interface Account {
  key: AccountKey;
  code: string;
  name: string;
  type: AccountType;
  /** QuickBooks Online account id (AccountRef.value); defaults to the code. */
  quickbooksAccountId?: string;
  /** Xero account code; defaults to the code. */
  xeroAccountCode?: string;
}

/**
 * The default chart of accounts, numbered the way small-business charts usually are (1xxx assets,
 * 2xxx liabilities, 4xxx revenue, 6xxx expenses). Keys are what the ledger stores; codes and names
 * can be overridden (PUT /admin/ledger/chart) without touching a single stored entry.
 */
export const DEFAULT_ACCOUNTS = {
  bank: { code: '1000', name: 'Bank', type: 'asset' },
  stripe_clearing: { code: '1050', name: 'Stripe clearing (captured, not yet paid out)', type: 'asset' },
  disputed_funds: { code: '1060', name: 'Disputed funds withheld by Stripe', type: 'asset' },
  driver_receivable: { code: '1100', name: 'Driver receivables (card sessions not yet collected)', type: 'asset' },
  fleet_receivable: { code: '1110', name: 'Fleet receivables (invoiced)', type: 'asset' },
  fleet_unbilled: { code: '1115', name: 'Fleet sessions not yet invoiced', type: 'asset' },
  roaming_receivable: { code: '1120', name: 'Roaming receivables (by eMSP)', type: 'asset' },
  roaming_unbilled: { code: '1125', name: 'Roaming sessions not yet in an accepted CDR', type: 'asset' },
  vat_payable: { code: '2200', name: 'VAT / sales tax payable', type: 'liability' },
  unallocated_receipts: { code: '2400', name: 'Unallocated Stripe receipts', type: 'liability' },
  revenue_retail_energy: { code: '4000', name: 'Charging revenue - energy (retail)', type: 'revenue' },
  revenue_retail_time: { code: '4010', name: 'Charging revenue - time (retail)', type: 'revenue' },
  revenue_idle_fees: { code: '4020', name: 'Idle fees', type: 'revenue' },
  revenue_session_fees: { code: '4030', name: 'Session fees (retail)', type: 'revenue' },
  revenue_membership: { code: '4100', name: 'Charging revenue - members', type: 'revenue' },
  revenue_membership_fees: { code: '4110', name: 'Membership fees (subscriptions)', type: 'revenue' },
  revenue_fleet: { code: '4200', name: 'Charging revenue - fleet', type: 'revenue' },
  revenue_fleet_plan: { code: '4210', name: 'Fleet plan fees and overage', type: 'revenue' },
  revenue_roaming: { code: '4300', name: 'Charging revenue - roaming', type: 'revenue' },
  price_rounding: { code: '4900', name: 'Price rounding differences', type: 'revenue' },
  refunds: { code: '4950', name: 'Refunds (contra revenue)', type: 'contra_revenue' },
  stripe_fees: { code: '6100', name: 'Stripe processing fees', type: 'expense' },
  dispute_losses: { code: '6110', name: 'Dispute losses', type: 'expense' },
  dispute_fees: { code: '6120', name: 'Dispute fees', type: 'expense' },
  small_amount_write_offs: { code: '6130', name: 'Small-amount write-offs', type: 'expense' },
  bad_debts: { code: '6140', name: 'Bad debts written off', type: 'expense' },
} as const satisfies Record<string, { code: string; name: string; type: AccountType }>;

export type AccountKey = keyof typeof DEFAULT_ACCOUNTS;
export const ACCOUNT_KEYS = Object.keys(DEFAULT_ACCOUNTS) as AccountKey[];

export function isAccountKey(key: string): key is AccountKey {
  return Object.hasOwn(DEFAULT_ACCOUNTS, key);
}

/** An operator's changes to the default chart: per account key, any of code, name and accounting-system ids. */
export const ChartOverrideSchema = z.strictObject({
  accounts: z
    .record(
      z.string(),
      z.strictObject({
        code: z.string().min(1).max(32).optional(),
        name: z.string().min(1).max(128).optional(),
        quickbooksAccountId: z.string().min(1).max(32).optional(),
        xeroAccountCode: z.string().min(1).max(32).optional(),
      }),
    )
    .refine((accounts) => Object.keys(accounts).every(isAccountKey), { message: `account keys are ${ACCOUNT_KEYS.join(', ')}` }),
});
export type ChartOverride = z.infer<typeof ChartOverrideSchema>;

/** The chart in force: the defaults with the override applied. */
export type Chart = Readonly<Record<AccountKey, Account>>;

export function buildChart(override: ChartOverride = { accounts: {} }): Chart {
  const chart = Object.fromEntries(
    ACCOUNT_KEYS.map((key) => [key, { key, ...DEFAULT_ACCOUNTS[key], ...(override.accounts[key] ?? {}) }]),
  ) as Record<AccountKey, Account>;
  const codes = new Map<string, string>();
  for (const account of Object.values(chart)) {
    const other = codes.get(account.code);
    if (other) throw new RangeError(`accounts ${other} and ${account.key} share the code ${account.code}`);
    codes.set(account.code, account.key);
  }
  return chart;
}

export const DEFAULT_CHART: Chart = buildChart();
