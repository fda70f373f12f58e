import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMIN_OPTIONS, adminClient } from './admin-client.ts';

const USAGE = `voltledger accounting <replay|dead-letters|received> [options]

  replay [--entry ID ...] [--date YYYY-MM-DD]   re-send dead letters (default), given entries, or a
                                                day's entries to the accounting webhook (the receiver
                                                dedupes on the Idempotency-Key, the entry id)
  dead-letters                                  entries that failed every delivery attempt
  received                                      what the local accounting receiver was sent (npm start)

Runs in the stack: --admin-url URL (default http://127.0.0.1:8080/admin) with ADMIN_TOKEN or --admin-token.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { ...ADMIN_OPTIONS, entry: { type: 'string', multiple: true }, date: { type: 'string' } } });
  const action = positionals[0];
  if (values.help || !action || !['replay', 'dead-letters', 'received'].includes(action)) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const client = await adminClient({ adminUrl: values['admin-url'], adminToken: values['admin-token'], dataDir: values['data-dir'] && resolve(values['data-dir']) });
  try {
    const result =
      action === 'replay'
        ? await client.call('POST', '/accounting/replay', values.entry?.length || values.date ? { entryIds: values.entry, date: values.date } : { deadLetters: true })
        : await client.call('GET', action === 'received' ? '/accounting/received' : '/accounting/dead-letters');
    console.log(JSON.stringify(result.body, null, 2));
    if (result.status !== 200) return 1;
    return action === 'replay' && result.body.delivered !== result.body.replayed ? 1 : 0;
  } finally {
    await client.close();
  }
}
