import { describe, expect, it } from 'vitest';
import { createChargePointService } from '../../../functions/ocpp/domain/charge-point-service.ts';
import type { CentralSystemConfig } from '../../../functions/ocpp/domain/config.ts';
import type { MeterValuesRequest, StartTransactionRequest, StopTransactionRequest } from '../../../functions/ocpp/domain/ocpp16-messages.generated.ts';
import { lastReading, matchLostTransaction, registerWh } from '../../../functions/ocpp/domain/open-sessions.ts';
import type { SessionRecord } from '../../../functions/ocpp/domain/model.ts';
import { inMemoryPorts } from './support/in-memory-ports.ts';

/** Sessions that would never end (docs/sessions.md), through in-memory ports. */

const CP = 'CP-1';
const H = 3_600_000;

function setup(config: Partial<CentralSystemConfig> = {}) {
  const ports = inMemoryPorts('2026-11-23T10:00:00.000Z');
  ports.registry.addChargePoint({ chargePointId: CP, tariffId: 'T-SITE' });
  ports.tariffs.versions.set('T-SITE', 1);
  ports.entitlements.add({ idTag: 'RFID-1' });
  ports.entitlements.add({ idTag: 'RFID-2' });
  const service = createChargePointService(ports, { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: 3600, ...config });
  /** Each message is received when it says it was sent (a charge point in sync). */
  const at = (timestamp: string) => ports.clock.set(timestamp);
  const start = async (timestamp: string, req: Partial<StartTransactionRequest> = {}) => {
    at(timestamp);
    return service.handlers.StartTransaction(CP, { connectorId: 1, idTag: 'RFID-1', meterStart: 1000, timestamp, ...req }, 'start');
  };
  const meter = async (timestamp: string, transactionId: number, wh: string, req: Partial<MeterValuesRequest> = {}) => {
    at(timestamp);
    return service.handlers.MeterValues(CP, { connectorId: 1, transactionId, meterValue: [{ timestamp, sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }], ...req }, `mv-${timestamp}`);
  };
  const stop = async (timestamp: string, req: Partial<StopTransactionRequest> & { transactionId: number }) => {
    at(timestamp);
    return service.handlers.StopTransaction(CP, { meterStop: 9000, timestamp, ...req }, `stop-${timestamp}`);
  };
  const session = (transactionId: number) => ports.sessions.sessions.get(transactionId)!;
  return { ports, service, start, meter, stop, session };
}

