import { describe, expect, it } from 'vitest';
import { createChargePointService } from '../../../functions/ocpp/domain/charge-point-service.ts';
import { inMemoryPorts } from './support/in-memory-ports.ts';

/** Completion of stopped sessions (unplug, a stop finding the car gone, the idle sweep), through in-memory ports. */

const CP = 'CP-1';
const IDLE_LIMIT_SECONDS = 3600;

async function stoppedSession(stopRecordedAt = '2026-11-23T11:00:01.000Z') {
  const ports = inMemoryPorts('2026-11-23T10:00:00.000Z');
  ports.registry.addChargePoint({ chargePointId: CP, tariffId: 'T-1' });
  ports.tariffs.versions.set('T-1', 1);
  ports.entitlements.add({ idTag: 'RFID-1' });
  const service = createChargePointService(ports, { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: IDLE_LIMIT_SECONDS });
  const status = (status: string, timestamp: string, connectorId = 1) => service.handlers.StatusNotification(CP, { connectorId, status: status as 'Available', errorCode: 'NoError', timestamp }, 'st');
  const { transactionId } = await service.handlers.StartTransaction(CP, { connectorId: 1, idTag: 'RFID-1', meterStart: 0, timestamp: '2026-11-23T10:00:00.000Z' }, 'start');
  ports.clock.set(stopRecordedAt);
  await service.handlers.StopTransaction(CP, { transactionId, meterStop: 5000, timestamp: '2026-11-23T11:00:00.000Z' }, 'stop');
  const session = () => ports.sessions.sessions.get(transactionId)!;
  return { ports, service, status, transactionId, session };
}

describe('completion by unplug', () => {
  it('Available on the connector after the stop completes the session at the status time and publishes SessionCompleted', async () => {
    const { ports, status, session, transactionId } = await stoppedSession();
    ports.clock.set('2026-11-23T11:05:00.000Z');
    await status('Available', '2026-11-23T11:05:00.000Z');
    expect(session()).toMatchObject({ state: 'completed', completedBy: 'unplugged', completedAt: '2026-11-23T11:05:00.000Z' });
    expect(ports.events.names()).toEqual(['SessionStarted', 'SessionStopped', 'SessionCompleted']);
    expect(ports.events.data('SessionCompleted')).toEqual([
      { sessionId: `sess_${transactionId}`, transactionId, chargePointId: CP, connectorId: 1, stoppedAt: '2026-11-23T11:00:00.000Z', completedAt: '2026-11-23T11:05:00.000Z', completedBy: 'unplugged' },
    ]);
  });

  it('an Available stamped before the stop, another status, another connector or connector 0 completes nothing', async () => {
    const { ports, status, session } = await stoppedSession();
    await status('Available', '2026-11-23T10:59:59.000Z');
    await status('Finishing', '2026-11-23T11:05:00.000Z');
    await status('Available', '2026-11-23T11:05:00.000Z', 2);
    await status('Available', '2026-11-23T11:05:00.000Z', 0);
    expect(session().state).toBe('stopped');
    expect(ports.events.names()).toEqual(['SessionStarted', 'SessionStopped']);
  });

  it('a new StartTransaction on the connector completes the stopped session at that start, not at the idle limit', async () => {
    const { ports, service, session, transactionId } = await stoppedSession();
    ports.entitlements.add({ idTag: 'RFID-2' });
    ports.clock.set('2026-11-23T11:20:00.000Z');
    const next = await service.handlers.StartTransaction(CP, { connectorId: 1, idTag: 'RFID-2', meterStart: 5000, timestamp: '2026-11-23T11:20:00.000Z' }, 'start-2');
    expect(next.transactionId).not.toBe(transactionId);
    expect(session()).toMatchObject({ state: 'completed', completedBy: 'unplugged', completedAt: '2026-11-23T11:20:00.000Z' });
    expect(ports.events.names().filter((n) => n === 'SessionCompleted')).toHaveLength(1);
    // A retry of that start completes nothing more; a start on another connector completes nothing.
    await service.handlers.StartTransaction(CP, { connectorId: 1, idTag: 'RFID-2', meterStart: 5000, timestamp: '2026-11-23T11:20:00.000Z' }, 'start-2');
    expect(ports.events.names().filter((n) => n === 'SessionCompleted')).toHaveLength(1);
  });

  it('a new StartTransaction on another connector leaves the stopped session waiting for its unplug', async () => {
    const { ports, service, session } = await stoppedSession();
    ports.entitlements.add({ idTag: 'RFID-2' });
    ports.clock.set('2026-11-23T11:20:00.000Z');
    await service.handlers.StartTransaction(CP, { connectorId: 2, idTag: 'RFID-2', meterStart: 0, timestamp: '2026-11-23T11:20:00.000Z' }, 'start-2');
    expect(session().state).toBe('stopped');
  });

  it('a second Available completes nothing more', async () => {
    const { ports, status } = await stoppedSession();
    await status('Available', '2026-11-23T11:05:00.000Z');
    await status('Available', '2026-11-23T11:06:00.000Z');
    expect(ports.sessions.writes.filter((w) => w.startsWith('complete'))).toHaveLength(1);
    expect(ports.events.names().filter((n) => n === 'SessionCompleted')).toHaveLength(1);
  });

  it('a (queued) stop arriving after the connector went Available completes the session at once, at the later of the two', async () => {
    const ports = inMemoryPorts('2026-11-23T10:00:00.000Z');
    ports.registry.addChargePoint({ chargePointId: CP });
    ports.entitlements.add({ idTag: 'RFID-1' });
    const service = createChargePointService(ports, { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: IDLE_LIMIT_SECONDS });
    const { transactionId } = await service.handlers.StartTransaction(CP, { connectorId: 1, idTag: 'RFID-1', meterStart: 0, timestamp: '2026-11-23T10:00:00.000Z' }, 'start');
    ports.clock.set('2026-11-23T11:10:00.000Z');
    await service.handlers.StatusNotification(CP, { connectorId: 1, status: 'Available', errorCode: 'NoError', timestamp: '2026-11-23T11:10:00.000Z' }, 'st');
    await service.handlers.StopTransaction(CP, { transactionId, meterStop: 5000, timestamp: '2026-11-23T11:00:00.000Z' }, 'stop');
    expect(ports.sessions.sessions.get(transactionId)).toMatchObject({ state: 'completed', completedBy: 'unplugged', completedAt: '2026-11-23T11:10:00.000Z' });
    expect(ports.events.names()).toEqual(['SessionStarted', 'SessionStopped', 'SessionCompleted']);
  });

  it('publishes before it marks the session: a failed publish leaves it awaiting completion, and the next Available completes it', async () => {
    const { ports, status, session } = await stoppedSession();
    ports.clock.set('2026-11-23T11:05:00.000Z');
    const publish = ports.events.publish.bind(ports.events);
    ports.events.publish = async () => {
      throw new Error('bus down');
    };
    await expect(status('Available', '2026-11-23T11:05:00.000Z')).rejects.toThrow('bus down');
    expect(session().state).toBe('stopped');
    ports.events.publish = publish;
    await status('Available', '2026-11-23T11:05:00.000Z');
    expect(session()).toMatchObject({ state: 'completed', completedAt: '2026-11-23T11:05:00.000Z' });
  });
});

