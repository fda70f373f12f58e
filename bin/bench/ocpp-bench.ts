import { RPCClient } from 'ocpp-rpc';
import { hashPassword } from '../../functions/ocpp/domain/passwords.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { startLocalStack, type LocalStack } from '../../lib/local/stack.ts';
import { mapWithConcurrency, summarizeLatencies, type LatencySummary } from '../simulator/stats.ts';
import type { BenchResult } from './types.ts';

type RpcClientOptions = ConstructorParameters<typeof RPCClient>[0];

export interface OcppBenchOptions {
  /** Connected charge points (default 200). */
  chargePoints?: number;
  /** Authorize calls per measured pass (default 5,000). */
  authorizeCalls?: number;
  /** Authorize calls in flight in the concurrent pass (default 20). */
  authorizeConcurrency?: number;
  /** How long MeterValues are pushed (default 20 s). */
  meterValuesSeconds?: number;
  /** Progress lines (to stderr in the CLI). */
  progress?: (line: string) => void;
}

const PASSWORD = 'bench-password-0123456789';
const ID_TAG = 'BENCH-TAG';
const AUTHORIZE_GOAL = { p50Ms: 5, p99Ms: 25 };
const METER_VALUES_GOAL_PER_S = 500;

/**
 * OCPP benchmarks against an in-memory local stack (dynalite, local bus, WebSocket gateway, the
 * real handler code), with real `ocpp-rpc` clients in strict mode on the same machine:
 *
 * - Authorize round trips over the local WebSocket, spread over all charge points: one pass with
 *   one call in flight (pure latency) and one with `authorizeConcurrency` in flight.
 * - Sustained MeterValues ingestion: a transaction open on every charge point, each sending
 *   MeterValues back to back (one outstanding CALL per charge point, as OCPP-J requires) for
 *   `meterValuesSeconds`; then every stored sample is read back and counted against the acks.
 *
 * Figures are measured, never asserted: a missed goal is reported as missed.
 */
export async function runOcppBench(options: OcppBenchOptions = {}): Promise<BenchResult[]> {
  const chargePointCount = options.chargePoints ?? 200;
  const authorizeCalls = options.authorizeCalls ?? 5000;
  const authorizeConcurrency = options.authorizeConcurrency ?? 20;
  const meterValuesMs = (options.meterValuesSeconds ?? 20) * 1000;
  const progress = options.progress ?? (() => {});

  const stack = await startLocalStack({ port: 0, seed: false, log: silentLog, sweepIntervalMs: 0 });
  const clients: RPCClient[] = [];
  try {
    progress(`provisioning ${chargePointCount} charge points`);
    const ids = await provision(stack, chargePointCount);
    progress(`connecting ${chargePointCount} ocpp-rpc clients`);
    const connectStarted = performance.now();
    clients.push(...(await mapWithConcurrency(ids, 20, (id) => connect(stack, id))));
    const connectMs = performance.now() - connectStarted;
    await mapWithConcurrency(clients, 20, (client) =>
      client.call('BootNotification', { chargePointVendor: 'VoltLedger', chargePointModel: 'Bench' }),
    );

    // Warm-up: JIT, connection caches and dynalite's first reads are not what is measured.
    await mapWithConcurrency(clients, 20, (client) => client.call('Authorize', { idTag: ID_TAG }));

    progress(`Authorize: ${authorizeCalls} calls, 1 in flight`);
    const sequential = await authorizePass(clients, authorizeCalls, 1);
    progress(`Authorize: ${authorizeCalls} calls, ${authorizeConcurrency} in flight`);
    const concurrent = await authorizePass(clients, authorizeCalls, authorizeConcurrency);

    progress(`MeterValues: ${chargePointCount} open transactions for ${meterValuesMs / 1000} s`);
    const ingestion = await meterValuesPass(stack, clients, meterValuesMs);

    return [authorizeResult(sequential, concurrent, chargePointCount, authorizeConcurrency, connectMs), meterValuesResult(ingestion, chargePointCount)];
  } finally {
    // Close gracefully so the gateway runs $disconnect while DynamoDB is still there.
    await Promise.all(clients.map((c) => c.close({ code: 1000, awaitPending: true }).catch(() => undefined)));
    await stack.close();
  }
}

