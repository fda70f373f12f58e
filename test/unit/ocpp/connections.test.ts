import { beforeAll, describe, expect, it } from 'vitest';
import { createChargePointService } from '../../../functions/ocpp/domain/charge-point-service.ts';
import { hashPassword } from '../../../functions/ocpp/domain/passwords.ts';
import { inMemoryPorts } from './support/in-memory-ports.ts';

/** `$connect` authentication with its brute-force lockout, and connections, through in-memory ports. */

const CP = 'CP-1';
let passwordHash: string;
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

beforeAll(async () => {
  passwordHash = await hashPassword('right-password');
});

function setup(connectLockout = { maxFailures: 3, windowSeconds: 300 }) {
  const ports = inMemoryPorts('2026-11-23T10:00:00.000Z');
  ports.registry.addChargePoint({ chargePointId: CP, passwordHash });
  const service = createChargePointService(ports, { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: 3600, connectLockout });
  const connect = (password: string, connectionId = 'conn-1', chargePointId: string | undefined = CP) =>
    service.authenticate({ connectionId, chargePointId, authorization: basic(chargePointId ?? '', password) });
  const warnings = () => ports.log.entries.filter((e) => e.level === 'warn').map((e) => e.message);
  return { ports, service, connect, warnings };
}

describe('$connect authentication', () => {
  it('accepts the right password for the identity and records the connection', async () => {
    const { ports, service, connect } = setup();
    expect(await connect('right-password')).toBe('accepted');
    expect(ports.registry.connections.get('conn-1')).toBe(CP);
    expect(ports.registry.chargePoints.get(CP)).toMatchObject({ connectionId: 'conn-1', lastSeenAt: '2026-11-23T10:00:00.000Z' });
    expect(await service.chargePointFor('conn-1')).toBe(CP);
  });

  it('records the connection at the time the gateway accepted it, when given', async () => {
    const { ports, service } = setup();
    await service.authenticate({ connectionId: 'conn-1', chargePointId: CP, authorization: basic(CP, 'right-password'), connectedAt: '2026-11-23T09:59:59.000Z' });
    expect(ports.registry.chargePoints.get(CP)!.lastSeenAt).toBe('2026-11-23T09:59:59.000Z');
  });

  it('refuses a missing identity, missing or malformed Basic auth, another username, and an unknown identity', async () => {
    const { ports, service, connect, warnings } = setup();
    expect(await service.authenticate({ connectionId: 'c', chargePointId: undefined, authorization: basic(CP, 'right-password') })).toBe('refused');
    expect(await service.authenticate({ connectionId: 'c', chargePointId: CP, authorization: undefined })).toBe('refused');
    expect(await service.authenticate({ connectionId: 'c', chargePointId: CP, authorization: 'Basic !!!' })).toBe('refused');
    expect(await service.authenticate({ connectionId: 'c', chargePointId: CP, authorization: basic('CP-2', 'right-password') })).toBe('refused');
    expect(await connect('whatever', 'c', 'CP-NONE')).toBe('refused');
    expect(warnings()).toEqual([
      'connect refused: no identity or no Basic auth',
      'connect refused: no identity or no Basic auth',
      'connect refused: no identity or no Basic auth',
      'connect refused: Basic auth username differs from the identity',
      'connect refused: unknown charge point',
    ]);
    // No counter for identities that do not exist, nor for refusals that tested no password.
    expect(ports.registry.failures.size).toBe(0);
    expect(ports.registry.connections.size).toBe(0);
  });

  it('counts wrong passwords; at the limit the identity is locked out, even for the right password, until the window has passed', async () => {
    const { ports, connect, warnings } = setup({ maxFailures: 3, windowSeconds: 300 });
    expect(await connect('wrong')).toBe('refused');
    expect(await connect('wrong')).toBe('refused');
    expect(await connect('wrong')).toBe('refused');
    expect(ports.registry.failures.get(CP)).toMatchObject({ failures: 3 });
    expect(await connect('right-password')).toBe('refused');
    expect(warnings()).toEqual([
      'connect refused: wrong password',
      'connect refused: wrong password',
      'connect refused: wrong password; identity now locked out',
      'connect refused: locked out after repeated wrong passwords',
    ]);
    // Refusals while locked test no password, so they are not counted.
    expect(ports.registry.failures.get(CP)).toMatchObject({ failures: 3 });
    ports.clock.set('2026-11-23T10:04:59.000Z');
    expect(await connect('right-password')).toBe('refused');
    ports.clock.set('2026-11-23T10:05:00.000Z');
    expect(await connect('right-password')).toBe('accepted');
  });

  it('with the lockout off (maxFailures 0) counts nothing and never locks', async () => {
    const { ports, connect } = setup({ maxFailures: 0, windowSeconds: 300 });
    for (let i = 0; i < 5; i += 1) expect(await connect('wrong')).toBe('refused');
    expect(ports.registry.failures.size).toBe(0);
    expect(await connect('right-password')).toBe('accepted');
  });
});

describe('connections', () => {
  it('disconnect removes the connection; the charge point is no longer found on it', async () => {
    const { ports, service, connect } = setup();
    await connect('right-password');
    await service.disconnect('conn-1');
    expect(ports.registry.connections.size).toBe(0);
    expect(ports.registry.chargePoints.get(CP)!.connectionId).toBeUndefined();
    expect(await service.chargePointFor('conn-1')).toBeUndefined();
  });

  it('finds the charge point of a connection another process accepted, and remembers it', async () => {
    const { ports, service } = setup();
    ports.registry.connections.set('conn-9', CP);
    expect(await service.chargePointFor('conn-9')).toBe(CP);
    // An immutable fact: a connection id is never reused, so no second read is needed.
    ports.registry.connections.delete('conn-9');
    expect(await service.chargePointFor('conn-9')).toBe(CP);
    expect(await service.chargePointFor('conn-unknown')).toBeUndefined();
  });
});
