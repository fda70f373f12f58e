import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, adminClient } from './admin-client.ts';

const USAGE = `voltledger entitlements resync

Re-reads every subscription from Stripe, recomputes every driver's membership and rewrites the
idTags a lost webhook left wrong; prints the report { checked, subscriptions, changed, failed }.
Runs in the stack (POST /admin/jobs/resync-memberships): --admin-url URL (default
http://127.0.0.1:8080/admin) with ADMIN_TOKEN or --admin-token. On AWS it also runs hourly.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: ADMIN_OPTIONS });
  if (values.help || positionals[0] !== 'resync' || positionals.length !== 1) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const client = await adminClient({ adminUrl: values['admin-url'], adminToken: values['admin-token'], dataDir: values['data-dir'] && resolve(values['data-dir']) });
  try {
    const result = await client.call('POST', '/jobs/resync-memberships');
    console.log(JSON.stringify(result.body, null, 2));
    return result.status === 200 && result.body.failed?.length === 0 ? 0 : 1;
  } finally {
    await client.close();
  }
}
