import { RPCClient } from 'ocpp-rpc';

/** An ocpp-rpc client in strict mode: answers are checked against the schemas, so `any` is safe to read. */
export interface StrictChargePoint {
  call(action: string, params: Record<string, unknown>): Promise<any>;
  close(options?: { force?: boolean }): Promise<unknown>;
}

export type RpcClientOptions = ConstructorParameters<typeof RPCClient>[0];

/**
 * ocpp-rpc options for a well-behaved OCPP 1.6J charge point: strict mode (both directions checked
 * against the schemas), one outstanding CALL at a time (OCPP-J), and no reconnect of ocpp-rpc's own
 * (the caller decides what a lost connection means).
 */
export function strictClientOptions(input: { url: string; identity: string; password: string; callTimeoutMs: number }): RpcClientOptions {
  const options: Partial<RpcClientOptions> = {
    endpoint: input.url.replace(/\/+$/, ''),
    identity: input.identity,
    password: input.password,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    callTimeoutMs: input.callTimeoutMs,
    callConcurrency: 1,
  };
  return options as RpcClientOptions;
}

/**
 * A real OCPP 1.6J charge point, as the benchmarks and the tests drive one: ocpp-rpc in strict mode
 * (it validates both directions against the schemas), no reconnect, and a call timeout generous
 * enough that a loaded machine is not a failure (speed is measured by the benchmarks).
 */
export async function connectStrictChargePoint(
  endpoint: string,
  identity: string,
  options: { password: string; handlers?: Record<string, (params: any) => unknown> },
): Promise<StrictChargePoint> {
  const client = new RPCClient(strictClientOptions({ url: endpoint, identity, password: options.password, callTimeoutMs: 20_000 }));
  for (const [action, handler] of Object.entries(options.handlers ?? {})) {
    client.handle(action, (({ params }: { params?: unknown }) => handler(params)) as never);
  }
  await client.connect();
  return client as unknown as StrictChargePoint;
}

/** Whole Wh as kWh with three decimals, exactly (no binary float): 12345 -> "12.345". */
function kWhText(wh: number): string {
  const sign = wh < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(wh));
  return `${sign}${Math.trunc(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`;
}

/** A MeterValues sample of the energy register (in Wh or kWh) beside an 11 kW power reading, as charge points send it. */
export function energySample(timestamp: string, wh: number, unit: 'Wh' | 'kWh' = 'Wh') {
  return {
    timestamp,
    sampledValue: [
      { value: unit === 'Wh' ? String(wh) : kWhText(wh), measurand: 'Energy.Active.Import.Register', unit, context: 'Sample.Periodic' },
      { value: '11000', measurand: 'Power.Active.Import', unit: 'W', context: 'Sample.Periodic' },
    ],
  };
}
