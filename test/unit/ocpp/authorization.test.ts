import { describe, expect, it } from 'vitest';
import { decideAuthorization } from '../../../functions/ocpp/domain/authorization.ts';
import type { EntitlementRecord } from '../../../functions/ocpp/domain/model.ts';
import { parseBasicAuth, hashPassword, verifyPassword } from '../../../functions/ocpp/domain/passwords.ts';

const now = new Date('2026-11-23T12:00:00Z');
const anEntitlement = (overrides: Partial<EntitlementRecord> = {}): EntitlementRecord => ({
  idTag: 'TAG1',
  status: 'Accepted',
  updatedAt: '2026-11-01T00:00:00Z',
  ...overrides,
});

describe('decideAuthorization', () => {
  it.each([
    ['an unknown idTag', undefined, { status: 'Invalid' }],
    ['an accepted idTag', anEntitlement(), { status: 'Accepted' }],
    ['a blocked idTag', anEntitlement({ status: 'Blocked' }), { status: 'Blocked' }],
    [
      'an accepted idTag past its expiry',
      anEntitlement({ expiryDate: '2026-11-23T11:59:59Z' }),
      { status: 'Expired', expiryDate: '2026-11-23T11:59:59Z' },
    ],
    [
      'an accepted idTag before its expiry, with a parent',
      anEntitlement({ expiryDate: '2026-12-01T00:00:00Z', parentIdTag: 'FLEET' }),
      { status: 'Accepted', expiryDate: '2026-12-01T00:00:00Z', parentIdTag: 'FLEET' },
    ],
  ])('answers %s', (_name, record, expected) => {
    expect(decideAuthorization(record, now)).toEqual(expected);
  });
});

describe('decideAuthorization with single-session enforcement', () => {
  const policy = { rejectConcurrent: true, activeSessionMaxAgeMs: 24 * 3600_000 };
  const charging = (since: string) => anEntitlement({ activeSession: { transactionId: 7, chargePointId: 'CP-A', since } });

  it.each([
    ['charging in a live transaction', charging('2026-11-23T10:00:00Z'), policy, 'ConcurrentTx'],
    ['charging, but enforcement is off', charging('2026-11-23T10:00:00Z'), { ...policy, rejectConcurrent: false }, 'Accepted'],
    ['holding a marker older than the limit (a lost StopTransaction)', charging('2026-11-22T11:59:59Z'), policy, 'Accepted'],
    ['not charging', anEntitlement(), policy, 'Accepted'],
  ] as const)('answers an idTag %s', (_name, record, p, status) => {
    expect(decideAuthorization(record, now, p).status).toBe(status);
  });

  it('keeps Blocked and Expired ahead of ConcurrentTx', () => {
    expect(decideAuthorization({ ...charging('2026-11-23T10:00:00Z'), status: 'Blocked' }, now, policy).status).toBe('Blocked');
    expect(decideAuthorization({ ...charging('2026-11-23T10:00:00Z'), expiryDate: '2026-01-01T00:00:00Z' }, now, policy).status).toBe('Expired');
  });
});

describe('passwords', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(stored).not.toContain('correct horse');
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery!', stored)).toBe(false);
    expect(await verifyPassword('x', 'not-a-hash')).toBe(false);
  });

  it('salts: the same password hashes differently', async () => {
    expect(await hashPassword('same password here')).not.toBe(await hashPassword('same password here'));
  });

  it('parses Basic auth, keeping colons in the password', () => {
    const header = `Basic ${Buffer.from('CP-1:pa:ss').toString('base64')}`;
    expect(parseBasicAuth(header)).toEqual({ username: 'CP-1', password: 'pa:ss' });
    expect(parseBasicAuth('Bearer abc')).toBeNull();
    expect(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toBeNull();
    expect(parseBasicAuth(undefined)).toBeNull();
  });
});
