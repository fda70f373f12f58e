import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ESM_REQUIRE_BANNER } from '../../lib/infra/bundling.ts';
import { deployedFunctions } from '../../lib/infra/functions.ts';
import { BUNDLE_DIR, bundleFunction, GOALS, loadBundleInFreshProcess, type BuiltBundle } from '../bench/bundle-bench.ts';

/**
 * The one infra test that really bundles: every deployed function, with the stack's esbuild
 * options, then imported by a fresh Node process with dummy table names and no AWS credentials.
 * The template tests skip bundling (aws:cdk:bundling-stacks = []); this proves the bundles load.
 */
describe('Lambda bundles', () => {
  const functions = Object.entries(deployedFunctions());
  const bundles = new Map<string, BuiltBundle>();

  beforeAll(async () => {
    for (const [name, spec] of functions) bundles.set(name, await bundleFunction(name, spec));
    const sizes = Object.fromEntries([...bundles].map(([name, b]) => [name, { kb: Math.round(b.bytes / 1024), largestInputs: b.largestInputs }]));
    writeFileSync(join(BUNDLE_DIR, 'sizes.json'), `${JSON.stringify(sizes, null, 2)}\n`);
    console.info(`bundle sizes (KB): ${Object.entries(sizes).map(([n, s]) => `${n} ${s.kb}`).join(', ')}`);
  });

  it.each(functions.map(([name]) => name))('%s: loads in a fresh process without AWS credentials and exports a handler', (name) => {
    const loaded = loadBundleInFreshProcess(bundles.get(name)!.file);
    expect(loaded.error).toBeUndefined();
    expect(loaded.handlerType).toBe('function');
  });

  it.each(functions.map(([name]) => name))('%s: is ESM with a real require, and leaves the runtime-provided AWS SDK out', (name) => {
    const bundle = bundles.get(name)!;
    const code = readFileSync(bundle.file, 'utf8');
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(code).toMatch(/from\s*"@aws-sdk\/client-dynamodb"/);
    expect(bundle.largestInputs.some((input) => input.path.includes('node_modules/@aws-sdk/'))).toBe(false);
  });

  it('keeps the OCPP message function under 1 MB minified', () => {
    expect(bundles.get('message')!.bytes).toBeLessThan(GOALS.messageBundleKb * 1024);
  });
});
