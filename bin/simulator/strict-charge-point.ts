import { RPCClient } from 'ocpp-rpc';

/** An ocpp-rpc client in strict mode: answers are checked against the schemas, so `any` is safe to read. */
export interface StrictChargePoint {
  call(action: string, params: Record<string, unknown>): Promise<any>;
  close(options?: { force?: boolean }): Promise<unknown>;
}

type RpcClientOptions = ConstructorParameters<typeof RPCClient>[0];

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
  const clientOptions: Partial<RpcClientOptions> = {
    endpoint,
    identity,
    password: options.password,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 20_000,
  };
  const client = new RPCClient(clientOptions as RpcClientOptions);
  for (const [action, handler] of Object.entries(options.handlers ?? {})) {
    client.handle(action, (({ params }: { params?: unknown }) => handler(params)) as never);
  }
  await client.connect();
  return client as unknown as StrictChargePoint;
}

/** A MeterValues sample of the energy register (in Wh or kWh) beside an 11 kW power reading, as charge points send it. */
export function energySample(timestamp: string, wh: number, unit: 'Wh' | 'kWh' = 'Wh') {
  return {
    timestamp,
    sampledValue: [
      { value: unit === 'Wh' ? String(wh) : (wh / 1000).toFixed(3), measurand: 'Energy.Active.Import.Register', unit, context: 'Sample.Periodic' },
      { value: '11000', measurand: 'Power.Active.Import', unit: 'W', context: 'Sample.Periodic' },
    ],
  };
}
