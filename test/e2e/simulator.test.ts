import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planChargePoint } from '../../bin/simulator/charge-point.ts';
import { chargingPowerKw, planSession, VEHICLES } from '../../bin/simulator/charging.ts';
import { seededRandom } from '../../bin/simulator/random.ts';
import { runSimulation, SimulationOptionsError, type SimulationSummary } from '../../bin/simulator/simulation.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { startLocalStack, type LocalStack } from '../../lib/local/stack.ts';

interface BusEvent {
  'detail-type': string;
  detail: { metadata: { id: string }; data: { sessionId: string } };
}

describe('charge point simulator', () => {
  describe('session planning', () => {
    it.each([
      { chargePointMaxKw: 22, label: 'AC 22 kW' },
      { chargePointMaxKw: 150, label: 'DC 150 kW' },
    ])('plans a session whose meter only grows and whose timeline is ordered ($label)', ({ chargePointMaxKw }) => {
      // Prepare
      const random = seededRandom('planning');

      for (let i = 0; i < 20; i++) {
        // Act
        const plan = planSession(random, { connectorId: 1, chargePointMaxKw, sampleMinutes: 1 });

        // Assess
        expect(plan.authorizeAtS).toBeLessThan(plan.startAtS);
        expect(plan.startAtS).toBeLessThan(plan.chargingEndsAtS);
        expect(plan.chargingEndsAtS).toBeLessThan(plan.stopAtS);
        expect(plan.stopAtS).toBeLessThan(plan.unplugAtS);
        const readings = [...plan.samples, plan.finalSample];
        for (let s = 1; s < readings.length; s++) {
          expect(readings[s]!.offsetS).toBeGreaterThan(readings[s - 1]!.offsetS);
          expect(readings[s]!.energyWh).toBeGreaterThanOrEqual(readings[s - 1]!.energyWh);
        }
        expect(plan.energyWh).toBe(plan.finalSample.energyWh);
        expect(plan.energyWh).toBeGreaterThan(0);
        // The idle tail draws nothing.
        for (const sample of plan.samples.filter((x) => x.offsetS > plan.chargingEndsAtS)) expect(sample.powerW).toBe(0);
        // Never more power than the charge point can give.
        for (const sample of plan.samples) expect(sample.powerW).toBeLessThanOrEqual(chargePointMaxKw * 1000);
      }
    });

    it('holds constant power below 80 % and tapers above, capped by the car', () => {
      const car = VEHICLES[1]!;
      expect(chargingPowerKw(0.3, 22, car)).toBe(car.maxAcKw);
      expect(chargingPowerKw(0.79, 150, car)).toBe(car.maxDcKw > 150 ? 150 : car.maxDcKw);
      expect(chargingPowerKw(0.9, 150, car)).toBeLessThan(chargingPowerKw(0.85, 150, car));
      expect(chargingPowerKw(1, 150, car)).toBe(0);
    });

    it('puts sessions of one charge point one after another', () => {
      const plan = planChargePoint(seededRandom(7), { sessions: 3, connectors: 2, maxPowerKw: 22, sampleMinutes: 1 });
      expect(plan.sessions.map((s) => s.plan.connectorId)).toEqual([1, 2, 1]);
      for (let i = 1; i < plan.sessions.length; i++) {
        const previous = plan.sessions[i - 1]!;
        expect(plan.sessions[i]!.baseS).toBeGreaterThan(previous.baseS + previous.plan.unplugAtS);
      }
      const last = plan.sessions.at(-1)!;
      expect(plan.spanS).toBe(last.baseS + last.plan.unplugAtS);
    });
  });

  describe('options', () => {
    it('refuses more than the demo charge points without an admin token', async () => {
      await expect(
        runSimulation({ url: 'ws://127.0.0.1:9/ocpp', chargePoints: 4, sessionsPerChargePoint: 1, speed: 600, sampleMinutes: 1, idTag: 'DEMO-RETAIL', password: DEMO.password }),
      ).rejects.toThrow(SimulationOptionsError);
    });
  });

  describe('against the local stack, provisioned through the admin API', () => {
    let stack: LocalStack;
    const events: BusEvent[] = [];
    let summary: SimulationSummary;
    let finishedAt = 0;

    beforeAll(async () => {
      stack = await startLocalStack({ port: 0, seed: false, log: silentLog, sweepIntervalMs: 0 });
      stack.bus.subscribe((event: unknown) => {
        events.push(event as unknown as BusEvent);
      });
      summary = await runSimulation({
        url: stack.ocppUrl,
        adminUrl: stack.adminUrl,
        adminToken: stack.adminToken,
        chargePoints: 3,
        sessionsPerChargePoint: 2,
        speed: 30_000,
        sampleMinutes: 5,
        // Not a demo idTag: the simulator must create it.
        idTag: 'SIM-DRIVER-1',
        password: DEMO.password,
        seed: 'e2e',
      });
      finishedAt = Date.now();
      await stack.bus.drain();
    }, 60_000);

    afterAll(async () => {
      await stack?.close();
    });

    it('completes every session without errors', () => {
      expect(summary.sessionsFailed, JSON.stringify(summary.sessions.filter((s) => s.error))).toBe(0);
      expect(summary.sessionsCompleted).toBe(6);
      expect(summary.errors).toEqual({ callErrors: 0, callErrorsByCode: {}, timeouts: 0, connectionFailures: 0 });
      expect(new Set(summary.sessions.map((s) => s.chargePointId))).toEqual(new Set(['SIM-0001', 'SIM-0002', 'SIM-0003']));
    });

    it('stores each session completed by the unplug, with every sample sent and energy = meterStop - meterStart', async () => {
      for (const outcome of summary.sessions) {
        const session = await stack.stores.sessions.getSession(outcome.transactionId!);
        expect(session).toBeDefined();
        expect(session!).toMatchObject({
          chargePointId: outcome.chargePointId,
          connectorId: outcome.connectorId,
          idTag: 'SIM-DRIVER-1',
          state: 'completed',
          completedBy: 'unplugged',
          meterStartWh: outcome.meterStartWh,
          meterStopWh: outcome.meterStopWh,
          stopReason: 'Local',
        });
        expect(session!.energyWh).toBe(session!.meterStopWh! - session!.meterStartWh);
        expect(session!.energyWh).toBe(outcome.energyWh);
        expect(session!.energyWh).toBeGreaterThan(0);

        const samples = await stack.stores.sessions.samples(outcome.transactionId!);
        expect(samples).toHaveLength(outcome.samplesSent);
        expect(samples.filter((s) => s.source === 'MeterValues')).toHaveLength(outcome.meterValuesSent);
        expect(samples.filter((s) => s.source === 'StopTransaction')).toHaveLength(1);

        // Simulated time is anchored in the past: no timestamp lies in the future.
        for (const at of [session!.startedAt, session!.stoppedAt!, session!.completedAt!]) expect(Date.parse(at)).toBeLessThanOrEqual(finishedAt);
      }
    });

    it('publishes SessionStarted, SessionStopped and SessionCompleted exactly once per session', () => {
      const sessionIds = summary.sessions.map((s) => `sess_${s.transactionId}`).sort();
      for (const type of ['SessionStarted', 'SessionStopped', 'SessionCompleted']) {
        // EventBridge is at-least-once: a redelivery carries the same metadata.id, so count ids.
        const ids = new Map<string, Set<string>>();
        for (const event of events.filter((e) => e['detail-type'] === type)) {
          const sessionId = event.detail.data.sessionId;
          if (!ids.has(sessionId)) ids.set(sessionId, new Set());
          ids.get(sessionId)!.add(event.detail.metadata.id);
        }
        expect([...ids.keys()].sort(), type).toEqual(sessionIds);
        for (const [sessionId, set] of ids) expect(set.size, `${type} ${sessionId}`).toBe(1);
      }
    });
  });
});
