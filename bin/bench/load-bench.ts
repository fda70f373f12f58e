import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { provisionChargePoints } from '../simulator/provisioning.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { startLocalStack } from '../../lib/local/stack.ts';
import { adminApiSource, checkEventInvariants, checkLoadInvariants, type EventTally, type InvariantReport } from '../simulator/load-invariants.ts';
import { loadBenchResults, type LoadFigures, type LoadJson } from '../simulator/load-report.ts';
import { checkDescriptorLimit, runLoadSimulation, type CpuTime } from '../simulator/load-simulation.ts';
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
  /**
   * Where the charge points run (default `separate`): in a child process (`voltledger simulate`
   * against this process's stack), as charge points are other machines; or `in-process`, sharing
   * the server's process and event loop (the clients' CPU is then charged to the server).
   */
  clients?: 'separate' | 'in-process';
  /**
   * Where dynalite runs: `process` (default: a child process, as DynamoDB is a service of its own,
   * so the store's work does not queue behind the handlers') or `in-process` (the stack's own event loop).
   */
  dynamo?: 'process' | 'in-process';
  progress?: (line: string) => void;
}

export interface LoadBenchOutcome {
  run: LoadFigures;
  invariants: InvariantReport;
  results: BenchResult[];
}

const PASSWORD = 'load-bench-password-0123';
const ID_TAG = 'LOAD-DRIVER';
/**
 * The demo tariff under its own id: `simulate` provisions its charge points with the tariff of that
 * id when the stack has it, so both modes price the same way.
 */
const TARIFF_ID = DEMO.tariffId;
const CLI = fileURLToPath(new URL('../voltledger.mjs', import.meta.url));

/**
 * `voltledger bench load`: an in-memory local stack in this process (dynalite, local bus with the
 * pricing consumer, WebSocket gateway, the real handlers), charge points and an idTag provisioned
 * through the admin API, the load simulation with a reconnect storm, then every session read back
 * through the admin API and checked against what the charge points had acknowledged, plus the
 * bus's events (each session started, stopped, completed and priced under one event id).
 *
 * By default the charge points run in a child process, `voltledger simulate` in load mode against
 * this stack (it provisions them, runs the engine and checks the sessions through the admin API,
 * and reports JSON), as charge points are other machines: server and clients each get a core. The
 * stack stays in this process because the event-id checks need its bus. With `clients: 'in-process'`
 * both share this process and its one event loop, as before (for comparison). Either way the
 * report says how much CPU each side used.
 *
 * Each WebSocket costs a descriptor per end: 1,000 charge points need about 1,300 open files in the
 * server's process plus 1,200 in the clients' (about 2,300 in one process in-process), more than the
 * common default soft limit of 1,024 (`ulimit -n`), which is checked first.
 */
export async function runLoadBench(options: LoadBenchOptions = {}): Promise<BenchResult[]> {
  return (await runLoadBenchDetailed(options)).results;
}

