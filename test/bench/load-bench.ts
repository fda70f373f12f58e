import { loadavg } from 'node:os';
import { provisionChargePoints } from '../../bin/simulator/provisioning.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { startLocalStack } from '../../lib/local/stack.ts';
import { adminApiSource, checkLoadInvariants, type EventTally, type InvariantReport } from './load-invariants.ts';
import { loadBenchResults } from './load-report.ts';
import { checkDescriptorLimit, runLoadSimulation, type LoadSimulationResult } from './load-simulation.ts';
import type { BenchResult } from './types.ts';

export interface LoadBenchOptions {
  /** Charge points connected (default 1,000). */
  chargePoints?: number;
  /** Real seconds of sessions (default 120). */
  durationS?: number;
  /**
   * Simulated seconds per real second (default 30: a MeterValues every 2 s per charging charge point,
   * so 1,000 charge points offer about 500 MeterValues/s plus their status notifications, about 650
   * messages/s, above the 500/s goal).
   */
  timeCompression?: number;
  /** Simulated seconds between MeterValues (default 60). */
  meterIntervalS?: number;
  /** When the storm hits (real seconds into the run; default half the duration); `false` for none. */
  stormAtS?: number | false;
  /** How long the charge points stay offline (default 5 s). */
  offlineS?: number;
  seed?: string;
  progress?: (line: string) => void;
}

export interface LoadBenchOutcome {
  run: LoadSimulationResult;
  invariants: InvariantReport;
  results: BenchResult[];
}

const PASSWORD = 'load-bench-password-0123';
const ID_TAG = 'LOAD-DRIVER';
const TARIFF_ID = 'LOAD-TOU';

/**
 * `voltledger bench load`: an in-memory local stack in this process (dynalite, local bus with the
 * pricing consumer, WebSocket gateway, the real handlers), charge points and an idTag provisioned
 * through the admin API, the load simulation with a reconnect storm, then every session read back
 * through the admin API and checked against what the charge points had acknowledged, plus the
 * bus's events (each session started, stopped, completed and priced under one event id).
 *
 * Client and server share the process and its 2 cores, as in the OCPP bench. Both ends of every
 * WebSocket are in this process, so 1,000 charge points hold about 2,000 descriptors plus dynalite's
 * connections: more than the common default soft limit of 1,024 (`ulimit -n`), which is checked first.
 */
export async function runLoadBench(options: LoadBenchOptions = {}): Promise<BenchResult[]> {
  return (await runLoadBenchDetailed(options)).results;
}

export async function runLoadBenchDetailed(options: LoadBenchOptions = {}): Promise<LoadBenchOutcome> {
  const count = options.chargePoints ?? 1000;
  const durationS = options.durationS ?? 120;
  const progress = options.progress ?? (() => {});
  const stormAtS = options.stormAtS === false ? undefined : (options.stormAtS ?? durationS / 2);

  checkDescriptorLimit(2 * count + 300, 'both ends of every WebSocket are in this process');
  const stack = await startLocalStack({ port: 0, seed: false, log: silentLog, sweepIntervalMs: 0, roaming: { localPartner: false } });
  const events: EventTally = new Map();
  const unsubscribe = stack.bus.subscribe((event: any) => {
    const type = event['detail-type'] as string;
    const sessionId = event.detail?.data?.sessionId as string | undefined;
    if (!sessionId || !/^Session(Started|Stopped|Completed|Priced)$/.test(type)) return;
    const byType = events.get(sessionId) ?? events.set(sessionId, new Map()).get(sessionId)!;
    const entry = byType.get(type) ?? byType.set(type, { ids: new Set(), deliveries: 0, totals: new Set() }).get(type)!;
    entry.ids.add(event.detail.metadata.id);
    entry.deliveries += 1;
    if (type === 'SessionPriced') entry.totals.add(`${event.detail.data.totalMinor} ${event.detail.data.currency}`);
  });
  const loads: number[] = [];
  const sampler = setInterval(() => loads.push(loadavg()[0]!), 5000);
  sampler.unref();
  try {
    progress(`provisioning ${count} charge points, idTag ${ID_TAG} and tariff ${TARIFF_ID} through the admin API`);
    const put = await fetch(`${stack.adminUrl}/tariffs/${TARIFF_ID}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...DEMO.tariff, id: TARIFF_ID }),
    });
    if (put.status >= 300) throw new Error(`PUT tariff: HTTP ${put.status} ${await put.text()}`);
    const chargePoints = await provisionChargePoints({ adminUrl: stack.adminUrl, adminToken: stack.adminToken, count, password: PASSWORD, idTag: ID_TAG, tariffId: TARIFF_ID, concurrency: 4 });

    loads.push(loadavg()[0]!);
    const run = await runLoadSimulation({
      url: stack.ocppUrl,
      chargePoints,
      password: PASSWORD,
      idTag: ID_TAG,
      durationS,
      timeCompression: options.timeCompression ?? 30,
      meterIntervalS: options.meterIntervalS ?? 60,
      ...(stormAtS !== undefined ? { storm: { atS: stormAtS, offlineS: options.offlineS ?? 5 } } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      progress,
    });
    loads.push(loadavg()[0]!);
    progress('waiting for the bus, then reading every session back through the admin API');
    await stack.bus.drain();
    const invariants = await checkLoadInvariants(run.sessions, adminApiSource(stack.adminUrl, stack.adminToken), { runStartedAtMs: run.startedAtMs, events });
    const loadAverage = loads.length ? `${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)} (sampled every 5 s)` : undefined;
    return { run, invariants, results: loadBenchResults(run, invariants, loadAverage ? { loadAverage } : {}) };
  } finally {
    clearInterval(sampler);
    unsubscribe();
    await stack.close();
  }
}