async function provision(stack: LocalStack, count: number): Promise<string[]> {
  const at = new Date().toISOString();
  // One scrypt hash for all: hashing is not what is measured, and the connect path remembers a
  // verified (hash, password) pair, so 200 connects cost one verification.
  const passwordHash = await hashPassword(PASSWORD);
  const ids = Array.from({ length: count }, (_, i) => `BENCH-${String(i + 1).padStart(4, '0')}`);
  await mapWithConcurrency(ids, 20, (id) => stack.stores.registry.upsertChargePoint(id, { passwordHash, timeZone: 'UTC', maxPowerKw: 22 }, at));
  await stack.stores.entitlements.put({ idTag: ID_TAG, status: 'Accepted', billing: { kind: 'retail' }, updatedAt: at });
  return ids;
}

async function connect(stack: LocalStack, identity: string): Promise<RPCClient> {
  const clientOptions: Partial<RpcClientOptions> = {
    endpoint: stack.ocppUrl,
    identity,
    password: PASSWORD,
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    callTimeoutMs: 60_000,
    callConcurrency: 1,
  };
  const client = new RPCClient(clientOptions as RpcClientOptions);
  await client.connect();
  return client;
}

interface AuthorizePass {
  latency: LatencySummary;
  callsPerSecond: number;
  errors: number;
  inFlight: number;
}

/**
 * `calls` Authorize calls with `inFlight` workers; worker w only uses clients w, w+inFlight, ...
 * so no call waits in a client's own queue and the latency is the server round trip.
 */