export async function runLoadBenchDetailed(options: LoadBenchOptions = {}): Promise<LoadBenchOutcome> {
  const count = options.chargePoints ?? 1000;
  const durationS = options.durationS ?? 120;
  const progress = options.progress ?? (() => {});
  const stormAtS = options.stormAtS === false ? undefined : (options.stormAtS ?? durationS / 2);
  const clients = options.clients ?? 'separate';

  if (clients === 'in-process') checkDescriptorLimit(2 * count + 300, 'both ends of every WebSocket are in this process');
  else checkDescriptorLimit(count + 300, "the server's end of every WebSocket is in this process");
  const dynamo = options.dynamo ?? 'process';
  progress(`dynalite ${dynamo === 'process' ? 'in a child process' : "in the server's process"}`);
  const stack = await startLocalStack({ port: 0, seed: false, log: silentLog, sweepIntervalMs: 0, roaming: { localPartner: false }, dynamoProcess: dynamo === 'process' });
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
  const cpu = new CpuSampler();
  try {
    const put = await fetch(`${stack.adminUrl}/tariffs/${TARIFF_ID}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...DEMO.tariff, id: TARIFF_ID }),
    });
    if (put.status >= 300) throw new Error(`PUT tariff: HTTP ${put.status} ${await put.text()}`);
    const loadAverage = () => (loads.length ? `${Math.min(...loads).toFixed(2)} to ${Math.max(...loads).toFixed(2)} (sampled every 5 s)` : undefined);

    if (clients === 'separate') {
      cpu.start();
      loads.push(loadavg()[0]!);
      const child = await runClientProcess(stack, { count, durationS, stormAtS, options, progress, onRunning: () => loads.push(loadavg()[0]!) });
      cpu.stop();
      loads.push(loadavg()[0]!);
      if (!child.invariants) throw new Error('the charge points\' process reported no invariant checks');
      progress('waiting for the bus, then checking each session\'s events against the store');
      await stack.bus.drain();
      const eventReport = await checkEventInvariants(child.ledger, adminApiSource(stack.adminUrl, stack.adminToken), events);
      const invariants: InvariantReport = {
        ok: child.invariants.ok && eventReport.ok,
        checks: [...child.invariants.checks, ...eventReport.checks],
        readBackS: child.invariants.readBackS + eventReport.readBackS,
        sessionsRead: child.invariants.sessionsRead,
      };
      const run: LoadFigures = { ...child, sessions: child.ledger };
      const runEndMs = child.startedAtMs + child.realDurationS * 1000;
      const serverCpu = { window: cpu.between(child.windowStartedAtMs, child.windowEndedAtMs), run: cpu.between(child.startedAtMs, runEndMs) };
      const average = loadAverage();
      return { run, invariants, results: loadBenchResults(run, invariants, { clients, serverCpu, ...(average ? { loadAverage: average } : {}) }) };
    }

    progress(`provisioning ${count} charge points, idTag ${ID_TAG} and tariff ${TARIFF_ID} through the admin API`);
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
    const average = loadAverage();
    return { run, invariants, results: loadBenchResults(run, invariants, { clients, ...(average ? { loadAverage: average } : {}) }) };
  } finally {
    clearInterval(sampler);
    cpu.stop();
    unsubscribe();
    await stack.close();
  }
}

/**
 * `voltledger simulate` in load mode as a child process against this process's stack: it provisions
 * SIM-0001... (with the tariff put above), runs the engine with the bench's parameters, checks the
 * sessions through the admin API and prints its figures as JSON. Its progress is passed on.
 */
async function runClientProcess(
  stack: { ocppUrl: string; adminUrl: string; adminToken: string },
  params: { count: number; durationS: number; stormAtS: number | undefined; options: LoadBenchOptions; progress: (line: string) => void; onRunning: () => void },
): Promise<LoadJson> {
  const { count, durationS, stormAtS, options, progress } = params;
  const args = [
    CLI, 'simulate',
    '--url', stack.ocppUrl,
    '--admin-url', stack.adminUrl,
    '--charge-points', String(count),
    '--duration', String(durationS),
    '--time-compression', String(options.timeCompression ?? 30),
    '--meter-interval', String(options.meterIntervalS ?? 60),
    '--id-tag', ID_TAG,
    '--password', PASSWORD,
    '--report', 'json',
    ...(stormAtS !== undefined ? ['--reconnect-storm-at', String(stormAtS), '--storm-offline', String(options.offlineS ?? 5)] : []),
    ...(options.seed !== undefined ? ['--seed', options.seed] : []),
  ];
  progress(`starting the charge points' process: node bin/voltledger.mjs ${args.slice(1).join(' ')} (admin token in ADMIN_TOKEN)`);
  // The token goes through the environment, out of the process list.
  const child = spawn(process.execPath, args, { env: { ...process.env, ADMIN_TOKEN: stack.adminToken }, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
    if (line.includes('running sessions for')) params.onRunning();
    progress(`clients: ${line}`);
  });
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    });
    const text = Buffer.concat(stdout).toString('utf8');
    try {
      const parsed = JSON.parse(text) as LoadJson;
      // Exit code 1 means a failed invariant or given-up messages: reported in the tables, not an error here.
      if (code !== 0) progress(`the charge points' process exited with code ${code}; its figures follow`);
      return parsed;
    } catch {
      throw new Error(`the charge points' process exited (${signal ?? `code ${code}`}) without its JSON report: ${stderrTail.slice(-5).join(' | ') || text.slice(0, 300)}`);
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

/** Samples this process's CPU time (`process.cpuUsage()`) every 250 ms, to read it over another process's window. */
class CpuSampler {
  private samples: Array<{ atMs: number; usage: NodeJS.CpuUsage }> = [];
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 250);
    this.timer.unref();
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  /** CPU time between two epoch-ms instants, interpolated between the samples around them. */
  between(fromMs: number, toMs: number): CpuTime {
    const from = this.at(fromMs);
    const to = this.at(toMs);
    const wallS = (toMs - fromMs) / 1000;
    const userS = (to.user - from.user) / 1e6;
    const systemS = (to.system - from.system) / 1e6;
    return { userS, systemS, wallS, cores: wallS > 0 ? (userS + systemS) / wallS : Number.NaN };
  }

  private sample(): void {
    this.samples.push({ atMs: Date.now(), usage: process.cpuUsage() });
  }

  private at(ms: number): NodeJS.CpuUsage {
    const s = this.samples;
    if (s.length === 0) return { user: 0, system: 0 };
    if (ms <= s[0]!.atMs) return s[0]!.usage;
    for (let i = 1; i < s.length; i++) {
      const b = s[i]!;
      if (ms > b.atMs) continue;
      const a = s[i - 1]!;
      const f = b.atMs === a.atMs ? 1 : (ms - a.atMs) / (b.atMs - a.atMs);
      return { user: a.usage.user + f * (b.usage.user - a.usage.user), system: a.usage.system + f * (b.usage.system - a.usage.system) };
    }
    return s[s.length - 1]!.usage;
  }
}
