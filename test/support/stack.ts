import WebSocket from 'ws';
import { connectStrictChargePoint, type StrictChargePoint } from '../../bin/simulator/strict-charge-point.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../lib/local/stack.ts';

export { energySample } from '../../bin/simulator/strict-charge-point.ts';

/**
 * An in-memory local stack on a free port with the demo data, silent. The demo idTags have no
 * driver behind them, so tests accept card tags without a payer (`payerlessCardTags: 'accept'`)
 * unless they pass `config.payerlessCardTags: 'block'`, the product's default (docs/payments.md).
 */
export function startTestStack(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  return startLocalStack({ port: 0, sweepIntervalMs: 0, log: silentLog, ...options, config: { payerlessCardTags: 'accept', ...options.config } });
}

/** The strict ocpp-rpc client as tests use it: answers are checked against the schemas, so `any` is safe to read. */
export type ChargePointClient = StrictChargePoint;

/** A real OCPP 1.6J charge point on the stack (the demo password unless given): ocpp-rpc in strict mode. */
export function connectChargePoint(
  stack: LocalStack,
  identity: string,
  options: { password?: string; handlers?: Record<string, (params: any) => unknown> } = {},
): Promise<ChargePointClient> {
  return connectStrictChargePoint(stack.ocppUrl, identity, { password: options.password ?? DEMO.password, ...(options.handlers ? { handlers: options.handlers } : {}) });
}

/** A raw WebSocket for frames no well-behaved client would send. */
export async function rawSocket(stack: LocalStack, identity: string, password = DEMO.password): Promise<{ ws: WebSocket; next(): Promise<unknown> }> {
  const ws = new WebSocket(`${stack.ocppUrl}/${identity}`, ['ocpp1.6'], {
    headers: { Authorization: `Basic ${Buffer.from(`${identity}:${password}`).toString('base64')}` },
  });
  const inbox: string[] = [];
  const waiters: Array<(v: string) => void> = [];
  ws.on('message', (data) => {
    const text = data.toString();
    const waiter = waiters.shift();
    if (waiter) waiter(text);
    else inbox.push(text);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    next: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no frame within 3 s')), 3000);
        const take = (text: string) => {
          clearTimeout(timer);
          resolve(JSON.parse(text));
        };
        const queued = inbox.shift();
        if (queued !== undefined) take(queued);
        else waiters.push(take);
      }),
  };
}

/** Admin API call with the stack's token. */
export async function admin(stack: LocalStack, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** Polls `check` every 50 ms until it returns a value (not undefined); fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The HTTP status a WebSocket upgrade to the OCPP endpoint gets: 101 when it opens (then closed), else the refusal's status. */
export function upgradeStatus(stack: LocalStack, identity: string, headers: Record<string, string>, protocols: string[] = ['ocpp1.6']): Promise<number> {
  return new Promise<number>((resolve) => {
    const ws = new WebSocket(`${stack.ocppUrl}/${identity}`, protocols, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => undefined);
  });
}

/** The payment policy the card end-to-end tests put in force: a 20.00 hold raised in steps, 100.00 at most. */
export const CARD_TEST_POLICY = {
  hold: { mode: 'fixed', amountMinor: 2000 },
  incrementAtPercent: 80,
  incrementHeadroomPercent: 50,
  incrementMinStepMinor: 1000,
  maxHoldMinor: 10_000,
  onIncrementUnavailable: 'continue',
  smallAmount: 'carry',
  readerMatchWindowSeconds: 120,
};
