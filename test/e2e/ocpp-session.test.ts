import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { fixedClock } from '../../functions/shared/clock.ts';
import { admin, connectChargePoint, energySample, rawSocket, startTestStack, upgradeStatus, type ChargePointClient } from '../support/stack.ts';

const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + minutes * 60_000).toISOString();

describe('OCPP 1.6J end to end on the local stack', () => {
  let stack: LocalStack;
  const events: Array<{ type: string; id: string; sessionId?: string }> = [];
  const clients: ChargePointClient[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
    stack.bus.subscribe((event: any) => {
      events.push({ type: event['detail-type'], id: event.detail.metadata.id, sessionId: event.detail.data.sessionId });
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => undefined)));
    await stack.close();
  });

  async function chargePoint(identity: string, options?: Parameters<typeof connectChargePoint>[2]) {
    const client = await connectChargePoint(stack, identity, options);
    clients.push(client);
    return client;
  }

  describe('a whole session', () => {
    it('boots, authorizes, charges, stops, is unplugged, and ends completed with every message stored', async () => {
      const cp = await chargePoint('CP-001');

      const boot = await cp.call('BootNotification', { chargePointVendor: 'VoltLedger', chargePointModel: 'Sim-22' });
      expect(boot.status).toBe('Accepted');
      expect(boot.interval).toBeLessThan(600);
      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: t(-5) });
      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing', timestamp: t(-1) });
      expect(await cp.call('Authorize', { idTag: 'DEMO-RETAIL' })).toEqual({ idTagInfo: { status: 'Accepted' } });

      const start = await cp.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 10_000, timestamp: t(0) });
      expect(start.idTagInfo.status).toBe('Accepted');
      const transactionId: number = start.transactionId;
      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: t(0) });
      // Out of order on purpose, and once in kWh: the store sorts by timestamp and keeps units as sent.
      await cp.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(t(10), 11_800)] });
      await cp.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(t(5), 10_900, 'kWh')] });
      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'SuspendedEV', timestamp: t(12) });
      const stop = await cp.call('StopTransaction', {
        transactionId,
        idTag: 'DEMO-RETAIL',
        meterStop: 12_000,
        timestamp: t(20),
        reason: 'Local',
        transactionData: [energySample(t(20), 12_000)],
      });
      expect(stop).toEqual({ idTagInfo: { status: 'Accepted' } });
      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Finishing', timestamp: t(20) });

      let view = await admin(stack, 'GET', `/sessions?chargePointId=CP-001&transactionId=${transactionId}`);
      expect(view.body.lifecycle).toBe('stopped');

      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: t(35) });
      await stack.bus.drain();

      view = await admin(stack, 'GET', `/sessions/sess_${transactionId}`);
      expect(view.status).toBe(200);
      expect(view.body).toMatchObject({
        sessionId: `sess_${transactionId}`,
        chargePointId: 'CP-001',
        connectorId: 1,
        idTag: 'DEMO-RETAIL',
        lifecycle: 'completed',
        startedAt: t(0),
        stoppedAt: t(20),
        completedAt: t(35),
        completedBy: 'unplugged',
        meterStartWh: 10_000,
        meterStopWh: 12_000,
        energyWh: 2_000,
        stopReason: 'Local',
        timeZone: 'Europe/Berlin',
        siteId: 'berlin-mitte',
        tariff: { tariffId: DEMO.tariffId, version: 1 },
        billingProfile: { kind: 'retail' },
        flags: [],
      });
      expect(view.body.meterSamples.map((s: { timestamp: string }) => s.timestamp)).toEqual([t(5), t(10), t(20)]);
      expect(view.body.meterSamples[0].sampledValue[0]).toMatchObject({ value: '10.900', unit: 'kWh' });
      expect(view.body.statusTimeline.map((s: { status: string }) => s.status)).toEqual(['Charging', 'SuspendedEV', 'Finishing', 'Available']);

      // One SessionMeterValues per MeterValues message (payments keeps a running cost from them).
      const types = events.filter((e) => e.sessionId === `sess_${transactionId}`).map((e) => e.type);
      expect(types).toEqual(['SessionStarted', 'SessionMeterValues', 'SessionMeterValues', 'SessionStopped', 'SessionCompleted', 'SessionPriced']);

      // Priced by the pricing consumer on SessionCompleted, with the tariff version snapshotted at
      // start: 2 kWh at the 07:00-22:00 rate (10:00 in Berlin), 0.49 EUR/kWh + 19 % VAT.
      view = await admin(stack, 'GET', `/sessions/sess_${transactionId}`);
      expect(view.body.price).toMatchObject({
        tariffId: DEMO.tariffId,
        currency: 'EUR',
        total_energy: '2',
        total_energy_cost: { excl_vat: '0.98', incl_vat: '1.17' },
      });
      expect(view.body.totalMinor).toBe(view.body.price.totalMinor);
      expect(view.body.price.lines.length).toBeGreaterThan(0);
    });
  });

  describe('retries and duplicates', () => {
    it('gives a retried StartTransaction the same transactionId and stores one session', async () => {
      const cp = await chargePoint('CP-002');
      const req = { connectorId: 2, idTag: 'demo-member', meterStart: 0, timestamp: t(100) };
      const first = await cp.call('StartTransaction', req);
      const second = await cp.call('StartTransaction', req);
      expect(second.transactionId).toBe(first.transactionId);
      const sessions = (await stack.stores.sessions.listSessions('CP-002', 50)).filter((s) => s.startedAt === t(100));
      expect(sessions).toHaveLength(1);
      // idTags are case-insensitive: the member's billing profile was found and snapshotted.
      expect(sessions[0]!.billingProfile).toEqual({ kind: 'member', tier: 'plus' });
      await stack.bus.drain();
      const started = events.filter((e) => e.sessionId === `sess_${first.transactionId}` && e.type === 'SessionStarted');
      expect(new Set(started.map((e) => e.id))).toEqual(new Set([`SessionStarted:sess_${first.transactionId}`]));
    });

    it('stores a duplicated MeterValues once and answers a repeated StopTransaction the same way', async () => {
      const cp = await chargePoint('CP-002');
      const { transactionId } = await cp.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 500, timestamp: t(200) });
      const meterValues = { connectorId: 1, transactionId, meterValue: [energySample(t(201), 900)] };
      await cp.call('MeterValues', meterValues);
      await cp.call('MeterValues', meterValues);
      const stopReq = { transactionId, meterStop: 1500, timestamp: t(210) };
      expect(await cp.call('StopTransaction', stopReq)).toEqual({});
      expect(await cp.call('StopTransaction', { ...stopReq, meterStop: 9999 })).toEqual({});
      const session = await stack.stores.sessions.getSession(transactionId);
      expect(session).toMatchObject({ state: 'stopped', meterStopWh: 1500, energyWh: 1000 });
      expect(await stack.stores.sessions.samples(transactionId)).toHaveLength(1);
    });
  });

  describe('a reconnect in the middle of a session', () => {
    it('continues the session on the new connection, with queued messages carrying their original timestamps', async () => {
      const first = await chargePoint('CP-003');
      const { transactionId } = await first.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-FREE', meterStart: 0, timestamp: t(300) });
      await first.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(t(305), 4000)] });
      await first.close({ force: true });

      const second = await chargePoint('CP-003');
      // Sent late, after the reconnect, as a charge point replays its offline queue.
      await second.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(t(310), 8000)] });
      await second.call('StopTransaction', { transactionId, meterStop: 9000, timestamp: t(315) });
      const session = await stack.stores.sessions.getSession(transactionId);
      expect(session).toMatchObject({ state: 'stopped', energyWh: 9000, stoppedAt: t(315) });
      expect((await stack.stores.sessions.samples(transactionId)).map((s) => s.timestamp)).toEqual([t(305), t(310)]);
      const profile = await stack.stores.registry.getChargePoint('CP-003');
      expect(profile?.connectionId).toBeDefined();
    });
  });

  describe('malformed frames', () => {
    it('answers each with the right CALLERROR, keeps the connection and writes nothing', async () => {
      const before = await stack.stores.sessions.listSessions('CP-001', 100);
      const { ws, next } = await rawSocket(stack, 'CP-001');
      const cases: Array<[string, unknown[]]> = [
        ['[2,"m1","StartTransaction",{', [4, 'm1', 'FormationViolation']],
        ['[2,"m2","Teleport",{}]', [4, 'm2', 'NotImplemented']],
        ['[2,"m3","StartTransaction",{"connectorId":"one","idTag":"DEMO-RETAIL","meterStart":0,"timestamp":"2026-11-23T09:00:00Z"}]', [4, 'm3', 'TypeConstraintViolation']],
        ['[2,"m4","StartTransaction",{"connectorId":1,"meterStart":0,"timestamp":"2026-11-23T09:00:00Z"}]', [4, 'm4', 'OccurenceConstraintViolation']],
        ['[2,"m5","StartTransaction",{"connectorId":1,"idTag":"DEMO-RETAIL","meterStart":0,"timestamp":"now"}]', [4, 'm5', 'PropertyConstraintViolation']],
        ['[2,"m6","StartTransaction",{"connectorId":1,"idTag":"DEMO-RETAIL","meterStart":0,"timestamp":"2026-11-23T09:00:00Z","x":1}]', [4, 'm6', 'FormationViolation']],
        ['"just a string"', [4, '-1', 'FormationViolation']],
      ];
      for (const [frame, expected] of cases) {
        ws.send(frame);
        expect(((await next()) as unknown[]).slice(0, 3)).toEqual(expected);
      }
      // An answer to a call never made is dropped, and the connection still works.
      ws.send('[3,"never-sent",{}]');
      ws.send('[2,"hb","Heartbeat",{}]');
      const heartbeat = (await next()) as unknown[];
      expect(heartbeat.slice(0, 2)).toEqual([3, 'hb']);
      expect(ws.readyState).toBe(WebSocket.OPEN);
      expect(await stack.stores.sessions.listSessions('CP-001', 100)).toHaveLength(before.length);
      ws.close();
    });
  });

  describe('whose session is it', () => {
    it('answers a StopTransaction for an unknown or foreign transaction, records it, and touches nothing', async () => {
      const owner = await chargePoint('CP-001');
      const { transactionId } = await owner.call('StartTransaction', { connectorId: 2, idTag: 'DEMO-RETAIL', meterStart: 0, timestamp: t(400) });
      const intruder = await chargePoint('CP-002');

      expect(await intruder.call('StopTransaction', { transactionId, idTag: 'DEMO-RETAIL', meterStop: 5, timestamp: t(401) })).toEqual({
        idTagInfo: { status: 'Accepted' },
      });
      expect(await intruder.call('StopTransaction', { transactionId: 987654, meterStop: 5, timestamp: t(402) })).toEqual({});
      await intruder.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(t(401), 99)] });

      expect(await stack.stores.sessions.getSession(transactionId)).toMatchObject({ state: 'started', chargePointId: 'CP-001' });
      expect(await stack.stores.sessions.samples(transactionId)).toHaveLength(0);
      const unknown = await stack.stores.sessions.unknownStops('CP-002');
      expect(unknown.map((u) => u.payload.transactionId)).toEqual(expect.arrayContaining([transactionId, 987654]));
      // The foreign MeterValues is kept for review, visible on the charge point.
      const view = await admin(stack, 'GET', '/charge-points/CP-002');
      expect(view.body.recentNotifications).toEqual(
        expect.arrayContaining([expect.objectContaining({ kind: 'MeterValues.unknownTransaction', payload: expect.objectContaining({ transactionId }) })]),
      );
    });

    it('flags a meterStop below meterStart instead of billing negative energy', async () => {
      const cp = await chargePoint('CP-001');
      const { transactionId } = await cp.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 50_000, timestamp: t(500) });
      await cp.call('StopTransaction', { transactionId, meterStop: 49_000, timestamp: t(530) });
      expect(await stack.stores.sessions.getSession(transactionId)).toMatchObject({ energyWh: 0, flags: ['meter-stop-below-start'] });
    });
  });

  describe('authorization', () => {
    it.each([
      ['DEMO-BLOCKED', 'Blocked'],
      ['DEMO-EXPIRED', 'Expired'],
      ['NOBODY', 'Invalid'],
    ])('answers Authorize for %s with %s', async (idTag, status) => {
      const cp = await chargePoint('CP-002');
      expect((await cp.call('Authorize', { idTag })).idTagInfo.status).toBe(status);
    });

    it('re-checks the idTag at StartTransaction (a charge point may have authorized offline)', async () => {
      const cp = await chargePoint('CP-002');
      const start = await cp.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-BLOCKED', meterStart: 0, timestamp: t(600) });
      expect(start.idTagInfo.status).toBe('Blocked');
      expect(await stack.stores.sessions.getSession(start.transactionId)).toMatchObject({ authorizationStatus: 'Blocked' });
    });
  });

  describe('$connect', () => {
    const attempt = (identity: string, headers: Record<string, string>, protocols: string[] = ['ocpp1.6']) => upgradeStatus(stack, identity, headers, protocols);
    const basic = (user: string, password: string) => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

    it.each([
      ['the right password', 'CP-001', basic('CP-001', DEMO.password), ['ocpp1.6'], 101],
      ['a wrong password', 'CP-001', basic('CP-001', 'wrong-password-123'), ['ocpp1.6'], 401],
      ['no Basic auth', 'CP-001', {}, ['ocpp1.6'], 401],
      ['a username that is not the identity', 'CP-001', basic('CP-002', DEMO.password), ['ocpp1.6'], 401],
      ['an unknown charge point', 'CP-999', basic('CP-999', DEMO.password), ['ocpp1.6'], 401],
      ['no ocpp1.6 subprotocol', 'CP-001', basic('CP-001', DEMO.password), ['ocpp2.0.1'], 400],
    ])('with %s answers $4', async (_name, identity, headers, protocols, status) => {
      expect(await attempt(identity, headers, protocols)).toBe(status);
    });
  });

  describe('commands to a charge point', () => {
    it('sends RemoteStopTransaction and records the answer', async () => {
      const received: unknown[] = [];
      await chargePoint('CP-003', {
        handlers: {
          RemoteStopTransaction: (params) => {
            received.push(params);
            return { status: 'Accepted' };
          },
        },
      });
      const sent = await admin(stack, 'POST', '/charge-points/CP-003/commands', { action: 'RemoteStopTransaction', payload: { transactionId: 42 } });
      expect(sent.status).toBe(202);
      const answered = await admin(stack, 'GET', `/charge-points/CP-003/commands/${sent.body.messageId}?waitSeconds=5`);
      expect(answered.body).toMatchObject({ state: 'accepted', result: { status: 'Accepted' }, action: 'RemoteStopTransaction' });
      expect(received).toEqual([{ transactionId: 42 }]);
    });

    it('says clearly when the charge point is offline', async () => {
      await stack.stores.registry.upsertChargePoint('CP-OFFLINE', { passwordHash: 'scrypt$1$1$1$x$y', timeZone: 'UTC' }, t(0));
      const sent = await admin(stack, 'POST', '/charge-points/CP-OFFLINE/commands', { action: 'Reset', payload: { type: 'Soft' } });
      expect(sent.status).toBe(409);
      expect(sent.body.error).toBe('ChargePointOffline');
    });

    it('rejects a command whose payload breaks the OCPP schema, naming the field', async () => {
      const sent = await admin(stack, 'POST', '/charge-points/CP-003/commands', { action: 'Reset', payload: { type: 'Gentle' } });
      expect(sent.status).toBe(400);
      expect(sent.body.field).toBe('payload.type');
    });
  });
});

