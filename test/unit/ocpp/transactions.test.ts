import { describe, expect, it } from 'vitest';
import { createChargePointService } from '../../../functions/ocpp/domain/charge-point-service.ts';
import type { CentralSystemConfig } from '../../../functions/ocpp/domain/config.ts';
import { OcppCallError } from '../../../functions/ocpp/domain/framing.ts';
import type { StartTransactionRequest, StopTransactionRequest } from '../../../functions/ocpp/domain/ocpp16-messages.generated.ts';
import { inMemoryPorts } from './support/in-memory-ports.ts';

/** StartTransaction, MeterValues and StopTransaction through in-memory ports. */

const CP = 'CP-1';
const OTHER_CP = 'CP-2';

function setup(config: Partial<CentralSystemConfig> = {}) {
  const ports = inMemoryPorts('2026-11-23T10:00:00.000Z');
  ports.registry.addChargePoint({ chargePointId: CP, tariffId: 'T-SITE', siteId: 'SITE-1' });
  ports.registry.addChargePoint({ chargePointId: OTHER_CP, tariffId: 'T-SITE' });
  ports.tariffs.versions.set('T-SITE', 3);
  ports.entitlements.add({ idTag: 'RFID-1', parentIdTag: 'GROUP-1' });
  const service = createChargePointService(ports, { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: 3600, ...config });
  const start = (req: Partial<StartTransactionRequest> = {}, chargePointId = CP) =>
    service.handlers.StartTransaction(chargePointId, { connectorId: 1, idTag: 'RFID-1', meterStart: 1000, timestamp: '2026-11-23T10:00:00Z', ...req }, 'start');
  const stop = (req: Partial<StopTransactionRequest> & { transactionId: number }, chargePointId = CP) =>
    service.handlers.StopTransaction(chargePointId, { meterStop: 9000, timestamp: '2026-11-23T11:00:00Z', ...req }, 'stop');
  return { ports, service, start, stop };
}

