import { beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingEvent } from '../../../events/contract.ts';
import { createCentralSystem } from '../../../functions/ocpp/central-system.ts';
import type { ConnectorStatusRecord, SessionRecord } from '../../../functions/ocpp/domain/model.ts';
import type { RegistryPort, SessionPort } from '../../../functions/ocpp/domain/ports.ts';
import { fixedClock } from '../../../functions/shared/clock.ts';
import { silentLog } from '../../../functions/shared/log.ts';

/**
 * The central system and the idle sweep deciding through the session lifecycle, against in-memory
 * ports whose conditional writes behave like the DynamoDB adapter's (stop only a started session,
 * complete only a stopped one).
 */

const CONNECTION = 'conn-1';
const CP = 'CP-LC';
const IDLE_LIMIT_SECONDS = 3600;

function fakeSessions() {
  const byId = new Map<number, SessionRecord>();
  const calls: string[] = [];
  const starts = new Map<string, number>();
  let counter = 0;
  const port: SessionPort = {
    async findStart(key) {
      return starts.get(JSON.stringify(key));
    },
    async allocateTransactionId() {
      counter += 1;
      return counter;
    },
    async claimStart(key, transactionId) {
      const k = JSON.stringify(key);
      if (!starts.has(k)) starts.set(k, transactionId);
      return starts.get(k)!;
    },
    async createSession(session) {
      calls.push(`create ${session.transactionId}`);
      if (!byId.has(session.transactionId)) byId.set(session.transactionId, structuredClone(session));
      return structuredClone(byId.get(session.transactionId)!);
    },
    async getSession(transactionId) {
      const s = byId.get(transactionId);
      return s ? structuredClone(s) : undefined;
    },
    async addSamples() {},
    async samples() {
      return [];
    },
    async stopSession(current, stop) {
      calls.push(`stop ${current.transactionId}`);
      const stored = byId.get(current.transactionId)!;
      if (stored.state !== 'started') return { session: structuredClone(stored), changed: false };
      Object.assign(stored, { ...stop, state: 'stopped', flags: [...stored.flags, ...stop.flags] });
      return { session: structuredClone(stored), changed: true };
    },
    async awaitingCompletion(chargePointId, connectorId) {
      return [...byId.values()].filter((s) => s.chargePointId === chargePointId && s.connectorId === connectorId && s.state === 'stopped').map((s) => structuredClone(s));
    },
    async awaitingCompletionBefore(recordedBefore) {
      return [...byId.values()].filter((s) => s.state === 'stopped' && s.stopRecordedAt! <= recordedBefore).map((s) => structuredClone(s));
    },
    async completeSession(transactionId, completedAt, completedBy) {
      calls.push(`complete ${transactionId} ${completedBy} ${completedAt}`);
      const stored = byId.get(transactionId)!;
      if (stored.state !== 'stopped') return false;
      Object.assign(stored, { state: 'completed', completedAt, completedBy });
      return true;
    },
    async recordUnmatched({ chargePointId, payload }) {
      calls.push(`unknown-stop ${chargePointId} ${String(payload.transactionId)}`);
    },
    async openSessions(chargePointId, connectorId) {
      return [...byId.values()].filter((s) => s.state === 'started' && s.chargePointId === chargePointId && (connectorId === undefined || s.connectorId === connectorId)).map((s) => structuredClone(s));
    },
    async openSessionsCreatedBefore() {
      return [];
    },
    async listSessions() {
      return [];
    },
  };
  return { port, byId, calls };
}