describe('a second StartTransaction on a busy connector', () => {
  it('closes the earlier session from its last reading (flagged, reason Other), completes it there, and starts the new one', async () => {
    const { ports, start, meter, session } = setup();
    const first = await start('2026-11-23T10:00:00.000Z');
    await meter('2026-11-23T10:30:00.000Z', first.transactionId, '5000');
    const second = await start('2026-11-23T11:00:00.000Z');
    expect(second.idTagInfo.status).toBe('Accepted');
    expect(session(first.transactionId)).toMatchObject({
      state: 'completed',
      stoppedAt: '2026-11-23T10:30:00.000Z',
      stopRecordedAt: '2026-11-23T11:00:00.000Z',
      meterStopWh: 5000,
      energyWh: 4000,
      stopReason: 'Other',
      flags: ['superseded-by-new-start'],
      closedWithoutStop: { cause: 'superseded', closedAt: '2026-11-23T11:00:00.000Z', supersededBy: second.transactionId, stopFrom: 'last-meter-reading' },
      completedAt: '2026-11-23T10:30:00.000Z',
      completedBy: 'closed-without-stop',
    });
    expect(session(second.transactionId).state).toBe('started');
    expect(ports.events.names()).toEqual(['SessionStarted', 'SessionMeterValues', 'SessionStopped', 'SessionCompleted', 'SessionStarted']);
    expect(ports.events.data('SessionStopped')[0]).toMatchObject({ transactionId: first.transactionId, reason: 'Other', energyWh: 4000, flags: ['superseded-by-new-start'] });
    expect(ports.events.data('SessionCompleted')[0]).toMatchObject({ transactionId: first.transactionId, completedAt: '2026-11-23T10:30:00.000Z', completedBy: 'closed-without-stop' });
  });

  it('with no reading, the earlier session stops at its start with no energy (nothing is guessed)', async () => {
    const { start, session } = setup();
    const first = await start('2026-11-23T10:00:00.000Z');
    await start('2026-11-23T11:00:00.000Z', { idTag: 'RFID-2', meterStart: 7000 });
    expect(session(first.transactionId)).toMatchObject({ state: 'completed', stoppedAt: '2026-11-23T10:00:00.000Z', meterStopWh: 1000, energyWh: 0, closedWithoutStop: { stopFrom: 'meter-start' } });
  });

  it('leaves other connectors and retried starts alone; a stopped session there is not superseded, it ends at the new start', async () => {
    const { ports, start, stop, session } = setup();
    const onTwo = await start('2026-11-23T10:00:00.000Z', { connectorId: 2 });
    const stopped = await start('2026-11-23T10:01:00.000Z');
    await stop('2026-11-23T10:30:00.000Z', { transactionId: stopped.transactionId });
    const next = await start('2026-11-23T11:00:00.000Z');
    // The same start again (its answer was lost): a replay, not a new start.
    expect(await start('2026-11-23T11:00:00.000Z')).toEqual(next);
    expect(session(onTwo.transactionId).state).toBe('started');
    // Stopped by the charge point, so not closed without a stop; the new start shows the connector
    // was free again by then, so it completes there instead of running on to the idle limit.
    expect(session(stopped.transactionId)).toMatchObject({ state: 'completed', completedBy: 'unplugged', completedAt: '2026-11-23T11:00:00.000Z', flags: [] });
    expect(session(next.transactionId).state).toBe('started');
    expect(ports.events.names().filter((n) => n === 'SessionCompleted')).toEqual(['SessionCompleted']);
  });

  it('with single-session enforcement, the driver’s own lost session does not make the new start ConcurrentTx (its idTag is released)', async () => {
    const { ports, start, session } = setup({ singleSessionPerIdTag: true });
    const first = await start('2026-11-23T10:00:00.000Z');
    const second = await start('2026-11-23T11:00:00.000Z');
    expect(second.idTagInfo.status).toBe('Accepted');
    expect(session(first.transactionId).state).toBe('completed');
    expect((await ports.entitlements.get('RFID-1'))!.activeSession?.transactionId).toBe(second.transactionId);
  });
});

describe('a charge point that reboots mid-session', () => {
  it('its new start closes the lost session; the StopTransaction with the made-up id 0 is answered and recorded as unmatched', async () => {
    const { ports, start, meter, stop, session } = setup();
    const lost = await start('2026-11-23T10:00:00.000Z');
    await meter('2026-11-23T10:20:00.000Z', lost.transactionId, '3000');
    const fresh = await start('2026-11-23T10:45:00.000Z');
    expect(await stop('2026-11-23T10:46:00.000Z', { transactionId: 0, meterStop: 3100, reason: 'Reboot' })).toEqual({});
    expect(session(lost.transactionId)).toMatchObject({ state: 'completed', energyWh: 2000, flags: ['superseded-by-new-start'] });
    expect(session(fresh.transactionId).state).toBe('started');
    expect(ports.sessions.unmatched).toEqual([
      expect.objectContaining({ kind: 'StopTransaction', chargePointId: CP, transactionId: 0, reason: 'unknown-transaction', receivedAt: '2026-11-23T10:46:00.000Z', messageId: 'stop-2026-11-23T10:46:00.000Z' }),
    ]);
  });
});

