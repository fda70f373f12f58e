#!/usr/bin/env node
// Entry point of the `voltledger` command. The code base is TypeScript run through tsx, so the same
// sources serve the CLI, the local stack, the tests and (bundled by esbuild) the Lambda functions.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: a finished command must not linger on a stray socket or timer.
process.exit(code);
