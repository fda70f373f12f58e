import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseIdTagCsv } from '../../functions/entitlements/domain/id-tag-csv.ts';
import { ADMIN_OPTIONS, adminClient } from './admin-client.ts';

const USAGE = `voltledger id-tags import FILE.csv [--dry-run]
voltledger id-tags block TAG [--reason TEXT]

  import   creates or replaces one idTag per row (idempotent: run it again, same result).
           Columns: idTag,status[,expiryDate,parentIdTag,billingKind,tier,membershipId,accountId,
           partnerId,channel,reason,tariffId]. Every row is checked first; any error (row number
           and column named) and nothing is written.
  block    blocks a card now: Authorize answers Blocked; no membership change lifts it.

Where:  --admin-url URL (default http://127.0.0.1:8080/admin) with ADMIN_TOKEN or --admin-token,
        or --data-dir DIR to write a stopped local stack's data directly.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...ADMIN_OPTIONS, reason: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } },
  });
  const [action, target, ...extra] = positionals;
  if (values.help || !action) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (!target || extra.length || (action !== 'import' && action !== 'block')) {
    console.error(`voltledger id-tags: expected "import FILE.csv" or "block TAG"\n\n${USAGE}`);
    return 2;
  }
  const connection = { adminUrl: values['admin-url'], adminToken: values['admin-token'], dataDir: values['data-dir'] && resolve(values['data-dir']) };

  if (action === 'block') {
    const client = await adminClient(connection);
    try {
      const result = await client.call('POST', `/id-tags/${encodeURIComponent(target)}/block`, values.reason ? { reason: values.reason } : {});
      if (result.status !== 200) {
        console.error(`voltledger id-tags block: ${result.status} ${JSON.stringify(result.body)}`);
        return 1;
      }
      console.log(`${result.body.idTag}: Blocked`);
      return 0;
    } finally {
      await client.close();
    }
  }

  const { rows, errors } = parseIdTagCsv(readFileSync(target, 'utf8'));
  if (errors.length) {
    for (const e of errors) console.error(`${target}:${e.row}: ${e.field}: ${e.message}`);
    console.error(`voltledger id-tags import: ${errors.length} error(s); nothing imported`);
    return 1;
  }
  if (values['dry-run']) {
    console.log(`${rows.length} row(s) valid; nothing written (--dry-run)`);
    return 0;
  }
  const client = await adminClient(connection);
  let failed = 0;
  try {
    for (const [index, { idTag, ...body }] of rows.entries()) {
      const result = await client.call('PUT', `/id-tags/${encodeURIComponent(idTag)}`, body);
      if (result.status >= 300) {
        failed += 1;
        console.error(`${target}:${index + 2}: ${result.body?.field ?? idTag}: ${result.body?.message ?? JSON.stringify(result.body)}`);
      }
    }
  } finally {
    await client.close();
  }
  console.log(`${rows.length - failed} of ${rows.length} idTag(s) imported`);
  return failed ? 1 : 0;
}
