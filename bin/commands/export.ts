import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { toCsv, type RevenueRow } from '../../functions/accounting/domain/export.ts';
import { ADMIN_OPTIONS, adminClient } from './admin-client.ts';

const USAGE = `voltledger export --date YYYY-MM-DD [--format csv|json] [--out FILE]

The day's revenue (UTC day) by site, billing model and account, from the ledger: one row per
currency, site, billing model and account (revenue, refunds as contra revenue, and VAT), amounts
as decimals and minor units. For operators who import files into their accounting system; the
entries themselves reach it in real time through the accounting webhook.
Runs against the stack's admin API: --admin-url URL (default http://127.0.0.1:8080/admin) with
ADMIN_TOKEN or --admin-token, or --data-dir DIR against a stopped local stack's data.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...ADMIN_OPTIONS, date: { type: 'string' }, format: { type: 'string', default: 'csv' }, out: { type: 'string' } } });
  if (values.help || !values.date) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (values.format !== 'csv' && values.format !== 'json') {
    console.error(`--format must be csv or json\n\n${USAGE}`);
    return 2;
  }
  const client = await adminClient({ adminUrl: values['admin-url'], adminToken: values['admin-token'], dataDir: values['data-dir'] && resolve(values['data-dir']) });
  try {
    const result = await client.call('GET', `/ledger/export?date=${encodeURIComponent(values.date)}&format=json`);
    if (result.status !== 200) {
      console.error(JSON.stringify(result.body, null, 2));
      return 1;
    }
    const rows = result.body.rows as RevenueRow[];
    const text = values.format === 'csv' ? toCsv(rows) : JSON.stringify({ date: values.date, rows }, null, 2) + '\n';
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
    return 0;
  } finally {
    await client.close();
  }
}
