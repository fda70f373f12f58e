import { describe, expect, it } from 'vitest';
import { createAdminApi } from '../../../functions/admin/api.ts';
import type { FleetAccountRecord } from '../../../functions/fleet/domain/account.ts';
import type { FleetAccountStore } from '../../../functions/fleet/domain/ports.ts';
import type { FleetBilling } from '../../../functions/fleet/fleet-billing.ts';
import { fixedClock } from '../../../functions/shared/clock.ts';
import { silentLog } from '../../../functions/shared/log.ts';

// The fleet-account admin routes ask fleet's own port (FleetAccountStore), not the memberships store.

function memoryAccounts(): FleetAccountStore & { records: Map<string, FleetAccountRecord> } {
  const records = new Map<string, FleetAccountRecord>();
  return {
    records,
    getFleet: async (accountId) => records.get(accountId),
    putFleet: async (record) => void records.set(record.accountId, record),
    async *listFleets() {
      yield* records.values();
    },
  };
}

function anApi(accounts: FleetAccountStore) {
  const api = createAdminApi({
    stores: {} as never,
    prices: { getPrice: async () => undefined },
    system: { sendCommand: async () => ({}) as never, completeIdleSessions: async () => 0 },
    clock: fixedClock('2026-11-23T12:00:00Z'),
    log: silentLog,
    fleet: { ...({} as FleetBilling), accounts },
  });
  return (method: string, path: string, body?: unknown) =>
    api({ rawPath: path, headers: {}, body: body === undefined ? '' : JSON.stringify(body), requestContext: { http: { method } } }).then((r) => ({ status: r.statusCode, body: JSON.parse(r.body) }));
}

const ACME = {
  name: 'ACME Logistics GmbH',
  currency: 'EUR',
  billingContact: { email: 'billing@acme.example' },
  taxDetails: { vatPercent: '19', treatment: 'standard', country: 'DE' },
  timeZone: 'Europe/Berlin',
};

describe('admin fleet-account routes', () => {
  it('creates an account (201), replaces it (200) and shows it, through the fleet account store', async () => {
    const accounts = memoryAccounts();
    const call = anApi(accounts);

    const created = await call('PUT', '/admin/fleet-accounts/ACME', ACME);
    const replaced = await call('PUT', '/admin/fleet-accounts/ACME', { ...ACME, name: 'ACME AG' });
    const shown = await call('GET', '/admin/fleet-accounts/ACME');

    expect(created).toEqual({ status: 201, body: { accountId: 'ACME', ...ACME, updatedAt: '2026-11-23T12:00:00.000Z' } });
    expect(replaced.status).toBe(200);
    expect(shown).toEqual({ status: 200, body: { accountId: 'ACME', ...ACME, name: 'ACME AG', updatedAt: '2026-11-23T12:00:00.000Z' } });
    expect(accounts.records.get('ACME')).toEqual(shown.body);
  });

  it('answers 404 for an unknown account and 400 naming the field for a bad one', async () => {
    const call = anApi(memoryAccounts());

    expect((await call('GET', '/admin/fleet-accounts/NOPE')).status).toBe(404);
    expect(await call('PUT', '/admin/fleet-accounts/a%20b', ACME)).toMatchObject({ status: 400, body: { field: 'accountId' } });
    expect(await call('PUT', '/admin/fleet-accounts/ACME', { ...ACME, currency: 'euro' })).toMatchObject({ status: 400 });
  });
});
