#!/usr/bin/env node
// Entry point of the `voltledger` command. The code base is TypeScript run through tsx, so the same
// sources serve the CLI, the local stack, the tests and (bundled by esbuild) the Lambda functions.
import { register } from 'tsx/esm/api';

// Lambda runs Node 22; on a Node 20 laptop the AWS SDK would warn about its future releases.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('./cli.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: a finished command must not linger on a stray socket or timer.
process.exit(code);
