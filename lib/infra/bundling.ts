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

/**
 * ESM output has no `require`, but CommonJS dependencies bundled into it (ajv, ajv-formats, ...)
 * call `require('node:crypto')` and friends at run time; esbuild's shim then throws "Dynamic require
 * of ... is not supported". The banner gives the module a real `require`.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __voltledgerCreateRequire } from 'node:module'; const require = __voltledgerCreateRequire(import.meta.url);";

/** The SDK v3 ships with the nodejs22.x runtime: keeping it out of the bundle keeps bundles small. */
export const EXTERNAL_MODULES = ['@aws-sdk/*'];

/**
 * Bundling of every Lambda: local esbuild (never Docker), ESM, minified, with a source map that
 * does not embed the sources (small map, stack traces still point at the TypeScript). esbuild
 * handles the `.ts` extension imports and `import ... with { type: 'json' }` natively.
 */
export const LAMBDA_BUNDLING: BundlingOptions = {
  forceDockerBundling: false,
  format: OutputFormat.ESM,
  target: ESBUILD_TARGET,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  externalModules: EXTERNAL_MODULES,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
};

/**
 * The same bundling as {@link LAMBDA_BUNDLING}, for esbuild's JavaScript API (the bundle test and
 * the bundle benchmark), so what they measure is what the stack deploys.
 */
export function esbuildOptionsFor(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [join(REPO_ROOT, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    external: EXTERNAL_MODULES,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    absWorkingDir: REPO_ROOT,
    logLevel: 'silent',
    metafile: true,
  };
}