async function authorizePass(clients: RPCClient[], calls: number, inFlight: number): Promise<AuthorizePass> {
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, worker) => {
      const own = clients.filter((_, i) => i % inFlight === worker);
      for (let n = 0; issued < calls; n++) {
        issued += 1;
        const client = own[n % own.length]!;
        const t0 = performance.now();
        try {
          const answer = (await client.call('Authorize', { idTag: ID_TAG })) as { idTagInfo: { status: string } };
          if (answer.idTagInfo.status !== 'Accepted') errors += 1;
          latencies.push(performance.now() - t0);
        } catch {
          errors += 1;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  return { latency: summarizeLatencies(latencies), callsPerSecond: latencies.length / elapsedS, errors, inFlight };
}

interface IngestionPass {
  acknowledged: number;
  stored: number;
  lost: number;
  extra: number;
  errors: number;
  errorCodes: Record<string, number>;
  elapsedS: number;
  latency: LatencySummary;
  transactions: number;
  readBackMs: number;
}

async function meterValuesPass(stack: LocalStack, clients: RPCClient[], durationMs: number): Promise<IngestionPass> {
  // Simulated readings one minute apart, starting in the past, so every timestamp is distinct
  // (samples are keyed by timestamp) and none lies in the future.
  const baseMs = Date.now() - 30 * 24 * 3600 * 1000;
  const startedAt = new Date(baseMs).toISOString();
  const transactions = await mapWithConcurrency(clients, 20, async (client) => {
    const answer = (await client.call('StartTransaction', { connectorId: 1, idTag: ID_TAG, meterStart: 1_000_000, timestamp: startedAt })) as { transactionId: number };
    return answer.transactionId;
  });

  const acknowledged = new Array<number>(clients.length).fill(0);
  const latencies: number[] = [];
  const errorCodes: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    clients.map(async (client, i) => {
      for (let n = 1; performance.now() < deadline; n++) {
        const timestamp = new Date(baseMs + n * 60_000).toISOString();
        const t0 = performance.now();
        try {
          await client.call('MeterValues', {
            connectorId: 1,
            transactionId: transactions[i],
            meterValue: [
              {
                timestamp,
                sampledValue: [
                  { value: String(1_000_000 + n * 183), context: 'Sample.Periodic', measurand: 'Energy.Active.Import.Register', location: 'Outlet', unit: 'Wh' },
                  { value: '11000', context: 'Sample.Periodic', measurand: 'Power.Active.Import', location: 'Outlet', unit: 'W' },
                ],
              },
            ],
          });
          latencies.push(performance.now() - t0);
          acknowledged[i]! += 1;
        } catch (error) {
          const code = (error as { rpcErrorCode?: string }).rpcErrorCode ?? (error as Error).constructor.name;
          errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;

  const readStarted = performance.now();
  const storedCounts = await mapWithConcurrency(transactions, 10, async (transactionId) => (await stack.stores.sessions.samples(transactionId)).length);
  const readBackMs = performance.now() - readStarted;
  let lost = 0;
  let extra = 0;
  storedCounts.forEach((stored, i) => {
    lost += Math.max(0, acknowledged[i]! - stored);
    extra += Math.max(0, stored - acknowledged[i]!);
  });
  const totalAcked = acknowledged.reduce((a, b) => a + b, 0);
  return {
    acknowledged: totalAcked,
    stored: storedCounts.reduce((a, b) => a + b, 0),
    lost,
    extra,
    errors: Object.values(errorCodes).reduce((a, b) => a + b, 0),
    errorCodes,
    elapsedS,
    latency: summarizeLatencies(latencies),
    transactions: transactions.length,
    readBackMs,
  };
}

const fixed = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

function authorizeResult(sequential: AuthorizePass, concurrent: AuthorizePass, chargePoints: number, inFlight: number, connectMs: number): BenchResult {
  const rows: BenchResult['rows'] = [];
  for (const pass of [sequential, concurrent]) {
    const label = `${pass.inFlight} in flight`;
    rows.push(
      { metric: `p50 latency, ${label}`, value: fixed(pass.latency.p50Ms, 2), unit: 'ms', goal: `<= ${AUTHORIZE_GOAL.p50Ms} ms`, met: pass.latency.p50Ms <= AUTHORIZE_GOAL.p50Ms },
      { metric: `p99 latency, ${label}`, value: fixed(pass.latency.p99Ms, 2), unit: 'ms', goal: `<= ${AUTHORIZE_GOAL.p99Ms} ms`, met: pass.latency.p99Ms <= AUTHORIZE_GOAL.p99Ms },
      { metric: `mean latency, ${label}`, value: fixed(pass.latency.meanMs, 2), unit: 'ms' },
      { metric: `max latency, ${label}`, value: fixed(pass.latency.maxMs, 1), unit: 'ms' },
      { metric: `throughput, ${label}`, value: fixed(pass.callsPerSecond, 0), unit: 'calls/s' },
      { metric: `errors, ${label}`, value: String(pass.errors), unit: 'calls', goal: '0', met: pass.errors === 0 },
    );
  }
  return {
    name: 'OCPP Authorize round trip',
    rows,
    notes:
      `${sequential.latency.count} + ${concurrent.latency.count} Authorize.req over ${chargePoints} connected ocpp-rpc clients (strict mode, ` +
      `schema validation on both sides), after a warm-up of one call per client; at most ${inFlight} calls in flight in the second pass, ` +
      `no client with more than one. Round trip = client call to CALLRESULT, through the local WebSocket gateway, the $default handler and ` +
      `a DynamoDB GetItem on dynalite. Connecting the ${chargePoints} clients took ${fixed(connectMs / 1000, 2)} s.`,
  };
}

function meterValuesResult(pass: IngestionPass, chargePoints: number): BenchResult {
  const rate = pass.acknowledged / pass.elapsedS;
  const errorText = Object.entries(pass.errorCodes).map(([code, n]) => `${code} ${n}`).join(', ');
  return {
    name: 'OCPP MeterValues ingestion',
    rows: [
      { metric: 'sustained rate', value: fixed(rate, 0), unit: 'messages/s', goal: `>= ${METER_VALUES_GOAL_PER_S}`, met: rate >= METER_VALUES_GOAL_PER_S },
      { metric: 'messages acknowledged', value: String(pass.acknowledged), unit: 'messages' },
      { metric: 'samples read back', value: String(pass.stored), unit: 'samples' },
      { metric: 'lost (acknowledged, not stored)', value: String(pass.lost), unit: 'samples', goal: '0', met: pass.lost === 0 },
      { metric: 'CALLERRORs and timeouts', value: String(pass.errors), unit: 'messages', goal: '0', met: pass.errors === 0 },
      { metric: 'p50 latency', value: fixed(pass.latency.p50Ms, 1), unit: 'ms' },
      { metric: 'p99 latency', value: fixed(pass.latency.p99Ms, 1), unit: 'ms' },
      { metric: 'duration', value: fixed(pass.elapsedS, 1), unit: 's' },
    ],
    notes:
      `${pass.transactions} open transactions, one per charge point; each of the ${chargePoints} clients sends MeterValues (one sample: energy register + power) ` +
      `back to back with one CALL outstanding, as OCPP-J allows, so ${chargePoints} calls are in flight. Each MeterValues is one BatchWriteItem ` +
      `(the session is read once per transaction, to check its owner). Afterwards every session's samples were read back (${fixed(pass.readBackMs / 1000, 1)} s) and counted ` +
      `against the acknowledgements${pass.extra ? `; ${pass.extra} stored samples were never acknowledged (stored, then the answer failed)` : ''}.` +
      (errorText ? ` Errors: ${errorText}.` : ''),
  };
}
