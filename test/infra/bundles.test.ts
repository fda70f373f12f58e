import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployedFunctions } from '../../lib/infra/functions.ts';
import { BUNDLE_DIR, bundleFunction, GOALS, loadBundleInFreshProcess, type BuiltBundle } from '../../bin/bench/bundle-bench.ts';

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

  it.each(functions.map(([name]) => name))('%s: is CommonJS, requires the runtime-provided AWS SDK (never bundles it), minified, with a source map', (name) => {
    const bundle = bundles.get(name)!;
    const code = readFileSync(bundle.file, 'utf8');
    expect(code).not.toMatch(/^\s*(import|export)\s/m);
    expect(code).toMatch(/require\("@aws-sdk\/client-dynamodb"\)/);
    expect(bundle.largestInputs.some((input) => input.path.includes('node_modules/@aws-sdk/'))).toBe(false);
    // Minified: a few very long lines, not one statement per line.
    expect(code.split('\n').length).toBeLessThan(200);
    expect(code).toMatch(/\/\/# sourceMappingURL=index\.cjs\.map\s*$/);
    expect(existsSync(`${bundle.file}.map`)).toBe(true);
  });

  it('keeps the OCPP message function off zod until it publishes: the session event builders load on first use', () => {
    const code = readFileSync(bundles.get('message')!.file, 'utf8');
    // esbuild turns the dynamic import into a lazily evaluated module (no code splitting needed).
    expect(code).toMatch(/Promise\.resolve\(\)\.then\(\(\)=>\([A-Za-z_$][\w$]*\(\),[A-Za-z_$][\w$]*\)\)/);
  });

  it('leaves S3 to the runtime in the export function: required by name on first write, never bundled', () => {
    const bundle = bundles.get('nightlyExport')!;
    expect(readFileSync(bundle.file, 'utf8')).toMatch(/require\("@aws-sdk\/client-s3"\)/);
  });

  it('keeps the OCPP message function under 1 MB minified', () => {
    expect(bundles.get('message')!.bytes).toBeLessThan(GOALS.messageBundleKb * 1024);
  });
});
