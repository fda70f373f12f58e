import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, startTestStack } from '../support/stack.ts';

const aTariff = (overrides: Record<string, unknown> = {}) => ({
  id: 'T-ADMIN',
  country_code: 'DE',
  party_id: 'VLT',
  currency: 'EUR',
  last_updated: '2026-11-01T00:00:00Z',
  elements: [{ price_components: [{ type: 'ENERGY', price: 0.3, vat: 19, step_size: 1 }] }],
  ...overrides,
});

describe('admin API', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack.close();
  });

  describe('bad requests are 400s that name the field, and change nothing', () => {
    it.each([
      ['a short password', 'PUT', '/charge-points/CP-NEW', { password: 'short' }, 'password'],
      ['no password for a new charge point', 'PUT', '/charge-points/CP-NEW', { timeZone: 'UTC' }, 'password'],
      ['an unknown time zone', 'PUT', '/charge-points/CP-NEW', { password: 'long-enough-password', timeZone: 'Mars/Olympus' }, 'timeZone'],
      ['an unknown field', 'PUT', '/charge-points/CP-NEW', { password: 'long-enough-password', colour: 'red' }, 'colour'],
      ['a body that is not JSON', 'PUT', '/charge-points/CP-NEW', 'not json', '(body)'],
      ['an identity unfit for a URL', 'PUT', '/charge-points/CP%20NEW', { password: 'long-enough-password' }, 'chargePointId'],
      ['an idTag status OCPP does not have', 'PUT', '/id-tags/TAG-NEW', { status: 'Maybe' }, 'status'],
      ['a billing profile missing its account', 'PUT', '/id-tags/TAG-NEW', { status: 'Accepted', billing: { kind: 'fleet' } }, 'billing.accountId'],
      ['an idTag over 20 characters', 'PUT', `/id-tags/${'X'.repeat(21)}`, { status: 'Accepted' }, 'idTag'],
      [
        'a misspelt day_of_week',
        'PUT',
        '/tariffs/T-ADMIN',
        aTariff({ elements: [{ price_components: [{ type: 'ENERGY', price: 0.3, step_size: 1 }], restrictions: { day_of_week: ['MONDAY', 'FUNDAY'] } }] }),
        'elements[0].restrictions.day_of_week[1]',
      ],
      ['a negative price', 'PUT', '/tariffs/T-ADMIN', aTariff({ elements: [{ price_components: [{ type: 'ENERGY', price: -0.3, step_size: 1 }] }] }), 'elements[0].price_components[0].price'],
      ['a tariff id that differs from the path', 'PUT', '/tariffs/T-OTHER', aTariff(), 'id'],
      ['a command OCPP does not define', 'POST', '/charge-points/CP-001/commands', { action: 'SelfDestruct' }, 'action'],
      ['a transactionId that is not a number', 'GET', '/sessions?transactionId=abc', undefined, 'transactionId'],
    ])('%s', async (_name, method, path, body, field) => {
      const response = await admin(stack, method, path, body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ error: 'ValidationError', field });
      expect(await stack.stores.registry.getChargePoint('CP-NEW')).toBeUndefined();
      expect(await stack.stores.entitlements.get('TAG-NEW')).toBeUndefined();
      expect(await stack.stores.tariffs.currentVersion('T-ADMIN')).toBeUndefined();
    });
  });

  describe('authentication', () => {
    it.each([
      ['no token', undefined],
      ['a wrong token', 'Bearer nope'],
    ])('refuses %s with 401', async (_name, authorization) => {
      const response = await fetch(`${stack.adminUrl}/charge-points/CP-001`, { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
    });
  });

  describe('resources', () => {
    it('creates a charge point, never shows its password, and keeps fields not given on update', async () => {
      const created = await admin(stack, 'PUT', '/charge-points/CP-ADMIN', { password: 'long-enough-password', timeZone: 'Europe/Paris', siteId: 'paris-1' });
      expect(created.status).toBe(201);
      const updated = await admin(stack, 'PUT', '/charge-points/CP-ADMIN', { maxPowerKw: 50 });
      expect(updated.status).toBe(200);
      const shown = await admin(stack, 'GET', '/charge-points/CP-ADMIN');
      expect(shown.body).toMatchObject({ chargePointId: 'CP-ADMIN', timeZone: 'Europe/Paris', siteId: 'paris-1', maxPowerKw: 50, hasPassword: true, online: false });
      expect(JSON.stringify(shown.body)).not.toContain('scrypt');
    });

    it('versions tariffs: each PUT stores a new version and older ones stay readable', async () => {
      expect((await admin(stack, 'PUT', '/tariffs/T-VERSIONED', aTariff({ id: 'T-VERSIONED' }))).body.version).toBe(1);
      const second = aTariff({ id: 'T-VERSIONED', elements: [{ price_components: [{ type: 'ENERGY', price: 0.35, vat: 19, step_size: 1 }] }] });
      expect((await admin(stack, 'PUT', '/tariffs/T-VERSIONED', second)).body.version).toBe(2);
      expect((await admin(stack, 'GET', '/tariffs/T-VERSIONED')).body.tariff.elements[0].price_components[0].price).toBe(0.35);
      expect((await admin(stack, 'GET', '/tariffs/T-VERSIONED?version=1')).body.tariff.elements[0].price_components[0].price).toBe(0.3);
    });

    it('answers 404 for what does not exist and 405 for a method a route does not take', async () => {
      expect((await admin(stack, 'GET', '/sessions/sess_999999')).status).toBe(404);
      expect((await admin(stack, 'GET', '/charge-points/NOPE')).status).toBe(404);
      expect((await admin(stack, 'DELETE', '/charge-points/CP-001')).status).toBe(405);
      expect((await admin(stack, 'GET', '/nothing-here')).status).toBe(404);
    });
  });
});