function fakeRegistry() {
  const statuses = new Map<string, ConnectorStatusRecord>();
  const registry = {
    async getChargePoint(chargePointId: string) {
      return { chargePointId, passwordHash: 'x', timeZone: 'Europe/Berlin', tariffId: 'T-1', updatedAt: '2026-01-01T00:00:00.000Z' };
    },
    async chargePointForConnection() {
      return CP;
    },
    // The clock policy's measurement (docs/clocks.md); not what these tests look at.
    async recordClock() {},
    async recordStatus(status: ConnectorStatusRecord) {
      const key = `${status.chargePointId}#${status.connectorId}`;
      const current = statuses.get(key);
      if (current && current.timestamp > status.timestamp) return false;
      statuses.set(key, status);
      return true;
    },
    async getConnectorStatus(chargePointId: string, connectorId: number) {
      return statuses.get(`${chargePointId}#${connectorId}`);
    },
    async recordNotification() {},
  } as unknown as RegistryPort;
  return registry;
}

let clock: ReturnType<typeof fixedClock>;
let sessions: ReturnType<typeof fakeSessions>;
let published: OutgoingEvent[];
let system: ReturnType<typeof createCentralSystem>;
let messageId = 0;

beforeEach(() => {
  clock = fixedClock('2026-11-23T10:00:00.000Z');
  sessions = fakeSessions();
  published = [];
  system = createCentralSystem({
    registry: fakeRegistry(),
    entitlements: {
      async get(idTag) {
        return { idTag, status: 'Accepted', updatedAt: '2026-01-01T00:00:00.000Z' };
      },
      async claimActiveSession() {
        return true;
      },
      async releaseActiveSession() {},
    },
    tariffs: {
      async currentVersion(tariffId) {
        return { tariffId, version: 1 };
      },
    },
    sessions: sessions.port,
    events: {
      async publish(events) {
        published.push(...events);
      },
    },
    connections: { async send() {} },
    clock,
    config: { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: IDLE_LIMIT_SECONDS },
    log: silentLog,
  });
});

async function call(action: string, payload: Record<string, unknown>): Promise<unknown> {
  messageId += 1;
  const answer = JSON.parse((await system.message(CONNECTION, JSON.stringify([2, `m${messageId}`, action, payload])))!);
  if (answer[0] !== 3) throw new Error(`CALLERROR: ${JSON.stringify(answer)}`);
  return answer[2];
}

const start = async (timestamp = '2026-11-23T10:00:00.000Z') =>
  ((await call('StartTransaction', { connectorId: 1, idTag: 'RFID-1', meterStart: 1000, timestamp })) as { transactionId: number }).transactionId;
const stop = (transactionId: number, timestamp = '2026-11-23T11:00:00.000Z') => call('StopTransaction', { transactionId, meterStop: 9000, timestamp });
const status = (status: string, timestamp: string) => call('StatusNotification', { connectorId: 1, status, errorCode: 'NoError', timestamp });
const names = () => published.map((e) => e.contract.detailType);