describe('restart on the same data folder', () => {
  it('keeps every acknowledged session and continues the transactionId counter', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'voltledger-restart-'));
    try {
      let stack = await startTestStack({ dataDir });
      let cp = await connectChargePoint(stack, 'CP-001');
      const { transactionId } = await cp.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 0, timestamp: t(700) });
      await cp.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(t(701), 100)] });
      await cp.close({ force: true });
      await stack.close();

      stack = await startTestStack({ dataDir });
      cp = await connectChargePoint(stack, 'CP-001');
      expect(await stack.stores.sessions.getSession(transactionId)).toMatchObject({ state: 'started' });
      expect(await stack.stores.sessions.samples(transactionId)).toHaveLength(1);
      const next = await cp.call('StartTransaction', { connectorId: 2, idTag: 'DEMO-RETAIL', meterStart: 0, timestamp: t(702) });
      expect(next.transactionId).toBeGreaterThan(transactionId);
      await cp.close({ force: true });
      await stack.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('single session per idTag (OCPP_SINGLE_SESSION_PER_IDTAG)', () => {
  it('answers ConcurrentTx while the idTag charges elsewhere, and Accepted again after the stop', async () => {
    const stack = await startTestStack({ config: { singleSessionPerIdTag: true } });
    try {
      const first = await connectChargePoint(stack, 'CP-001');
      const second = await connectChargePoint(stack, 'CP-002');
      const start = { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 0, timestamp: t(800) };
      const { transactionId, idTagInfo } = await first.call('StartTransaction', start);
      expect(idTagInfo.status).toBe('Accepted');
      // A retry of the same StartTransaction is the same transaction, not a concurrent one.
      expect((await first.call('StartTransaction', start)).idTagInfo.status).toBe('Accepted');

      expect((await second.call('Authorize', { idTag: 'demo-retail' })).idTagInfo.status).toBe('ConcurrentTx');
      // An operator editing the card meanwhile does not drop the running session's hold.
      expect((await admin(stack, 'PUT', '/id-tags/DEMO-RETAIL', { status: 'Accepted', billing: { kind: 'retail' } })).status).toBe(200);
      expect((await second.call('Authorize', { idTag: 'DEMO-RETAIL' })).idTagInfo.status).toBe('ConcurrentTx');
      const refused = await second.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 0, timestamp: t(801) });
      expect(refused.idTagInfo.status).toBe('ConcurrentTx');
      expect(await stack.stores.sessions.getSession(refused.transactionId)).toMatchObject({ authorizationStatus: 'ConcurrentTx' });
      // The refused session's stop must not release the first session's hold.
      await second.call('StopTransaction', { transactionId: refused.transactionId, idTag: 'DEMO-RETAIL', meterStop: 0, timestamp: t(802) });
      expect((await second.call('Authorize', { idTag: 'DEMO-RETAIL' })).idTagInfo.status).toBe('ConcurrentTx');

      expect(await first.call('StopTransaction', { transactionId, idTag: 'DEMO-RETAIL', meterStop: 100, timestamp: t(830) })).toEqual({
        idTagInfo: { status: 'Accepted' },
      });
      expect((await second.call('Authorize', { idTag: 'DEMO-RETAIL' })).idTagInfo.status).toBe('Accepted');
      await Promise.all([first.close({ force: true }), second.close({ force: true })]);
    } finally {
      await stack.close();
    }
  });
});

