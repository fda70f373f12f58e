import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The local stack as a separate process (`node bin/voltledger.mjs local`), to be killed for real. */
export interface StackProcess {
  child: ChildProcess;
  port: number;
  adminUrl: string;
  ocppUrl: string;
  /** The Stripe emulator's URL, as the banner prints it (its port changes at every start). */
  stripeUrl: string;
  /** Everything the process wrote so far. */
  output(): string;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (drains and closes the stack), and wait until the process is gone. */
  stop(): Promise<void>;
}

const CLI = fileURLToPath(new URL('../../bin/voltledger.mjs', import.meta.url));

/** A port free right now (the stack is restarted on the same one, so the webhook endpoint and the clients' URL stay). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `voltledger local --port <port> --data-dir <dataDir>` and resolves once its banner is printed. */
export async function startStackProcess(options: { port: number; dataDir: string; adminToken: string; timeoutMs?: number; env?: Record<string, string> }): Promise<StackProcess> {
  const child = spawn(process.execPath, [CLI, 'local', '--port', String(options.port), '--data-dir', options.dataDir], {
    env: { ...process.env, ADMIN_TOKEN: options.adminToken, LOG_LEVEL: process.env.KILL_DEBUG ? 'info' : 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const gone = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : exited);

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the stack did not start within ${options.timeoutMs ?? 30_000} ms:\n${text}`)), options.timeoutMs ?? 30_000);
    const check = () => {
      if (/VoltLedger is running/.test(text) && /EventBridge/.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the stack exited (${code ?? signal}) before it was running:\n${text}`));
    });
  });
  const stripeUrl = /local emulator (http:\/\/[^\s]+)/.exec(text)?.[1];
  if (!stripeUrl) throw new Error(`no Stripe emulator URL in the banner:\n${text}`);
  return {
    child,
    port: options.port,
    adminUrl: `http://127.0.0.1:${options.port}/admin`,
    ocppUrl: `ws://127.0.0.1:${options.port}/ocpp`,
    stripeUrl,
    output: () => text,
    async kill() {
      child.kill('SIGKILL');
      await gone();
    },
    async stop() {
      child.kill('SIGTERM');
      await gone();
    },
  };
}
