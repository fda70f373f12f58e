import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/** The repository root: entries, package-lock.json and tsconfig.json are resolved from here. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The design card's runtime. The code also runs on Node 20 (the development machines). */
export const LAMBDA_RUNTIME = Runtime.NODEJS_22_X;
const ESBUILD_TARGET = 'node22';

/** The SDK v3 ships with the nodejs22.x runtime: keeping it out of the bundle keeps bundles small. */
export const EXTERNAL_MODULES = ['@aws-sdk/*'];

/**
 * Bundling of every Lambda: local esbuild (never Docker), CommonJS, minified, with a source map
 * that does not embed the sources (small map, stack traces still point at the TypeScript).
 * esbuild handles the `.ts` extension imports and `import ... with { type: 'json' }` natively.
 *
 * CommonJS rather than ESM for cold starts: the runtime's AWS SDK is CommonJS, and an ES module
 * importing it goes through Node's ESM loader, which runs cjs-module-lexer over each SDK package
 * to find its named exports. `require` skips all of that: the OCPP message function loads about a
 * third faster (BENCHMARKS.md, bundle section). Nothing in functions/ needs ESM (no top-level
 * await, no import.meta); the bundle test loads every bundle the way the runtime does.
 */
export const LAMBDA_BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  format: OutputFormat.CJS,
  target: ESBUILD_TARGET,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: EXTERNAL_MODULES,
  mainFields: ['module', 'main'],
};

/**
 * The same bundling as {@link LAMBDA_BUNDLING}, for esbuild's JavaScript API (the bundle test and
 * the bundle benchmark), so what they measure is what the stack deploys. Give `outfile` the
 * `.cjs` extension: the repository's package.json says `"type": "module"`, and Lambda's task
 * directory has no package.json, so there `index.js` is CommonJS already.
 */
export function esbuildOptionsFor(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [join(REPO_ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: ESBUILD_TARGET,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: EXTERNAL_MODULES,
    mainFields: ['module', 'main'],
    absWorkingDir: REPO_ROOT,
    logLevel: 'silent',
    metafile: true,
  };
}