describe('idle limit', () => {
  it('completes a stopped session whose connector never reports Available, counting from when the stop arrived', async () => {
    const clock = fixedClock(new Date());
    const stack = await startTestStack({ config: { idleCompletionLimitSeconds: 600 }, clock });
    try {
      const cp = await connectChargePoint(stack, 'CP-002');
      // A StopTransaction queued while offline: its timestamp is an hour before it arrives.
      const startedAt = new Date(clock.now().getTime() - 7200_000).toISOString();
      const stoppedAt = new Date(clock.now().getTime() - 3600_000).toISOString();
      const { transactionId } = await cp.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 0, timestamp: startedAt });
      await cp.call('StopTransaction', { transactionId, meterStop: 10, timestamp: stoppedAt });

      // Not closed at once although its stop timestamp is past the limit: the unplug may still come.
      expect(await stack.system.completeIdleSessions()).toBe(0);
      clock.advance(601_000);
      expect(await stack.system.completeIdleSessions()).toBe(1);
      expect(await stack.system.completeIdleSessions()).toBe(0);
      // Billable idle time ends at the charge point's stop + the limit.
      expect(await stack.stores.sessions.getSession(transactionId)).toMatchObject({
        state: 'completed',
        completedBy: 'idle-limit',
        completedAt: new Date(Date.parse(stoppedAt) + 600_000).toISOString(),
      });
      await cp.close({ force: true });
    } finally {
      await stack.close();
    }
  });
});
