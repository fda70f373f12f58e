import { cpus, totalmem, type as osType, release } from 'node:os';
import { parseArgs } from 'node:util';
import type { BenchResult } from '../bench/types.ts';

const USAGE = `voltledger bench [ocpp|pricing|entitlements|accounting|bundles|load|all] [options]

Runs the benchmarks (default: all) and prints each result as a Markdown table, with the machine
and the date, ready to paste into BENCHMARKS.md. Progress goes to stderr, the tables to stdout.

load: 1,000 charge points against a local stack in the bench's process, sessions for 120 s at 30x
with a reconnect storm halfway, then every session checked through the admin API and every session
event on the bus (5 to 10 minutes with connecting, draining and reading back; about 1,300 open files
per process, 2,300 with --clients in-process, see \`ulimit -n\`). The charge points run in a child
process (\`voltledger simulate\` in load mode, JSON back), as charge points are other machines; the
report gives each process's CPU time.
Options for load:
  --clients WHERE          separate (default: a child process) or in-process (the server's process,
                           one event loop for both, for comparison)
  --dynamo WHERE           process (default: dynalite in a child process, as DynamoDB is its own
                           service) or in-process (the stack's event loop does the store's work too)
  --charge-points N        charge points (default 1000)
  --duration S             real seconds of sessions (default 120)
  --time-compression X     simulated seconds per real second (default 30)
  --storm-offline S        seconds the charge points stay offline in the storm (default 5)
  --no-storm               no reconnect storm`;

type Progress = (line: string) => void;
const asList = (result: BenchResult | BenchResult[]) => (Array.isArray(result) ? result : [result]);

/** Each benchmark, loaded only when asked for (they start stacks, bundle functions, ...). */
const BENCHES: Record<string, { title: string; run(progress: Progress): Promise<BenchResult[]> }> = {
  ocpp: { title: 'OCPP', run: async (progress) => (await import('../bench/ocpp-bench.ts')).runOcppBench({ progress }) },
  pricing: { title: 'Pricing', run: async () => asList(await (await import('../bench/pricing-bench.ts')).runPricingBench()) },
  entitlements: {
    title: 'Entitlements',
    run: async (progress) => asList(await (await import('../bench/entitlements-bench.ts')).runEntitlementsBench({ progress })),
  },
  accounting: {
    title: 'Accounting',
    run: async (progress) => asList(await (await import('../bench/accounting-bench.ts')).runAccountingBench({ progress })),
  },
  bundles: { title: 'Lambda bundles', run: async () => asList(await (await import('../bench/bundle-bench.ts')).runBundleBench()) },
  load: {
    title: 'OCPP load and reconnect storm',
    run: async (progress) => (await import('../bench/load-bench.ts')).runLoadBench({ ...loadOptions, progress }),
  },
};

/** Options of the load bench, from the command line. */
let loadOptions: import('../bench/load-bench.ts').LoadBenchOptions = {};

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      'charge-points': { type: 'string' },
      duration: { type: 'string' },
      'time-compression': { type: 'string' },
      'storm-offline': { type: 'string' },
      'no-storm': { type: 'boolean', default: false },
      clients: { type: 'string' },
      dynamo: { type: 'string' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const target = positionals[0] ?? 'all';
  if ((target !== 'all' && !Object.hasOwn(BENCHES, target)) || positionals.length > 1) {
    console.error(`voltledger bench: expected one of ${[...Object.keys(BENCHES), 'all'].join(', ')}, got "${positionals.join(' ')}"\n\n${USAGE}`);
    return 2;
  }

  const positive = (flag: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (!(value > 0) || !Number.isFinite(value)) throw new Error(`${flag} must be a positive number, got "${raw}"`);
    return value;
  };
  const chargePoints = positive('--charge-points', values['charge-points']);
  const durationS = positive('--duration', values.duration);
  const timeCompression = positive('--time-compression', values['time-compression']);
  const offlineS = positive('--storm-offline', values['storm-offline']);
  const clients = values.clients;
  if (values.dynamo !== undefined && values.dynamo !== 'process' && values.dynamo !== 'in-process') {
    console.error(`voltledger bench: --dynamo must be process or in-process, got "${values.dynamo}"\n\n${USAGE}`);
    return 2;
  }
  if (clients !== undefined && clients !== 'separate' && clients !== 'in-process') {
    console.error(`voltledger bench: --clients must be separate or in-process, got "${clients}"\n\n${USAGE}`);
    return 2;
  }
  loadOptions = {
    ...(chargePoints !== undefined ? { chargePoints: Math.round(chargePoints) } : {}),
    ...(durationS !== undefined ? { durationS } : {}),
    ...(timeCompression !== undefined ? { timeCompression } : {}),
    ...(offlineS !== undefined ? { offlineS } : {}),
    ...(values['no-storm'] ? { stormAtS: false as const } : {}),
    ...(clients !== undefined ? { clients } : {}),
    ...(values.dynamo !== undefined ? { dynamo: values.dynamo as 'process' | 'in-process' } : {}),
  };

  const progress: Progress = (line) => process.stderr.write(`bench: ${line}\n`);
  const sections: string[] = [machineSection()];
  let failed = false;
  for (const [name, bench] of Object.entries(BENCHES)) {
    if (target !== 'all' && target !== name) continue;
    progress(name);
    try {
      sections.push(...(await bench.run(progress)).map(formatResult));
    } catch (error) {
      failed = true;
      sections.push(`### ${bench.title}\n\nThe benchmark failed: ${(error as Error).message}`);
    }
  }
  console.log(sections.join('\n\n'));
  return failed ? 1 : 0;
}

/** Where and when the figures were taken: they mean nothing without it. */
export function machineSection(now: Date = new Date()): string {
  const cpuList = cpus();
  const model = cpuList[0]?.model.trim() ?? 'unknown CPU';
  return [
    `Measured ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpuList.length} x ${model}, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${osType()} ${release()}, Node ${process.version}.`,
  ].join('\n');
}

/** One BenchResult as a Markdown section: heading, table (metric, value, unit, goal, met), notes. */
export function formatResult(result: BenchResult): string {
  const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');
  const rows = result.rows.map((row) => `| ${escapeCell(row.metric)} | ${escapeCell(row.value)} | ${escapeCell(row.unit)} | ${escapeCell(row.goal ?? '')} | ${row.met === undefined ? '' : row.met ? 'yes' : '**no**'} |`);
  return [`### ${result.name}`, '', '| metric | value | unit | goal | met |', '| --- | ---: | --- | --- | --- |', ...rows, ...(result.notes ? ['', result.notes] : [])].join('\n');
}