describe('StartTransaction', () => {
  it('a new start: allocates a transaction, stores the started session with its snapshots, publishes SessionStarted, answers the idTag status', async () => {
    const { ports, start } = setup();
    const reply = await start();
    expect(reply).toEqual({ transactionId: 1, idTagInfo: { status: 'Accepted', parentIdTag: 'GROUP-1' } });
    expect(ports.sessions.sessions.get(1)).toEqual({
      sessionId: 'sess_1',
      transactionId: 1,
      chargePointId: CP,
      connectorId: 1,
      idTag: 'RFID-1',
      parentIdTag: 'GROUP-1',
      authorizationStatus: 'Accepted',
      startedAt: '2026-11-23T10:00:00.000Z',
      meterStartWh: 1000,
      timeZone: 'Europe/Berlin',
      siteId: 'SITE-1',
      tariff: { tariffId: 'T-SITE', version: 3 },
      billingProfile: null,
      state: 'started',
      flags: [],
      createdAt: '2026-11-23T10:00:00.000Z',
      // The clock policy's judgement of the start (docs/clocks.md): in sync, nothing corrected.
      clock: {
        start: {
          reported: '2026-11-23T10:00:00Z',
          receivedAt: '2026-11-23T10:00:00.000Z',
          offsetMs: 0,
          corrected: '2026-11-23T10:00:00.000Z',
          rule: 'in-sync',
          skewMs: 0,
          leapSecond: false,
          implausible: false,
        },
        notes: [],
      },
    });
    expect(ports.events.names()).toEqual(['SessionStarted']);
    expect(ports.events.published[0]!.detail.metadata.id).toBe('SessionStarted:sess_1');
    expect(ports.events.data('SessionStarted')[0]).toMatchObject({ sessionId: 'sess_1', transactionId: 1, chargePointId: CP, tariff: { tariffId: 'T-SITE', version: 3 }, billingProfile: null });
  });

  it("the idTag's own tariff and billing profile win over the charge point's", async () => {
    const { ports, start } = setup();
    ports.tariffs.versions.set('T-FLEET', 1);
    ports.entitlements.add({ idTag: 'FLEET-1', tariffId: 'T-FLEET', billing: { kind: 'fleet', accountId: 'ACME' } });
    await start({ idTag: 'FLEET-1' });
    expect(ports.sessions.sessions.get(1)).toMatchObject({ tariff: { tariffId: 'T-FLEET', version: 1 }, billingProfile: { kind: 'fleet', accountId: 'ACME' } });
  });

  it('a retried start (same charge point, connector, idTag and timestamp) writes nothing new and republishes SessionStarted under the same id', async () => {
    const { ports, start } = setup();
    const first = await start();
    // The same instant in another offset is the same start.
    const again = await start({ timestamp: '2026-11-23T11:00:00+01:00' });
    expect(again).toEqual(first);
    expect(ports.sessions.writes).toEqual(['create 1']);
    expect(ports.events.published.map((e) => e.detail.metadata.id)).toEqual(['SessionStarted:sess_1', 'SessionStarted:sess_1']);
  });

  it('a retried start of a session since stopped is still a replay: the stored session is announced again, nothing changes', async () => {
    const { ports, start, stop } = setup();
    const { transactionId } = await start();
    await stop({ transactionId });
    const before = structuredClone(ports.sessions.sessions.get(transactionId));
    expect(await start()).toEqual({ transactionId, idTagInfo: { status: 'Accepted', parentIdTag: 'GROUP-1' } });
    expect(ports.sessions.sessions.get(transactionId)).toEqual(before);
    expect(ports.events.names()).toEqual(['SessionStarted', 'SessionStopped', 'SessionStarted']);
  });

  it('a start whose session write failed after the transaction was claimed creates the session under the claimed id on retry', async () => {
    const { ports, start } = setup();
    const createSession = ports.sessions.createSession.bind(ports.sessions);
    ports.sessions.createSession = async () => {
      throw new Error('throttled');
    };
    await expect(start()).rejects.toThrow('throttled');
    ports.sessions.createSession = createSession;
    expect(await start()).toMatchObject({ transactionId: 1 });
    expect(ports.sessions.sessions.get(1)).toMatchObject({ state: 'started' });
    expect(ports.events.names()).toEqual(['SessionStarted']);
  });

  it('a start for a blocked or unknown idTag is stored and answered with that status (the charge point may have started offline)', async () => {
    const { ports, start } = setup();
    ports.entitlements.add({ idTag: 'RFID-B', status: 'Blocked' });
    expect(await start({ idTag: 'RFID-B' })).toEqual({ transactionId: 1, idTagInfo: { status: 'Blocked' } });
    expect(await start({ idTag: 'NOBODY', connectorId: 2 })).toEqual({ transactionId: 2, idTagInfo: { status: 'Invalid' } });
    expect([...ports.sessions.sessions.values()].map((s) => s.authorizationStatus)).toEqual(['Blocked', 'Invalid']);
  });

  it('a session without a tariff is flagged no-tariff', async () => {
    const { ports, start } = setup();
    ports.tariffs.versions.delete('T-SITE');
    await start();
    expect(ports.sessions.sessions.get(1)).toMatchObject({ tariff: null, flags: ['no-tariff'] });
  });

  it('connector 0 is refused with PropertyConstraintViolation, nothing written', async () => {
    const { ports, start } = setup();
    await expect(start({ connectorId: 0 })).rejects.toMatchObject(new OcppCallError('PropertyConstraintViolation', 'connectorId must be 1 or more for a transaction'));
    expect(ports.sessions.writes).toEqual([]);
    expect(ports.events.published).toEqual([]);
  });

  it('a charge point without a profile gets SecurityError', async () => {
    const { ports, start } = setup();
    await expect(start({}, 'CP-GONE')).rejects.toMatchObject({ name: 'OcppCallError', errorCode: 'SecurityError' });
    expect(ports.sessions.sessions.size).toBe(0);
  });

  it('with single-session enforcement: the idTag is held by the session; a second start elsewhere is ConcurrentTx; the stop releases it', async () => {
    const { ports, start, stop } = setup({ singleSessionPerIdTag: true });
    const first = await start();
    expect(ports.entitlements.records.get('RFID-1')!.activeSession).toEqual({ transactionId: first.transactionId, chargePointId: CP, since: '2026-11-23T10:00:00.000Z' });
    const second = await start({ timestamp: '2026-11-23T10:01:00Z' }, OTHER_CP);
    expect(second.idTagInfo.status).toBe('ConcurrentTx');
    expect(ports.sessions.sessions.get(second.transactionId)!.authorizationStatus).toBe('ConcurrentTx');
    await stop({ transactionId: first.transactionId, idTag: 'RFID-1' });
    expect(ports.entitlements.records.get('RFID-1')!.activeSession).toBeUndefined();
  });
});

