import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAdminApi } from '../../functions/admin/api.ts';
import { buildMembershipDeps } from '../../functions/entitlements/deps.ts';
import { buildAccountingDeps } from '../../functions/accounting/deps.ts';
import { createStores } from '../../functions/ocpp/deps.ts';
import { createPriceReader } from '../../functions/pricing/deps.ts';
import { systemClock } from '../../functions/shared/clock.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { ConfigurationError } from '../../functions/shared/errors.ts';
import { buildFleetBilling, NO_EVENTS } from '../../functions/fleet/deps.ts';
import { ensureTables, localTableNames, startLocalDynamo } from '../../lib/local/dynamodb.ts';

/** One admin API call's outcome. */
export interface AdminResponse {
  status: number;
  body: any;
}

/** Calls the admin API: over HTTP, or in process against a local stack's data folder. */
export interface AdminClient {
  call(method: string, path: string, body?: unknown): Promise<AdminResponse>;
  close(): Promise<void>;
}

/**
 * The admin API over HTTP (`--admin-url`, default http://127.0.0.1:8080/admin, with ADMIN_TOKEN or
 * `--admin-token`), or, with `--data-dir`, the same admin API code in this process against that
 * folder's DynamoDB data (the local stack must not be running: the store allows one process).
 */
export async function adminClient(options: { adminUrl?: string; adminToken?: string; dataDir?: string }): Promise<AdminClient> {
  if (options.dataDir) {
    const dynamoServer = await startLocalDynamo({ dataDir: options.dataDir });
    const dynamo = new DynamoDBClient({ endpoint: dynamoServer.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const tables = localTableNames();
    await ensureTables(dynamo, tables);
    const memberships = buildMembershipDeps({
      dynamo,
      entitlementsTable: tables.Entitlements,
      subscriptions: {
        retrieve: () => Promise.reject(new Error('Stripe is not reachable from --data-dir')),
        list: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('Stripe is not reachable from --data-dir')) }) }),
        listForCustomer: () => Promise.reject(new Error('Stripe is not reachable from --data-dir')),
      },
      log: silentLog,
    });
    const api = createAdminApi({
      stores: createStores(dynamo, tables),
      prices: createPriceReader(dynamo, tables),
      system: {
        sendCommand: () => Promise.reject(new Error('commands to charge points need the running stack')),
        completeIdleSessions: () => Promise.reject(new Error('the sweep needs the running stack')),
      },
      clock: systemClock,
      log: silentLog,
      memberships: { ...memberships, stripeConfigured: false },
      fleet: {
        ...buildFleetBilling({ dynamo, tables, events: NO_EVENTS, clock: systemClock, log: silentLog }),
        issue: () => Promise.reject(new ConfigurationError('issuing a statement needs the running stack (Stripe, events): use --admin-url')),
      },
      // Ledger reads and exports; an entry posted here (a write-off) reaches accounting on the next replay.
      accounting: buildAccountingDeps({ dynamo, ledgerTable: tables.Ledger, sessionsTable: tables.Sessions, events: { publish: async () => {} }, clock: systemClock, log: silentLog }),
    });
    return {
      async call(method, path, body) {
        const result = await api({
          rawPath: `/admin${path}`,
          headers: { 'content-type': 'application/json' },
          body: body === undefined ? '' : JSON.stringify(body),
          requestContext: { http: { method } },
        });
        return { status: result.statusCode, body: JSON.parse(result.body) };
      },
      async close() {
        dynamo.destroy();
        await dynamoServer.close();
      },
    };
  }
  const base = (options.adminUrl ?? 'http://127.0.0.1:8080/admin').replace(/\/+$/, '');
  const token = options.adminToken ?? process.env.ADMIN_TOKEN;
  return {
    async call(method, path, body) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the text: an error page from a proxy is still worth showing
      }
      return { status: response.status, body: parsed };
    },
    async close() {},
  };
}

/** The options every admin-backed command shares, for parseArgs. */
export const ADMIN_OPTIONS = {
  'admin-url': { type: 'string' },
  'admin-token': { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;
