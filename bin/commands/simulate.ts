import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { DEMO } from '../../lib/local/seed.ts';
import { formatSummary } from '../simulator/report.ts';
import { runSimulation, SimulationOptionsError, type SimulationSummary } from '../simulator/simulation.ts';

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
  --json                 print the summary as JSON
  --quiet                no progress bar
  -h, --help             this text

Exit code 0 when every session completed, 1 when any failed.`;

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
      sessions: { type: 'string', default: '1' },
      speed: { type: 'string', default: '600' },
      'sample-minutes': { type: 'string', default: '1' },
      'id-tag': { type: 'string', default: 'DEMO-RETAIL' },
      password: { type: 'string', default: DEMO.password },
      'admin-url': { type: 'string' },
      'admin-token': { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
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
  const sessionsPerChargePoint = number('--sessions', values.sessions);
  const total = chargePoints * sessionsPerChargePoint;

  const showProgress = !values.quiet && !values.json && Boolean(process.stderr.isTTY);
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
      speed: number('--speed', values.speed),
      sampleMinutes: number('--sample-minutes', values['sample-minutes']),
      idTag: values['id-tag'],
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

  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(formatSummary(summary));
  return summary.sessionsFailed > 0 ? 1 : 0;
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