describe('OCPP 1.6 errata 3.18: transactionId -1', () => {
  it('MeterValues and StopTransaction with -1 go to the one open session that fits; the stop is flagged', async () => {
    const { ports, start, meter, stop, session } = setup();
    const started = await start('2026-11-23T10:00:00.000Z');
    await meter('2026-11-23T10:30:00.000Z', -1, '2000');
    await stop('2026-11-23T11:00:00.000Z', { transactionId: -1, idTag: 'RFID-1', meterStop: 3000 });
    expect(ports.sessions.samplesById.get(started.transactionId)!.map((s) => s.timestamp)).toEqual(['2026-11-23T10:30:00.000Z']);
    expect(session(started.transactionId)).toMatchObject({ state: 'stopped', meterStopWh: 3000, energyWh: 2000, stopReason: 'Local', flags: ['matched-lost-transaction-id'] });
    expect(ports.events.data('SessionMeterValues')[0]).toMatchObject({ transactionId: started.transactionId });
    expect(ports.events.data('SessionStopped')[0]).toMatchObject({ transactionId: started.transactionId, flags: ['matched-lost-transaction-id'], reason: 'Local' });
    expect(ports.sessions.unmatched).toEqual([]);
  });

  it('more than one open session that fits: nothing is guessed, the stop is kept for review with the candidates', async () => {
    const { ports, start, stop, session } = setup();
    const one = await start('2026-11-23T10:00:00.000Z', { connectorId: 1 });
    const two = await start('2026-11-23T10:05:00.000Z', { connectorId: 2 });
    await stop('2026-11-23T11:00:00.000Z', { transactionId: -1, idTag: 'RFID-1', meterStop: 3000 });
    expect(session(one.transactionId).state).toBe('started');
    expect(session(two.transactionId).state).toBe('started');
    expect(ports.sessions.unmatched).toEqual([expect.objectContaining({ kind: 'StopTransaction', transactionId: -1, reason: 'ambiguous-match', candidates: [one.transactionId, two.transactionId] })]);
  });

  it('no open session that fits (another idTag, or started after the stop): kept for review as no-open-session', async () => {
    const { ports, start, meter, stop } = setup();
    await start('2026-11-23T10:00:00.000Z');
    await stop('2026-11-23T11:00:00.000Z', { transactionId: -1, idTag: 'RFID-2', meterStop: 3000 });
    await meter('2026-11-23T09:00:00.000Z', -1, '500');
    expect(ports.sessions.unmatched.map((u) => [u.kind, u.reason])).toEqual([
      ['StopTransaction', 'no-open-session'],
      ['MeterValues', 'no-open-session'],
    ]);
  });
});

describe('the sweep: sessions open past SESSION_MAX_OPEN_HOURS', () => {
  it('closes a session with no stop and no reading for 48 h (default) from its last reading, flagged closed-without-stop, and completes it', async () => {
    const { ports, service, start, meter, session } = setup();
    const stale = await start('2026-11-23T10:00:00.000Z');
    await meter('2026-11-23T10:40:00.000Z', stale.transactionId, '6000');
    ports.clock.set(new Date(Date.parse('2026-11-23T10:40:00.000Z') + 47 * H));
    expect(await service.closeStaleSessions()).toBe(0);
    ports.clock.set(new Date(Date.parse('2026-11-23T10:40:00.000Z') + 48 * H + 1000));
    expect(await service.closeStaleSessions()).toBe(1);
    expect(session(stale.transactionId)).toMatchObject({
      state: 'completed',
      stoppedAt: '2026-11-23T10:40:00.000Z',
      meterStopWh: 6000,
      energyWh: 5000,
      stopReason: 'Other',
      flags: ['closed-without-stop'],
      closedWithoutStop: { cause: 'no-stop', stopFrom: 'last-meter-reading' },
      completedAt: '2026-11-23T10:40:00.000Z',
      completedBy: 'closed-without-stop',
    });
    expect(ports.events.names().slice(-2)).toEqual(['SessionStopped', 'SessionCompleted']);
    // Nothing left to close: a second sweep does nothing.
    expect(await service.closeStaleSessions()).toBe(0);
  });

  it('the limit is configurable; a session still sending readings stays open; a reading dated in the future keeps nothing open', async () => {
    const { ports, service, start, meter, session } = setup({ maxOpenSessionHours: 12 });
    const alive = await start('2026-11-23T10:00:00.000Z');
    const future = await start('2026-11-23T10:00:00.000Z', { connectorId: 2, idTag: 'RFID-2' });
    await meter('2026-11-23T21:00:00.000Z', alive.transactionId, '9000');
    // A reading stamped far ahead (a wrong clock) is stored but is no sign of life.
    ports.clock.set('2026-11-23T21:00:00.000Z');
    await ports.sessions.addSamples(future.transactionId, [{ timestamp: '2027-01-01T00:00:00.000Z', sampledValue: [{ value: '9999999' }], source: 'MeterValues' }]);
    ports.clock.set('2026-11-23T22:30:00.000Z');
    expect(await service.closeStaleSessions()).toBe(1);
    expect(session(alive.transactionId).state).toBe('started');
    expect(session(future.transactionId)).toMatchObject({ state: 'completed', meterStopWh: 1000, energyWh: 0, flags: ['closed-without-stop'] });
  });

  it('a StopTransaction arriving after the close changes nothing and is kept for review', async () => {
    const { ports, service, start, stop, session } = setup();
    const stale = await start('2026-11-23T10:00:00.000Z');
    ports.clock.set(new Date(Date.parse('2026-11-23T10:00:00.000Z') + 49 * H));
    await service.closeStaleSessions();
    const before = structuredClone(session(stale.transactionId));
    await stop(new Date(Date.parse('2026-11-23T10:00:00.000Z') + 50 * H).toISOString(), { transactionId: stale.transactionId, meterStop: 20_000 });
    expect(session(stale.transactionId)).toEqual(before);
    expect(ports.sessions.unmatched).toEqual([expect.objectContaining({ kind: 'StopTransaction', reason: 'after-close-without-stop', candidates: [stale.transactionId] })]);
  });
});