describe('MeterValues', () => {
  const meterValue = (timestamp: string, wh: string) => ({ timestamp, sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register' as const, unit: 'Wh' as const }] });

  it("stores the samples of the charge point's own transaction and publishes SessionMeterValues for a card session", async () => {
    const { ports, service, start } = setup();
    const { transactionId } = await start();
    ports.clock.set('2026-11-23T10:10:00.000Z');
    const reply = await service.handlers.MeterValues(CP, { connectorId: 1, transactionId, meterValue: [meterValue('2026-11-23T10:05:00Z', '2000'), meterValue('2026-11-23T10:10:00Z', '3000')] }, 'mv-1');
    expect(reply).toEqual({});
    expect(ports.sessions.samplesById.get(transactionId)!.map((s) => [s.timestamp, s.source])).toEqual([
      ['2026-11-23T10:05:00.000Z', 'MeterValues'],
      ['2026-11-23T10:10:00.000Z', 'MeterValues'],
    ]);
    expect(ports.events.names()).toEqual(['SessionStarted', 'SessionMeterValues']);
    expect(ports.events.published[1]!.detail.metadata.id).toBe(`SessionMeterValues:${CP}:mv-1`);
    expect(ports.events.data('SessionMeterValues')).toEqual([{ sessionId: `sess_${transactionId}`, transactionId, chargePointId: CP, connectorId: 1, sampledAt: '2026-11-23T10:10:00.000Z', samples: 2 }]);
  });

  it('publishes nothing for a session no card pays for (fleet): payments keeps no running cost for it', async () => {
    const { ports, service, start } = setup();
    ports.entitlements.add({ idTag: 'FLEET-1', billing: { kind: 'fleet', accountId: 'ACME' } });
    const { transactionId } = await start({ idTag: 'FLEET-1' });
    await service.handlers.MeterValues(CP, { connectorId: 1, transactionId, meterValue: [meterValue('2026-11-23T10:05:00Z', '2000')] }, 'mv-1');
    expect(ports.sessions.samplesById.get(transactionId)).toHaveLength(1);
    expect(ports.events.names()).toEqual(['SessionStarted']);
  });

  it("another charge point's or an unknown transaction is kept for review, touching no session", async () => {
    const { ports, service, start } = setup();
    const { transactionId } = await start();
    await service.handlers.MeterValues(OTHER_CP, { connectorId: 1, transactionId, meterValue: [meterValue('2026-11-23T10:05:00Z', '2000')] }, 'mv-1');
    await service.handlers.MeterValues(CP, { connectorId: 1, transactionId: 999, meterValue: [meterValue('2026-11-23T10:05:00Z', '2000')] }, 'mv-2');
    expect(ports.sessions.samplesById.size).toBe(0);
    expect(ports.registry.notifications.map((n) => [n.chargePointId, n.kind, n.messageId])).toEqual([
      [OTHER_CP, 'MeterValues.unknownTransaction', 'mv-1'],
      [CP, 'MeterValues.unknownTransaction', 'mv-2'],
    ]);
    expect(ports.events.names()).toEqual(['SessionStarted']);
  });

  it('without a transactionId the values are kept as a notification', async () => {
    const { ports, service } = setup();
    await service.handlers.MeterValues(CP, { connectorId: 0, meterValue: [meterValue('2026-11-23T10:05:00Z', '2000')] }, 'mv-1');
    expect(ports.registry.notifications.map((n) => n.kind)).toEqual(['MeterValues']);
    expect(ports.events.published).toEqual([]);
  });
});

describe('StopTransaction', () => {
  it('started -> stopped: stores the stop and its samples, publishes SessionStopped, answers the idTag status', async () => {
    const { ports, start, stop } = setup();
    const { transactionId } = await start();
    ports.clock.set('2026-11-23T11:00:02.000Z');
    const reply = await stop({
      transactionId,
      idTag: 'RFID-1',
      reason: 'Local',
      transactionData: [{ timestamp: '2026-11-23T11:00:00Z', sampledValue: [{ value: '9000', context: 'Transaction.End' }] }],
    });
    expect(reply).toEqual({ idTagInfo: { status: 'Accepted', parentIdTag: 'GROUP-1' } });
    expect(ports.sessions.sessions.get(transactionId)).toMatchObject({
      state: 'stopped',
      stoppedAt: '2026-11-23T11:00:00.000Z',
      stopRecordedAt: '2026-11-23T11:00:02.000Z',
      meterStopWh: 9000,
      energyWh: 8000,
      stopReason: 'Local',
      stopIdTag: 'RFID-1',
      flags: [],
    });
    expect(ports.sessions.samplesById.get(transactionId)!.map((s) => s.source)).toEqual(['StopTransaction']);
    expect(ports.events.names()).toEqual(['SessionStarted', 'SessionStopped']);
    expect(ports.events.data('SessionStopped')).toEqual([
      { sessionId: `sess_${transactionId}`, transactionId, chargePointId: CP, connectorId: 1, idTag: 'RFID-1', stoppedAt: '2026-11-23T11:00:00.000Z', meterStopWh: 9000, energyWh: 8000, reason: 'Local', flags: [] },
    ]);
  });

  it('a meter reading below the start is flagged and counts as no energy', async () => {
    const { ports, start, stop } = setup();
    const { transactionId } = await start();
    ports.clock.set('2026-11-23T11:00:00.000Z');
    await stop({ transactionId, meterStop: 500 });
    expect(ports.sessions.sessions.get(transactionId)).toMatchObject({ energyWh: 0, meterStopWh: 500, flags: ['meter-stop-below-start'] });
  });

  it('answers without idTagInfo when the stop names no idTag', async () => {
    const { start, stop } = setup();
    const { transactionId } = await start();
    expect(await stop({ transactionId })).toEqual({});
  });

  it('an unknown transaction is answered (with the idTag status) and recorded for review; no session touched, nothing published', async () => {
    const { ports, stop } = setup();
    expect(await stop({ transactionId: 4242, idTag: 'RFID-1' })).toEqual({ idTagInfo: { status: 'Accepted', parentIdTag: 'GROUP-1' } });
    expect(ports.sessions.unknownStops).toEqual([{ chargePointId: CP, payload: { transactionId: 4242, idTag: 'RFID-1', meterStop: 9000, timestamp: '2026-11-23T11:00:00Z' }, receivedAt: '2026-11-23T10:00:00.000Z' }]);
    expect(ports.sessions.writes).toEqual(['unknown-stop 4242']);
    expect(ports.events.published).toEqual([]);
  });

  it("another charge point's transaction is an unknown one for this charge point", async () => {
    const { ports, start, stop } = setup();
    const { transactionId } = await start();
    await stop({ transactionId }, OTHER_CP);
    expect(ports.sessions.sessions.get(transactionId)!.state).toBe('started');
    expect(ports.sessions.unknownStops.map((u) => u.chargePointId)).toEqual([OTHER_CP]);
    expect(ports.events.names()).toEqual(['SessionStarted']);
  });

  it('a duplicate stop makes no second stop write: the stored stop stands and is published again under the same id', async () => {
    const { ports, start, stop } = setup();
    const { transactionId } = await start();
    ports.clock.set('2026-11-23T11:00:00.000Z');
    await stop({ transactionId });
    ports.clock.set('2026-11-23T11:30:00.000Z');
    await stop({ transactionId, meterStop: 9500, timestamp: '2026-11-23T11:30:00Z' });
    expect(ports.sessions.writes.filter((w) => w.startsWith('stop'))).toEqual([`stop ${transactionId}`]);
    expect(ports.sessions.sessions.get(transactionId)).toMatchObject({ state: 'stopped', meterStopWh: 9000, stoppedAt: '2026-11-23T11:00:00.000Z' });
    const stops = ports.events.published.filter((e) => e.contract.detailType === 'SessionStopped');
    expect(stops.map((e) => e.detail.metadata.id)).toEqual([`SessionStopped:sess_${transactionId}`, `SessionStopped:sess_${transactionId}`]);
    expect(stops.map((e) => (e.detail.data as { meterStopWh: number }).meterStopWh)).toEqual([9000, 9000]);
  });
});
