import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { DEMO } from '../../lib/local/seed.ts';
import { formatSummary } from '../simulator/report.ts';
import { provisionChargePoints } from '../simulator/provisioning.ts';
import { runSimulation, SimulationOptionsError, type SimulationSummary } from '../simulator/simulation.ts';
import { formatResult, machineSection } from './bench.ts';

const USAGE = `voltledger simulate [options]

Drives simulated OCPP 1.6J charge points (ocpp-rpc, strict schema mode) through charging sessions:
boot, status, heartbeats, Authorize, StartTransaction, MeterValues along a charging curve, an idle
tail, StopTransaction and unplug. Timestamps are simulated and lie in the past.

Options:
  --url URL              OCPP endpoint without the identity (default ws://127.0.0.1:\${PORT:-8080}/ocpp)
  --charge-points N      charge points to simulate (default 3)
  --sessions N           sessions per charge point (default 1)
  --speed X              simulated seconds per real second (default 600: 10 min per second)
  --sample-minutes M     simulated minutes between MeterValues (default 1)
  --id-tag TAG           idTag the drivers present (default DEMO-RETAIL)
  --password PW          charge point Basic-auth password (default the demo password)
  --admin-url URL        admin API (default derived from --url: http://host:port/admin)
  --admin-token TOKEN    admin API token (or ADMIN_TOKEN); with it, SIM-0001... are provisioned
                         first, so N may exceed the 3 demo charge points
  --concurrency N        charge points running at once (default: all)
  --seed S               seed for the random cars and sessions (default: the time)
  --meter-interval S     simulated seconds between MeterValues (the same as --sample-minutes S/60)
  --time-compression X   the same as --speed
  --report FORMAT        text (default), json or markdown (load mode; --json = --report json)
  --json                 print the summary as JSON
  --quiet                no progress bar
  -h, --help             this text

Load mode (with --duration, --storm or --reconnect-storm-at): every charge point connects and runs
sessions back to back, concurrently, for a fixed time; optionally all of them drop at once and
reconnect at once (a reconnect storm), replaying the transaction messages and status notifications
they queued offline with their original timestamps. Then every session the charge points saw
acknowledged is read back through the admin API and checked: none lost, none duplicated, every stop
recorded once, every unplugged session completed once and priced. Throughput, latency p50/p99 per
action and errors are reported.
  --duration S           real seconds of sessions (default 120 with a storm)
  --storm                a reconnect storm halfway through
  --reconnect-storm-at S a reconnect storm S real seconds into the run
  --storm-offline S      seconds the charge points stay offline (default 5)
  --session-minutes A-B  simulated charging minutes per session (default 10-40)
  --settle-timeout S     how long to wait for sessions to be priced before checking (default 60)
  In load mode --time-compression defaults to 30 and --id-tag to SIM-LOAD (created as a free
  idTag when missing: simulated drivers have no card to charge); with 1,000 charge points and the defaults the charge points offer about
  N x X / interval = 1000 x 30 / 60 = 500 MeterValues per second, plus status notifications.
  Each charge point holds one WebSocket: raise \`ulimit -n\` above the number of charge points.

Exit code 0 when every session completed (load mode: every invariant held and no message was
given up), 1 when not.`;