describe('StopTransaction without a reason', () => {
  it('is stored and published as Local (OCPP 1.6 §6.49)', async () => {
    const { ports, start, stop, session } = setup();
    const { transactionId } = await start('2026-11-23T10:00:00.000Z');
    await stop('2026-11-23T11:00:00.000Z', { transactionId });
    expect(session(transactionId).stopReason).toBe('Local');
    expect(ports.events.data('SessionStopped')[0]).toMatchObject({ reason: 'Local' });
  });
});

describe('the pure rules', () => {
  it('registerWh reads the total energy register in Wh or kWh, exactly, rounded down; anything else is no register', () => {
    expect(registerWh({ value: '1234' })).toBe(1234);
    expect(registerWh({ value: '1234.9', unit: 'Wh' })).toBe(1234);
    expect(registerWh({ value: '12.3456', unit: 'kWh', measurand: 'Energy.Active.Import.Register' })).toBe(12345);
    expect(registerWh({ value: '0.1', unit: 'kWh' })).toBe(100);
    expect(registerWh({ value: '1234', phase: 'L1' })).toBeUndefined();
    expect(registerWh({ value: '1234', measurand: 'Power.Active.Import', unit: 'W' })).toBeUndefined();
    expect(registerWh({ value: '-5' })).toBeUndefined();
    expect(registerWh({ value: '1e3' })).toBeUndefined();
  });

  it('lastReading takes the newest register reading between the start and now', () => {
    const session = { startedAt: '2026-11-23T10:00:00.000Z', meterStartWh: 1000 };
    const sample = (timestamp: string, value: string) => ({ timestamp, sampledValue: [{ value }], source: 'MeterValues' as const });
    const samples = [sample('2026-11-23T09:59:00.000Z', '900'), sample('2026-11-23T10:10:00.000Z', '2000'), sample('2026-11-23T10:20:00.000Z', '3000'), sample('2026-11-23T12:00:00.000Z', '99999')];
    expect(lastReading(session, samples, '2026-11-23T11:00:00.000Z')).toEqual({ at: '2026-11-23T10:20:00.000Z', wh: 3000, from: 'last-meter-reading' });
    expect(lastReading(session, [], '2026-11-23T11:00:00.000Z')).toEqual({ at: '2026-11-23T10:00:00.000Z', wh: 1000, from: 'meter-start' });
  });

  it('matchLostTransaction: one fit matches; several are candidates; idTag compared case-insensitively', () => {
    const open = (transactionId: number, idTag: string, startedAt: string, meterStartWh = 0) => ({ transactionId, idTag, startedAt, meterStartWh, state: 'started' }) as SessionRecord;
    const sessions = [open(1, 'RFID-1', '2026-11-23T10:00:00.000Z'), open(2, 'RFID-2', '2026-11-23T10:00:00.000Z', 5000)];
    expect(matchLostTransaction(sessions, { at: '2026-11-23T11:00:00.000Z', idTag: 'rfid-1' })).toEqual({ session: sessions[0], candidates: [1] });
    expect(matchLostTransaction(sessions, { at: '2026-11-23T11:00:00.000Z', meterWh: 3000 })).toEqual({ session: sessions[0], candidates: [1] });
    expect(matchLostTransaction(sessions, { at: '2026-11-23T11:00:00.000Z' })).toEqual({ session: undefined, candidates: [1, 2] });
    expect(matchLostTransaction(sessions, { at: '2026-11-23T09:00:00.000Z' })).toEqual({ session: undefined, candidates: [] });
  });
});
