import { describe, expect, it } from 'vitest';
import { createChargePointService } from '../../../functions/ocpp/domain/charge-point-service.ts';
import type { CentralSystemConfig } from '../../../functions/ocpp/domain/config.ts';
import { inMemoryPorts } from './support/in-memory-ports.ts';

/** Authorize, answered from the entitlement cache through in-memory ports. */

const CP = 'CP-1';

function setup(config: Partial<CentralSystemConfig> = {}) {
  const ports = inMemoryPorts('2026-11-23T10:00:00.000Z');
  ports.registry.addChargePoint({ chargePointId: CP });
  const service = createChargePointService(ports, { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: 3600, ...config });
  const authorize = (idTag: string) => service.handlers.Authorize(CP, { idTag }, 'm1');
  return { ports, authorize };
}

describe('Authorize', () => {
  it('accepts a known idTag, passing on its expiry and parent idTag', async () => {
    const { ports, authorize } = setup();
    ports.entitlements.add({ idTag: 'RFID-1', expiryDate: '2027-01-01T00:00:00.000Z', parentIdTag: 'GROUP-1' });
    expect(await authorize('RFID-1')).toEqual({ idTagInfo: { status: 'Accepted', expiryDate: '2027-01-01T00:00:00.000Z', parentIdTag: 'GROUP-1' } });
  });

  it('finds the idTag case-insensitively (CiString20)', async () => {
    const { ports, authorize } = setup();
    ports.entitlements.add({ idTag: 'RFID-1' });
    expect(await authorize('rfid-1')).toEqual({ idTagInfo: { status: 'Accepted' } });
  });

  it('answers a blocked idTag Blocked', async () => {
    const { ports, authorize } = setup();
    ports.entitlements.add({ idTag: 'RFID-B', status: 'Blocked' });
    expect(await authorize('RFID-B')).toEqual({ idTagInfo: { status: 'Blocked' } });
  });

  it('answers an unknown idTag Invalid', async () => {
    const { authorize } = setup();
    expect(await authorize('NOBODY')).toEqual({ idTagInfo: { status: 'Invalid' } });
  });

  it('answers Expired once the expiry has passed by the injected clock', async () => {
    const { ports, authorize } = setup();
    ports.entitlements.add({ idTag: 'RFID-E', expiryDate: '2026-11-23T10:00:00.000Z' });
    expect(await authorize('RFID-E')).toEqual({ idTagInfo: { status: 'Expired', expiryDate: '2026-11-23T10:00:00.000Z' } });
    ports.clock.set('2026-11-23T09:59:59.999Z');
    expect(await authorize('RFID-E')).toEqual({ idTagInfo: { status: 'Accepted', expiryDate: '2026-11-23T10:00:00.000Z' } });
  });

  it('with single-session enforcement, answers ConcurrentTx while the idTag charges elsewhere; a stale hold no longer counts', async () => {
    const { ports, authorize } = setup({ singleSessionPerIdTag: true, activeSessionMaxAgeSeconds: 3600 });
    ports.entitlements.add({ idTag: 'RFID-C', activeSession: { transactionId: 7, chargePointId: 'CP-2', since: '2026-11-23T09:30:00.000Z' } });
    expect(await authorize('RFID-C')).toEqual({ idTagInfo: { status: 'ConcurrentTx' } });
    ports.clock.set('2026-11-23T10:30:00.000Z');
    expect(await authorize('RFID-C')).toEqual({ idTagInfo: { status: 'Accepted' } });
  });

  it('without single-session enforcement, a hold changes nothing', async () => {
    const { ports, authorize } = setup();
    ports.entitlements.add({ idTag: 'RFID-C', activeSession: { transactionId: 7, chargePointId: 'CP-2', since: '2026-11-23T09:30:00.000Z' } });
    expect(await authorize('RFID-C')).toEqual({ idTagInfo: { status: 'Accepted' } });
  });

  it('writes and publishes nothing', async () => {
    const { ports, authorize } = setup();
    ports.entitlements.add({ idTag: 'RFID-1' });
    await authorize('RFID-1');
    expect(ports.events.published).toEqual([]);
    expect(ports.sessions.writes).toEqual([]);
  });
});
