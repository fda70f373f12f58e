import { existsSync } from 'node:fs';
import { cpus, totalmem, type as osType, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchResult } from '../../test/bench/types.ts';

const USAGE = `voltledger bench [ocpp|pricing|entitlements|all]

Runs the benchmarks (default: all) and prints each result as a Markdown table, with the machine
and the date, ready to paste into BENCHMARKS.md. Progress goes to stderr, the tables to stdout.`;

const TARGETS = ['ocpp', 'pricing', 'entitlements', 'all'] as const;
type Target = (typeof TARGETS)[number];

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const target = (positionals[0] ?? 'all') as Target;
  if (!TARGETS.includes(target) || positionals.length > 1) {
    console.error(`voltledger bench: expected one of ${TARGETS.join(', ')}, got "${positionals.join(' ')}"\n\n${USAGE}`);
    return 2;
  }

  const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const sections: string[] = [machineSection()];
  let failed = false;

  if (target === 'ocpp' || target === 'all') {
    progress('ocpp');
    const { runOcppBench } = await import('../../test/bench/ocpp-bench.ts');
    try {
      sections.push(...(await runOcppBench({ progress })).map(formatResult));
    } catch (error) {
      failed = true;
      sections.push(`### OCPP\n\nThe benchmark failed: ${(error as Error).message}`);
    }
  }
  if (target === 'pricing' || target === 'all') {
    progress('pricing');
    const outcome = await runPricingBench();
    if (outcome.kind === 'missing') sections.push('### Pricing\n\nnot available (test/bench/pricing-bench.ts does not exist yet)');
    else if (outcome.kind === 'failed') {
      failed = true;
      sections.push(`### Pricing\n\nThe benchmark failed: ${outcome.message}`);
    } else sections.push(...outcome.results.map(formatResult));
  }

  if (target === 'entitlements' || target === 'all') {
    progress('entitlements');
    const { runEntitlementsBench } = await import('../../test/bench/entitlements-bench.ts');
    try {
      sections.push(formatResult(await runEntitlementsBench({ progress })));
    } catch (error) {
      failed = true;
      sections.push(`### Entitlements\n\nThe benchmark failed: ${(error as Error).message}`);
    }
  }

  console.log(sections.join('\n\n'));
  return failed ? 1 : 0;
}

/** The pricing bench is another module's; load it only if it exists, by a path tsc does not resolve. */
async function runPricingBench(): Promise<{ kind: 'missing' } | { kind: 'failed'; message: string } | { kind: 'ok'; results: BenchResult[] }> {
  const url = new URL('../../test/bench/pricing-bench.ts', import.meta.url);
  if (!existsSync(fileURLToPath(url))) return { kind: 'missing' };
  try {
    const module = (await import(url.href)) as { runPricingBench?: () => Promise<BenchResult | BenchResult[]> };
    if (typeof module.runPricingBench !== 'function') return { kind: 'failed', message: 'test/bench/pricing-bench.ts does not export runPricingBench()' };
    const results = await module.runPricingBench();
    return { kind: 'ok', results: Array.isArray(results) ? results : [results] };
  } catch (error) {
    return { kind: 'failed', message: (error as Error).message };
  }
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
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const rows = result.rows.map((row) => `| ${escape(row.metric)} | ${escape(row.value)} | ${escape(row.unit)} | ${escape(row.goal ?? '')} | ${row.met === undefined ? '' : row.met ? 'yes' : '**no**'} |`);
  return [`### ${result.name}`, '', '| metric | value | unit | goal | met |', '| --- | ---: | --- | --- | --- |', ...rows, ...(result.notes ? ['', result.notes] : [])].join('\n');
}