describe('completion by the idle sweep', () => {
  it('completes a session the idle limit after its stop was recorded, billed to the stop + the limit; not a millisecond earlier', async () => {
    const { ports, service, session } = await stoppedSession('2026-11-23T11:00:01.000Z');
    ports.clock.set('2026-11-23T12:00:00.999Z');
    expect(await service.completeIdleSessions()).toBe(0);
    expect(session().state).toBe('stopped');
    ports.clock.set('2026-11-23T12:00:01.000Z');
    expect(await service.completeIdleSessions()).toBe(1);
    expect(session()).toMatchObject({ state: 'completed', completedBy: 'idle-limit', completedAt: '2026-11-23T12:00:00.000Z' });
    expect(ports.events.names()).toEqual(['SessionStarted', 'SessionStopped', 'SessionCompleted']);
    expect(await service.completeIdleSessions()).toBe(0);
  });

  it('counts the limit from when the stop was stored, so a stop queued offline still gets the whole window', async () => {
    // The charge point stopped at 11:00 but the stop arrived at 13:00.
    const { ports, service, session } = await stoppedSession('2026-11-23T13:00:00.000Z');
    ports.clock.set('2026-11-23T13:30:00.000Z');
    expect(await service.completeIdleSessions()).toBe(0);
    ports.clock.set('2026-11-23T14:00:00.000Z');
    expect(await service.completeIdleSessions()).toBe(1);
    expect(session()).toMatchObject({ completedBy: 'idle-limit', completedAt: '2026-11-23T12:00:00.000Z' });
  });

  it('leaves sessions still charging and sessions already completed alone', async () => {
    const { ports, service, status } = await stoppedSession();
    await status('Available', '2026-11-23T11:05:00.000Z');
    await service.handlers.StartTransaction(CP, { connectorId: 2, idTag: 'RFID-1', meterStart: 0, timestamp: '2026-11-23T11:10:00.000Z' }, 'start-2');
    ports.clock.set('2026-11-24T12:00:00.000Z');
    expect(await service.completeIdleSessions()).toBe(0);
    expect([...ports.sessions.sessions.values()].map((s) => s.state)).toEqual(['completed', 'started']);
  });
});
