import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionChargePoints } from '../../bin/simulator/provisioning.ts';
import { DEMO } from '../../lib/local/seed.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { adminApiSource, checkLoadInvariants, type EventTally, type InvariantReport, type SessionSource } from '../../bin/simulator/load-invariants.ts';
import { runLoadSimulation, type LedgerSession, type LoadSimulationResult } from '../../bin/simulator/load-simulation.ts';
import { startTestStack } from '../support/stack.ts';

/**
 * The load simulation at a small scale, in the normal suite: 20 charge points run sessions
 * concurrently, all drop at once while charging, keep charging offline (queueing transaction
 * messages and status notifications with their original timestamps, starting sessions on local
 * authorization), reconnect at once and replay. The store must then hold every acknowledged
 * session once, with every sample, stop, completion and price. Behaviour only: no timing is asserted.
 */
describe('reconnect storm: 20 charge points drop and replay their queues', () => {
  let stack: LocalStack;
  let run: LoadSimulationResult;
  let report: InvariantReport;
  const events: EventTally = new Map();

  beforeAll(async () => {
    stack = await startTestStack({ seed: false, roaming: { localPartner: false } });
    stack.bus.subscribe((event: any) => {
      const sessionId = event.detail?.data?.sessionId as string | undefined;
      if (!sessionId) return;
      const byType = events.get(sessionId) ?? events.set(sessionId, new Map()).get(sessionId)!;
      const entry = byType.get(event['detail-type']) ?? byType.set(event['detail-type'], { ids: new Set(), deliveries: 0, totals: new Set() }).get(event['detail-type'])!;
      entry.ids.add(event.detail.metadata.id);
      entry.deliveries += 1;
      if (event['detail-type'] === 'SessionPriced') entry.totals.add(String(event.detail.data.totalMinor));
    });
    const admin = (method: string, path: string, body: unknown) =>
      fetch(`${stack.adminUrl}${path}`, { method, headers: { authorization: `Bearer ${stack.adminToken}` }, body: JSON.stringify(body) });
    expect((await admin('PUT', '/tariffs/STORM-TOU', { ...DEMO.tariff, id: 'STORM-TOU' })).status).toBeLessThan(300);
    const chargePoints = await provisionChargePoints({
      adminUrl: stack.adminUrl,
      adminToken: stack.adminToken,
      count: 20,
      password: DEMO.password,
      idTag: 'STORM-DRIVER',
      tariffId: 'STORM-TOU',
    });
    run = await runLoadSimulation({
      url: stack.ocppUrl,
      chargePoints,
      password: DEMO.password,
      idTag: 'STORM-DRIVER',
      // 10 simulated minutes per second: sessions of 10-20 minutes take 1-2 s, and 1.5 s offline
      // is 15 simulated minutes of MeterValues, starts and stops to queue.
      durationS: 8,
      timeCompression: 600,
      meterIntervalS: 60,
      sessionMinutes: [10, 20],
      storm: { atS: 3, offlineS: 1.5 },
      seed: 'storm-e2e',
    });
    await stack.bus.drain();
    report = await checkLoadInvariants(run.sessions, adminApiSource(stack.adminUrl, stack.adminToken), { runStartedAtMs: run.startedAtMs, events });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  const value = (name: string) => report.checks.find((c) => c.name.startsWith(name))!;

  it('connects every charge point and replays what was queued offline', () => {
    expect(run.connectedAtStart).toBe(20);
    expect(run.storm!.reconnectFailures).toBe(0);
    expect(run.storm!.reconnect.count).toBe(20);
    const queued = Object.values(run.storm!.queuedOffline).reduce((a, b) => a + b, 0);
    expect(queued).toBeGreaterThan(0);
    expect(run.storm!.queuedOffline.MeterValues).toBeGreaterThan(0);
    // Everything queued (or in flight) at the drop was delivered after the reconnect.
    expect(run.storm!.replayed).toBeGreaterThanOrEqual(queued);
    expect(run.errors.undelivered).toBe(0);
    expect(run.errors.messagesGivenUp).toEqual({});
    expect(run.errors.callErrors).toEqual({});
  });

  it('loses no session and duplicates none', () => {
    expect(value('sessions started').value).toBeGreaterThan(20);
    expect(value('lost sessions').value, value('lost sessions').examples.join('\n')).toBe(0);
    expect(value('duplicated sessions').value, value('duplicated sessions').examples.join('\n')).toBe(0);
    expect(value('StartTransaction answered other than Accepted').value).toBe(0);
  });

  it('stores every acknowledged sample once and records every stop once', () => {
    expect(value('MeterValues samples lost').value, value('MeterValues samples lost').examples.join('\n')).toBe(0);
    expect(value('MeterValues samples duplicated').value, value('MeterValues samples duplicated').examples.join('\n')).toBe(0);
    expect(value('stops acknowledged').value).toBe(value('sessions started').value);
    expect(value('stops lost').value, value('stops lost').examples.join('\n')).toBe(0);
    expect(value('sessions without exactly one Transaction.End').value).toBe(0);
  });

  it('completes each session once by the unplug and prices it once', () => {
    expect(value('sessions stopped and unplugged').value).toBe(value('sessions started').value);
    expect(value('not completed once').value, value('not completed once').examples.join('\n')).toBe(0);
    expect(value('sessions priced').value).toBe(value('sessions started').value);
    for (const type of ['SessionStarted', 'SessionStopped', 'SessionCompleted', 'SessionPriced']) {
      expect(value(`sessions whose ${type}`).value, value(`sessions whose ${type}`).examples.join('\n')).toBe(0);
    }
    expect(value('sessions priced with two different totals').value).toBe(0);
    expect(report.ok).toBe(true);
  });

  it('includes sessions started offline and replayed after the reconnect', () => {
    // The storm hit while charge points were between sessions too: some started on local authorization.
    const offline = run.sessions.filter((s) => s.startQueuedOffline && s.transactionId !== undefined);
    expect(offline.length + Object.values(run.storm!.inFlightAtDrop).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});

/** The checker itself, against a made-up store: it must see what is wrong. */
describe('load invariant checks', () => {
  const started = '2026-01-01T10:00:00.000Z';
  const ledger = (overrides: Partial<LedgerSession> = {}): LedgerSession => ({
    chargePointId: 'CP-1',
    connectorId: 1,
    idTag: 'TAG',
    startedAt: started,
    meterStartWh: 1000,
    authorizedOffline: false,
    startQueuedOffline: false,
    transactionId: 7,
    startStatus: 'Accepted',
    conflictingTransactionIds: [],
    meterValues: [{ timestamp: '2026-01-01T10:01:00.000Z', registerWh: 1200, acked: true }],
    stop: { timestamp: '2026-01-01T10:02:00.000Z', meterStopWh: 1400, acked: true },
    unplug: { timestamp: '2026-01-01T10:05:00.000Z', acked: true },
    ...overrides,
  });
  const storedSession = (transactionId: number, startedAt = started) => ({
    transactionId,
    chargePointId: 'CP-1',
    connectorId: 1,
    startedAt,
    meterStartWh: 1000,
    state: 'completed' as const,
    stoppedAt: '2026-01-01T10:02:00.000Z',
    meterStopWh: 1400,
    energyWh: 400,
    completedAt: '2026-01-01T10:05:00.000Z',
    completedBy: 'unplugged',
    createdAt: new Date().toISOString(),
    pricedAt: new Date().toISOString(),
    totalMinor: 100,
  });
  const sample = (timestamp: string, wh: number, source = 'MeterValues') => ({ timestamp, source, sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register' }] });
  const source = (sessions: ReturnType<typeof storedSession>[], samples: ReturnType<typeof sample>[]): SessionSource => ({
    listSessions: async () => sessions,
    session: async (_cp, tx) => {
      const found = sessions.find((s) => s.transactionId === tx);
      return found ? { ...found, meterSamples: samples, price: { total: 1 } } : undefined;
    },
  });
  const good = [sample('2026-01-01T10:01:00.000Z', 1200), sample('2026-01-01T10:02:00.000Z', 1400, 'StopTransaction')];
  const failing = (report: InvariantReport) => report.checks.filter((c) => c.ok === false).map((c) => c.name.split(' (')[0]);

  it('passes a store that matches the ledger', async () => {
    const report = await checkLoadInvariants([ledger()], source([storedSession(7)], good), { runStartedAtMs: 0, settleTimeoutS: 0 });
    expect(failing(report)).toEqual([]);
  });

  it('finds a lost session, a second stored session for one start, and a lost sample', async () => {
    expect(failing(await checkLoadInvariants([ledger()], source([], good), { runStartedAtMs: 0, settleTimeoutS: 0 }))).toEqual(['lost sessions']);
    expect(failing(await checkLoadInvariants([ledger()], source([storedSession(7), storedSession(8)], good), { runStartedAtMs: 0, settleTimeoutS: 0 }))).toEqual(['duplicated sessions']);
    expect(failing(await checkLoadInvariants([ledger()], source([storedSession(7)], [good[1]!]), { runStartedAtMs: 0, settleTimeoutS: 0 }))).toEqual(['MeterValues samples lost']);
    expect(failing(await checkLoadInvariants([ledger({ conflictingTransactionIds: [9] })], source([storedSession(7)], good), { runStartedAtMs: 0, settleTimeoutS: 0 }))).toEqual(['duplicated sessions']);
  });
});
