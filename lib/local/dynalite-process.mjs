// dynalite in its own process (see startLocalDynamo's `process` option): DynamoDB is another
// service in AWS, and on a 2-core machine this lets the store use the core the stack does not.
// Arguments: <host> <port> [path]. Tells its parent the port over IPC; exits when the parent goes.
import { createRequire } from 'node:module';

const dynalite = createRequire(import.meta.url)('dynalite');
const [host, port, path] = process.argv.slice(2);
const server = dynalite({ path: path || undefined, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(Number(port), host, () => process.send?.({ port: server.address().port }));
const stop = () => {
  server.closeIdleConnections?.();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('disconnect', stop);
process.on('SIGTERM', stop);
