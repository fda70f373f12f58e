import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, adminClient } from './admin-client.ts';

const USAGE = `voltledger reconcile --date YYYY-MM-DD | --payout po_... [--json]

Reconciles VoltLedger's session settlements, Stripe (balance transactions: charges, partial-capture
releases, refunds, disputes, fees, net, available_on, payout membership) and the ledger, for a UTC
day or a payout, and classifies every difference: matched, pending_settlement, fee, refund,
dispute, missing_in_stripe, missing_in_ledger, amount_mismatch, unknown. Prints a table (or the
report as JSON with --json); exits 1 when a difference is unexplained. The report is stored
(GET /admin/reconciliations?date=...). On AWS it also runs daily and on every paid payout.
Runs in the stack: --admin-url URL (default http://127.0.0.1:8080/admin) with ADMIN_TOKEN or --admin-token.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...ADMIN_OPTIONS, date: { type: 'string' }, payout: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (values.help || Boolean(values.date) === Boolean(values.payout)) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const client = await adminClient({ adminUrl: values['admin-url'], adminToken: values['admin-token'], dataDir: values['data-dir'] && resolve(values['data-dir']) });
  try {
    const result = await client.call('POST', '/reconciliations', values.date ? { date: values.date } : { payoutId: values.payout });
    if (result.status !== 200) {
      console.error(JSON.stringify(result.body, null, 2));
      return 1;
    }
    const { table, ...report } = result.body;
    console.log(values.json ? JSON.stringify(report, null, 2) : table);
    return report.explained ? 0 : 1;
  } finally {
    await client.close();
  }
}
