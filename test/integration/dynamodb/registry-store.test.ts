import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRegistry } from '../../../functions/ocpp/adapters/dynamo-registry.ts';
import type { ConnectorStatusRecord, PendingCall } from '../../../functions/ocpp/domain/model.ts';
import { startLocalTables, type LocalTables } from './local-tables.ts';

const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + minutes * 60_000).toISOString();

// Each test takes its own charge point so the tests share one table without touching each other.
let nextChargePoint = 1;
const aChargePointId = () => `CP-REG-${nextChargePoint++}`;

function aStatus(chargePointId: string, timestamp: string, status: string, overrides: Partial<ConnectorStatusRecord> = {}): ConnectorStatusRecord {
  return { chargePointId, connectorId: 1, status, errorCode: 'NoError', timestamp, receivedAt: t(1000), ...overrides };
}

function aPendingCall(chargePointId: string, messageId: string): PendingCall {
  return { chargePointId, messageId, action: 'Reset', payload: { type: 'Soft' }, state: 'pending', createdAt: t(0) };
}

const aConfiguration = () => ({ passwordHash: 'scrypt$16384$8$1$salt$hash', timeZone: 'Europe/Berlin', tariffId: 'T-1', siteId: 'site-1', maxPowerKw: 22 });

describe('DynamoRegistry on local DynamoDB', () => {
  let local: LocalTables;
  let registry: DynamoRegistry;

  beforeAll(async () => {
    local = await startLocalTables('registry-store');
    registry = new DynamoRegistry(local.client, local.tables.Registry);
  });

  afterAll(async () => {
    await local.close();
  });

  describe('connector status', () => {
    it('keeps the newest status current when statuses arrive out of order, and every status in the timeline', async () => {
      // Prepare: Charging at 10, then a queued Preparing from 5, then Finishing at 20, then a late Charging from 15.
      const cp = aChargePointId();
      const arrivals: Array<[ConnectorStatusRecord, boolean]> = [
        [aStatus(cp, t(10), 'Charging'), true],
        [aStatus(cp, t(5), 'Preparing'), false],
        [aStatus(cp, t(20), 'Finishing'), true],
        [aStatus(cp, t(15), 'SuspendedEV'), false],
      ];

      // Act
      const becameCurrent: boolean[] = [];
      for (const [status] of arrivals) becameCurrent.push(await registry.recordStatus(status));

      // Assess
      expect(becameCurrent).toEqual(arrivals.map(([, current]) => current));
      expect(await registry.getConnectorStatus(cp, 1)).toMatchObject({ status: 'Finishing', timestamp: t(20) });
      expect((await registry.statusTimeline(cp, 1)).map((s) => [s.timestamp, s.status])).toEqual([
        [t(5), 'Preparing'],
        [t(10), 'Charging'],
        [t(15), 'SuspendedEV'],
        [t(20), 'Finishing'],
      ]);
    });

    it('keeps the newest current under concurrent writes in any order', async () => {
      const cp = aChargePointId();
      const statuses = Array.from({ length: 12 }, (_, i) => aStatus(cp, t((i * 5) % 12), `S${(i * 5) % 12}`));

      await Promise.all(statuses.map((status) => registry.recordStatus(status)));

      expect(await registry.getConnectorStatus(cp, 1)).toMatchObject({ status: 'S11', timestamp: t(11) });
      expect(await registry.statusTimeline(cp, 1)).toHaveLength(12);
    });

    it('stores a repeated status once in the timeline', async () => {
      const cp = aChargePointId();
      await registry.recordStatus(aStatus(cp, t(1), 'Available'));
      await registry.recordStatus(aStatus(cp, t(1), 'Available', { receivedAt: t(2000) }));
      expect(await registry.statusTimeline(cp, 1)).toHaveLength(1);
    });

    it('keeps the timelines of two connectors apart, and filters by since', async () => {
      const cp = aChargePointId();
      await registry.recordStatus(aStatus(cp, t(1), 'Charging', { connectorId: 1 }));
      await registry.recordStatus(aStatus(cp, t(2), 'Faulted', { connectorId: 2, errorCode: 'GroundFailure' }));
      await registry.recordStatus(aStatus(cp, t(3), 'Finishing', { connectorId: 1 }));

      expect((await registry.statusTimeline(cp, 1)).map((s) => s.status)).toEqual(['Charging', 'Finishing']);
      expect((await registry.statusTimeline(cp, 2)).map((s) => s.status)).toEqual(['Faulted']);
      expect((await registry.statusTimeline(cp, 1, t(2))).map((s) => s.status)).toEqual(['Finishing']);
      expect(await registry.connectorStatuses(cp)).toHaveLength(2);
    });
  });

  describe('pending calls', () => {
    it('settles a pending call once; a second answer changes nothing', async () => {
      // Prepare
      const cp = aChargePointId();
      await registry.putPendingCall(aPendingCall(cp, 'm-1'));

      // Act
      const first = await registry.settlePendingCall(cp, 'm-1', { state: 'accepted', result: { status: 'Accepted' }, answeredAt: t(1) });
      const second = await registry.settlePendingCall(cp, 'm-1', {
        state: 'error',
        error: { code: 'InternalError', description: 'late', details: {} },
        answeredAt: t(2),
      });

      // Assess
      expect([first, second]).toEqual([true, false]);
      expect(await registry.getPendingCall(cp, 'm-1')).toMatchObject({ state: 'accepted', result: { status: 'Accepted' }, answeredAt: t(1) });
    });

    it('lets exactly one of 10 concurrent answers settle a call', async () => {
      const cp = aChargePointId();
      await registry.putPendingCall(aPendingCall(cp, 'm-2'));

      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => registry.settlePendingCall(cp, 'm-2', { state: 'accepted', result: { n: i }, answeredAt: t(i) })),
      );

      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await registry.getPendingCall(cp, 'm-2')).toMatchObject({ state: 'accepted', result: { n: winner }, answeredAt: t(winner) });
    });

    it('does not settle, nor create, a call that was never sent', async () => {
      const cp = aChargePointId();
      expect(await registry.settlePendingCall(cp, 'never', { state: 'accepted', result: {}, answeredAt: t(1) })).toBe(false);
      expect(await registry.getPendingCall(cp, 'never')).toBeUndefined();
    });
  });

  describe('connections', () => {
    it('does not remove a newer connection id from the profile when an old connection goes away', async () => {
      // Prepare: connected, then reconnected before the first connection's $disconnect arrived.
      const cp = aChargePointId();
      await registry.upsertChargePoint(cp, aConfiguration(), t(0));
      await registry.recordConnection('conn-old', cp, t(1));
      await registry.recordConnection('conn-new', cp, t(2));

      // Act
      await registry.removeConnection('conn-old', cp);

      // Assess
      expect((await registry.getChargePoint(cp))?.connectionId).toBe('conn-new');
      expect(await registry.chargePointForConnection('conn-old')).toBeUndefined();
      expect(await registry.chargePointForConnection('conn-new')).toBe(cp);
    });

    it('removes the current connection id when that connection goes away', async () => {
      const cp = aChargePointId();
      await registry.upsertChargePoint(cp, aConfiguration(), t(0));
      await registry.recordConnection('conn-only', cp, t(1));

      await registry.removeConnection('conn-only', cp);

      expect((await registry.getChargePoint(cp))?.connectionId).toBeUndefined();
      expect(await registry.chargePointForConnection('conn-only')).toBeUndefined();
    });
  });

  describe('charge point configuration', () => {
    it('keeps fields an update does not give, and never touches boot, connection or last-seen', async () => {
      // Prepare
      const cp = aChargePointId();
      await registry.upsertChargePoint(cp, aConfiguration(), t(0));
      await registry.recordConnection('conn-1', cp, t(1));
      await registry.recordBoot(cp, { vendor: 'VoltLedger', model: 'Sim-22', bootedAt: t(2) });

      // Act
      const updated = await registry.upsertChargePoint(cp, { tariffId: 'T-2' }, t(3));

      // Assess
      const expected = {
        chargePointId: cp,
        ...aConfiguration(),
        tariffId: 'T-2',
        connectionId: 'conn-1',
        connectedAt: t(1),
        boot: { vendor: 'VoltLedger', model: 'Sim-22', bootedAt: t(2) },
        lastSeenAt: t(2),
        updatedAt: t(3),
      };
      expect(updated).toEqual(expected);
      expect(await registry.getChargePoint(cp)).toEqual(expected);
    });

    it('creates a charge point that did not exist', async () => {
      const cp = aChargePointId();
      expect(await registry.getChargePoint(cp)).toBeUndefined();
      expect(await registry.upsertChargePoint(cp, { passwordHash: 'h', timeZone: 'UTC' }, t(0))).toEqual({
        chargePointId: cp,
        passwordHash: 'h',
        timeZone: 'UTC',
        updatedAt: t(0),
      });
    });
  });
});
