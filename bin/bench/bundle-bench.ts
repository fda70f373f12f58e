import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { esbuildOptionsFor, REPO_ROOT } from '../../lib/infra/bundling.ts';
import type { FunctionSpec } from '../../lib/function-spec.ts';
import { deployedFunctions } from '../../lib/infra/functions.ts';
import { TABLES } from '../../lib/tables.ts';
import type { BenchResult } from './types.ts';

/**
 * Where bundles are written: inside the repository, so that the modules the runtime provides
 * (`@aws-sdk/*`, external to the bundle) resolve from node_modules as they do from /var/runtime.
 */
export const BUNDLE_DIR = join(REPO_ROOT, 'node_modules/.cache/voltledger-bundles');

export const GOALS = { messageBundleKb: 1024, messageLoadMs: 150 };

export interface BuiltBundle {
  name: string;
  spec: FunctionSpec;
  file: string;
  bytes: number;
  /** Bytes of our own code vs dependencies, from esbuild's metafile (largest inputs first). */
  largestInputs: Array<{ path: string; bytes: number }>;
}

/** Bundles one function exactly as the stack does (lib/infra/bundling.ts) into BUNDLE_DIR/{name}/index.cjs. */
export async function bundleFunction(name: string, spec: FunctionSpec): Promise<BuiltBundle> {
  const dir = join(BUNDLE_DIR, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'index.cjs');
  const result = await build(esbuildOptionsFor(spec.entry, file));
  const output = Object.entries(result.metafile!.outputs).find(([path]) => path.endsWith('index.cjs'))![1];
  const largestInputs = Object.entries(output.inputs)
    .map(([path, input]) => ({ path, bytes: input.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 5);
  return { name, spec, file, bytes: statSync(file).size, largestInputs };
}

/**
 * The environment a function starts with on Lambda, with dummy values and no AWS credentials:
 * importing a bundle must not need AWS (clients are built, nothing is called).
 */
export function lambdaLikeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_') && key !== 'NODE_OPTIONS') env[key] = value;
  }
  for (const table of Object.values(TABLES)) env[table.envVar] = `voltledger-test-${table.id}`;
  Object.assign(env, {
    AWS_REGION: 'eu-central-1',
    EVENT_BUS_NAME: 'voltledger-test-bus',
    OCPP_CONNECTIONS_ENDPOINT: 'https://abc123.execute-api.eu-central-1.amazonaws.com/dev',
    EXPORT_BUCKET_NAME: 'voltledger-test-exports',
    POWERTOOLS_SERVICE_NAME: 'voltledger-bench',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    // No shared config or credential files either.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  });
  return env;
}

export interface LoadResult {
  ok: boolean;
  /** Time to import the module (module evaluation included), in the child process. */
  importMs: number;
  handlerType: string;
  error?: string;
}

/**
 * Loads a bundle in a fresh `node` process as a cold Lambda does (the nodejs22.x runtime
 * `require`s a CommonJS handler; --enable-source-maps like the deployed functions) and reports
 * how long loading took and what `handler` is.
 */
export function loadBundleInFreshProcess(file: string): LoadResult {
  const script = `
    const t0 = performance.now();
    const mod = require(${JSON.stringify(file)});
    const importMs = performance.now() - t0;
    process.stdout.write(JSON.stringify({ importMs, handlerType: typeof mod.handler }));
  `;
  const child = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=commonjs', '-e', script], {
    env: lambdaLikeEnv(),
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (child.status !== 0) return { ok: false, importMs: Number.NaN, handlerType: 'none', error: (child.stderr || child.stdout).slice(0, 2000) };
  const parsed = JSON.parse(child.stdout) as { importMs: number; handlerType: string };
  return { ok: parsed.handlerType === 'function', ...parsed };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * Bundles every deployed function (minified, as deployed) and measures the bundle size and the
 * cold import time (fresh process each time, median of 5). Goals: the OCPP message function under
 * 1 MB and under 150 ms. Figures are reported, not asserted.
 */
export async function runBundleBench(options: { runs?: number } = {}): Promise<BenchResult> {
  const runs = options.runs ?? 5;
  const rows: BenchResult['rows'] = [];
  for (const [name, spec] of Object.entries(deployedFunctions())) {
    const bundle = await bundleFunction(name, spec);
    const loads = Array.from({ length: runs }, () => loadBundleInFreshProcess(bundle.file));
    const failed = loads.find((l) => !l.ok);
    if (failed) throw new Error(`bundle ${name} failed to load: ${failed.error}`);
    const kb = bundle.bytes / 1024;
    const ms = median(loads.map((l) => l.importMs));
    const isMessage = name === 'message';
    rows.push({
      metric: `${name} bundle (minified)`,
      value: kb.toFixed(0),
      unit: 'KB',
      ...(isMessage ? { goal: `< ${GOALS.messageBundleKb} KB`, met: kb < GOALS.messageBundleKb } : {}),
    });
    rows.push({
      metric: `${name} cold import (median of ${runs})`,
      value: ms.toFixed(1),
      unit: 'ms',
      ...(isMessage ? { goal: `< ${GOALS.messageLoadMs} ms`, met: ms < GOALS.messageLoadMs } : {}),
    });
  }
  return {
    name: 'Lambda bundles',
    rows,
    notes:
      `esbuild with the stack's options (CommonJS, minified, node22 target, @aws-sdk/* external as on the nodejs22.x runtime, source map beside). ` +
      `Load time: a fresh \`node --enable-source-maps\` process per run requires the bundle (as the runtime does) with dummy table names and no AWS credentials, ` +
      `timed inside the process (module evaluation, clients built, no AWS call); Node ${process.version} on this machine, not a Lambda arm64 sandbox.`,
  };
}