export async function run(argv: string[]): Promise<number> {
  try {
    return await simulate(argv);
  } catch (error) {
    if (error instanceof SimulationOptionsError) {
      console.error(`voltledger simulate: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

async function simulate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      'charge-points': { type: 'string', default: '3' },
      sessions: { type: 'string' },
      speed: { type: 'string' },
      'sample-minutes': { type: 'string' },
      'id-tag': { type: 'string' },
      password: { type: 'string', default: DEMO.password },
      'admin-url': { type: 'string' },
      'admin-token': { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      'meter-interval': { type: 'string' },
      'time-compression': { type: 'string' },
      duration: { type: 'string' },
      storm: { type: 'boolean', default: false },
      'reconnect-storm-at': { type: 'string' },
      'storm-offline': { type: 'string' },
      'session-minutes': { type: 'string' },
      'settle-timeout': { type: 'string' },
      report: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }

  const url = values.url ?? `ws://127.0.0.1:${process.env.PORT || 8080}/ocpp`;
  const adminToken = values['admin-token'] ?? (process.env.ADMIN_TOKEN || undefined);
  const chargePoints = number('--charge-points', values['charge-points']);
  if (values.speed !== undefined && values['time-compression'] !== undefined) throw new SimulationOptionsError('give --speed or --time-compression, not both');
  if (values['sample-minutes'] !== undefined && values['meter-interval'] !== undefined) throw new SimulationOptionsError('give --sample-minutes or --meter-interval, not both');
  const speedFlag = values['time-compression'] !== undefined ? '--time-compression' : '--speed';
  const speedRaw = values['time-compression'] ?? values.speed;
  const meterIntervalS =
    values['meter-interval'] !== undefined ? number('--meter-interval', values['meter-interval']) : values['sample-minutes'] !== undefined ? number('--sample-minutes', values['sample-minutes']) * 60 : undefined;
  const report = values.report ?? (values.json ? 'json' : 'text');
  if (!['text', 'json', 'markdown'].includes(report)) throw new SimulationOptionsError(`--report must be text, json or markdown, got "${report}"`);

  if (values.duration !== undefined || values.storm || values['reconnect-storm-at'] !== undefined) {
    if (values.sessions !== undefined || values.concurrency !== undefined) throw new SimulationOptionsError('--sessions and --concurrency do not apply in load mode (--duration, --storm): charge points run sessions back to back until the duration ends');
    return loadMode({
      url,
      adminUrl: values['admin-url'] ?? adminUrlFor(url),
      adminToken,
      chargePoints,
      durationS: values.duration !== undefined ? number('--duration', values.duration) : 120,
      timeCompression: speedRaw !== undefined ? number(speedFlag, speedRaw) : 30,
      meterIntervalS: meterIntervalS ?? 60,
      storm: values.storm || values['reconnect-storm-at'] !== undefined,
      stormAtS: values['reconnect-storm-at'] !== undefined ? number('--reconnect-storm-at', values['reconnect-storm-at']) : undefined,
      offlineS: values['storm-offline'] !== undefined ? number('--storm-offline', values['storm-offline']) : 5,
      sessionMinutes: values['session-minutes'] !== undefined ? range('--session-minutes', values['session-minutes']) : undefined,
      settleTimeoutS: values['settle-timeout'] !== undefined ? number('--settle-timeout', values['settle-timeout']) : 60,
      idTag: values['id-tag'] ?? 'SIM-LOAD',
      password: values.password,
      report,
      quiet: values.quiet,
      seed: values.seed,
    });
  }
  if (report === 'markdown') throw new SimulationOptionsError('--report markdown is for load mode (--duration, --storm)');

  const sessionsPerChargePoint = number('--sessions', values.sessions ?? '1');
  const total = chargePoints * sessionsPerChargePoint;

  const showProgress = !values.quiet && report !== 'json' && Boolean(process.stderr.isTTY);
  const bar = showProgress
    ? new cliProgress.SingleBar(
        { format: 'sessions {bar} {value}/{total} | {kwh} kWh | {messages} messages | {errors} errors', stream: process.stderr, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { kwh: '0.0', messages: 0, errors: 0 });
  let energyWh = 0;
  let done = 0;

  let summary: SimulationSummary;
  try {
    summary = await runSimulation({
      url,
      chargePoints,
      sessionsPerChargePoint,
      speed: number(speedFlag, speedRaw ?? '600'),
      sampleMinutes: (meterIntervalS ?? 60) / 60,
      idTag: values['id-tag'] ?? 'DEMO-RETAIL',
      password: values.password,
      adminUrl: values['admin-url'] ?? adminUrlFor(url),
      ...(adminToken ? { adminToken } : {}),
      ...(values.concurrency !== undefined ? { concurrency: number('--concurrency', values.concurrency) } : {}),
      ...(values.seed !== undefined ? { seed: values.seed } : {}),
      onSession(outcome, stats) {
        done += 1;
        if (outcome.status === 'completed') energyWh += outcome.energyWh;
        bar?.update(done, {
          kwh: (energyWh / 1000).toFixed(1),
          messages: stats.messagesSent,
          errors: stats.callErrorCount + stats.timeouts + stats.connectionFailures,
        });
      },
    });
  } finally {
    bar?.stop();
  }

  if (report === 'json') console.log(JSON.stringify(summary, null, 2));
  else console.log(formatSummary(summary));
  return summary.sessionsFailed > 0 ? 1 : 0;
}

interface LoadModeOptions {
  url: string;
  adminUrl: string;
  adminToken: string | undefined;
  chargePoints: number;
  durationS: number;
  timeCompression: number;
  meterIntervalS: number;
  storm: boolean;
  stormAtS: number | undefined;
  offlineS: number;
  sessionMinutes: [number, number] | undefined;
  settleTimeoutS: number;
  idTag: string;
  password: string;
  report: string;
  quiet: boolean;
  seed: string | undefined;
}

/** `simulate --duration/--storm`: the load simulation, then the invariant checks through the admin API. */
async function loadMode(options: LoadModeOptions): Promise<number> {
  // Loaded on demand: the load engine lives with the benchmarks that use it too.
  const { checkDescriptorLimit, runLoadSimulation, validateLoadOptions } = await import('../simulator/load-simulation.ts');
  const { adminApiSource, checkLoadInvariants } = await import('../simulator/load-invariants.ts');
  const { formatLoadText, loadBenchResults, loadJson } = await import('../simulator/load-report.ts');

  if (!Number.isInteger(options.chargePoints) || options.chargePoints < 1) throw new SimulationOptionsError(`--charge-points must be a whole number of 1 or more, got ${options.chargePoints}`);
  if (options.password.length < 16 || options.password.length > 40) throw new SimulationOptionsError('the password must be 16 to 40 characters (OCPP Security Profile 1)');
  if (!options.idTag || options.idTag.length > 20) throw new SimulationOptionsError('the idTag must be 1 to 20 characters (OCPP CiString20)');
  if (!/^wss?:\/\//.test(options.url)) throw new SimulationOptionsError(`the URL must start with ws:// or wss://, got ${options.url}`);
  const storm = options.storm ? { atS: options.stormAtS ?? options.durationS / 2, offlineS: options.offlineS } : undefined;
  const invalid = validateLoadOptions({ durationS: options.durationS, timeCompression: options.timeCompression, meterIntervalS: options.meterIntervalS, ...(storm ? { storm } : {}), ...(options.sessionMinutes ? { sessionMinutes: options.sessionMinutes } : {}) });
  if (invalid) throw new SimulationOptionsError(invalid);
  try {
    checkDescriptorLimit(options.chargePoints + 200, `one WebSocket per charge point`);
  } catch (error) {
    throw new SimulationOptionsError((error as Error).message);
  }

  const progress = (line: string) => {
    if (!options.quiet) process.stderr.write(`simulate: ${line}\n`);
  };
  let chargePoints: Array<{ chargePointId: string; maxPowerKw: number }>;
  if (options.adminToken) {
    progress(`provisioning ${options.chargePoints} charge points and idTag ${options.idTag} through ${options.adminUrl}`);
    chargePoints = await provisionChargePoints({ adminUrl: options.adminUrl, adminToken: options.adminToken, count: options.chargePoints, password: options.password, idTag: options.idTag, concurrency: 4 });
  } else if (options.chargePoints <= DEMO.chargePoints.length) {
    chargePoints = DEMO.chargePoints.slice(0, options.chargePoints).map((cp) => ({ chargePointId: cp.chargePointId, maxPowerKw: cp.maxPowerKw }));
  } else {
    throw new SimulationOptionsError(
      `without an admin token only the ${DEMO.chargePoints.length} demo charge points exist; pass --admin-token (or set ADMIN_TOKEN) to provision ${options.chargePoints} simulated charge points`,
    );
  }

  const run = await runLoadSimulation({
    url: options.url,
    chargePoints,
    password: options.password,
    idTag: options.idTag,
    durationS: options.durationS,
    timeCompression: options.timeCompression,
    meterIntervalS: options.meterIntervalS,
    ...(options.sessionMinutes ? { sessionMinutes: options.sessionMinutes } : {}),
    ...(storm ? { storm } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    progress,
  });
  let invariants;
  if (options.adminToken) {
    progress('reading every session back through the admin API');
    invariants = await checkLoadInvariants(run.sessions, adminApiSource(options.adminUrl, options.adminToken), { runStartedAtMs: run.startedAtMs, settleTimeoutS: options.settleTimeoutS });
  }

  // Written with a callback: `bench load` reads this from a pipe, and the command exits right after (a large write may still be in flight).
  if (options.report === 'json') {
    const json = `${JSON.stringify(loadJson(run, invariants), null, 2)}\n`;
    await new Promise<void>((resolve, reject) => process.stdout.write(json, (error) => (error ? reject(error) : resolve())));
  } else if (options.report === 'markdown') console.log([machineSection(), ...loadBenchResults(run, invariants).map(formatResult)].join('\n\n'));
  else console.log(formatLoadText(run, invariants));

  const given = Object.values(run.errors.messagesGivenUp).reduce((a, b) => a + b, 0) + run.errors.undelivered;
  return (invariants && !invariants.ok) || given > 0 || run.connectedAtStart < run.chargePoints ? 1 : 0;
}

function range(flag: string, raw: string): [number, number] {
  const match = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(raw.trim());
  if (!match) throw new SimulationOptionsError(`${flag} must be MIN-MAX, e.g. 10-40, got "${raw}"`);
  return [Number(match[1]), Number(match[2])];
}

function number(flag: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new SimulationOptionsError(`${flag} must be a number, got "${raw}"`);
  return value;
}

/** The local stack serves the admin API on the OCPP port: ws://host:port/ocpp -> http://host:port/admin. */
function adminUrlFor(ocppUrl: string): string {
  const url = new URL(ocppUrl);
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}/admin`;
}
