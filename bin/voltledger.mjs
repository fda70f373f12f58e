#!/usr/bin/env node
// Entry point of the `voltledger` command. The code base is TypeScript run through tsx, so the same
// sources serve the CLI, the local stack, the tests and (bundled by esbuild) the Lambda functions.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