describe('central system through the session lifecycle', () => {
  it('absent -> started -> stopped -> completed (Available after the stop)', async () => {
    const id = await start();
    clock.set('2026-11-23T11:00:01.000Z');
    await stop(id);
    clock.set('2026-11-23T11:05:00.000Z');
    await status('Available', '2026-11-23T11:05:00.000Z');
    expect(sessions.byId.get(id)).toMatchObject({ state: 'completed', completedBy: 'unplugged', completedAt: '2026-11-23T11:05:00.000Z' });
    expect(names()).toEqual(['SessionStarted', 'SessionStopped', 'SessionCompleted']);
  });

  it('a retried StartTransaction creates nothing new and republishes SessionStarted with the same id', async () => {
    const id = await start();
    expect(await start()).toBe(id);
    expect(sessions.calls.filter((c) => c.startsWith('create'))).toEqual([`create ${id}`]);
    expect(published.map((e) => e.detail.metadata.id)).toEqual([`SessionStarted:sess_${id}`, `SessionStarted:sess_${id}`]);
  });

  it('a retried StopTransaction makes no second stop write, republishes SessionStopped, and completes if the car left meanwhile', async () => {
    const id = await start();
    clock.set('2026-11-23T11:00:01.000Z');
    await stop(id);
    // The first stop's answer was lost; the connector went Available with a timestamp before the stop (queued).
    await status('Available', '2026-11-23T10:59:00.000Z');
    expect(sessions.byId.get(id)!.state).toBe('stopped');
    await stop(id);
    expect(sessions.calls.filter((c) => c.startsWith('stop'))).toEqual([`stop ${id}`]);
    expect(sessions.byId.get(id)).toMatchObject({ state: 'completed', completedBy: 'unplugged', completedAt: '2026-11-23T11:00:00.000Z' });
    expect(names()).toEqual(['SessionStarted', 'SessionStopped', 'SessionStopped', 'SessionCompleted']);
  });

  it('a StopTransaction for a completed session republishes SessionStopped and touches nothing else', async () => {
    const id = await start();
    await stop(id);
    await status('Available', '2026-11-23T11:05:00.000Z');
    const callsBefore = sessions.calls.length;
    await stop(id);
    expect(sessions.calls.slice(callsBefore)).toEqual([]);
    expect(names()).toEqual(['SessionStarted', 'SessionStopped', 'SessionCompleted', 'SessionStopped']);
  });

  it('a StopTransaction for an unknown transaction is answered and recorded for review, nothing published', async () => {
    await expect(stop(4242)).resolves.toEqual({});
    expect(sessions.calls).toEqual(['unknown-stop CP-LC 4242']);
    expect(published).toEqual([]);
  });

  it('an Available older than the stop does not complete the session; the idle sweep does, at the stop + the limit', async () => {
    const id = await start();
    clock.set('2026-11-23T11:00:01.000Z');
    await stop(id);
    // Reported after the stop was stored, but stamped before the stop: says nothing about this session.
    await status('Available', '2026-11-23T10:30:00.000Z');
    expect(sessions.byId.get(id)!.state).toBe('stopped');
    clock.set('2026-11-23T12:00:00.999Z');
    expect(await system.completeIdleSessions()).toBe(0);
    clock.set('2026-11-23T12:00:01.000Z');
    expect(await system.completeIdleSessions()).toBe(1);
    expect(sessions.byId.get(id)).toMatchObject({ state: 'completed', completedBy: 'idle-limit', completedAt: '2026-11-23T12:00:00.000Z' });
    expect(await system.completeIdleSessions()).toBe(0);
    expect(names()).toEqual(['SessionStarted', 'SessionStopped', 'SessionCompleted']);
  });

  it('a stop that loses the race to a concurrent retry (stale read) is a replay of the stored stop', async () => {
    const id = await start();
    clock.set('2026-11-23T11:00:01.000Z');
    await stop(id);
    await status('Available', '2026-11-23T11:00:00.000Z');
    // A stale read: this process still sees the session started, so the machine says stop...
    const stored = sessions.byId.get(id)!;
    const getSession = sessions.port.getSession;
    sessions.port.getSession = async () => ({ ...structuredClone(stored), state: 'started', completedAt: undefined, completedBy: undefined });
    // ...but the store refuses the write (the session is completed), and nothing else happens.
    await stop(id, '2026-11-23T11:30:00.000Z');
    sessions.port.getSession = getSession;
    expect(sessions.calls.filter((c) => c.startsWith('stop'))).toEqual([`stop ${id}`, `stop ${id}`]);
    expect(sessions.byId.get(id)).toMatchObject({ state: 'completed', stoppedAt: '2026-11-23T11:00:00.000Z' });
    const stops = published.filter((e) => e.contract.detailType === 'SessionStopped');
    expect(stops.map((e) => (e.detail.data as { stoppedAt: string }).stoppedAt)).toEqual(['2026-11-23T11:00:00.000Z', '2026-11-23T11:00:00.000Z']);
    expect(names().filter((n) => n === 'SessionCompleted')).toHaveLength(1);
  });

  it('an Available while the session is still charging completes nothing', async () => {
    const id = await start();
    await status('Available', '2026-11-23T10:30:00.000Z');
    expect(sessions.byId.get(id)!.state).toBe('started');
    expect(names()).toEqual(['SessionStarted']);
  });
});
