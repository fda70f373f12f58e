import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE, OCPP_METRICS } from '../../functions/shared/metric-names.ts';
import { setLambdaEnvironment } from '../support/lambda-env.ts';

const dynamo = mockClient(DynamoDBClient);
mockClient(EventBridgeClient);
const context = { functionName: 'ocpp-message', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 3000 } as unknown as Context;
const aMessageEvent = (body: string) => ({ requestContext: { routeKey: '$default', connectionId: 'conn-1', requestTimeEpoch: Date.now() }, body, isBase64Encoded: false });

let handler: (event: unknown, context: Context) => Promise<{ statusCode: number; body?: string }>;
let emf: Array<Record<string, any>>;

beforeAll(async () => {
  setLambdaEnvironment();
  ({ handler } = (await import('../../functions/ocpp/message.ts')) as never);
});

beforeEach(() => {
  dynamo.reset();
  dynamo.on(GetItemCommand, { TableName: 'registry' }).resolves({ Item: marshall({ pk: 'CONN#conn-1', sk: 'CONN', chargePointId: 'CP-001' }) });
  dynamo.on(GetItemCommand, { TableName: 'entitlements' }).resolves({});
  emf = [];
  // Powertools Metrics writes one EMF line per flush to stdout (its own Console on process.stdout).
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = String(chunk);
    if (text.includes('"_aws"')) emf.push(JSON.parse(text));
    return true;
  });
});

afterEach(() => vi.restoreAllMocks());

/** The metric names (with values) of an EMF line. */
const metricsOf = (line: Record<string, any>) =>
  Object.fromEntries(line._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => [m.Name, line[m.Name]]));

describe('ocpp message handler metrics (EMF)', () => {
  it('writes one line per Authorize with AuthorizeLatency in milliseconds, under the namespace and service the alarm watches', async () => {
    await handler(aMessageEvent('[2,"a1","Authorize",{"idTag":"NOPE"}]'), context);
    expect(emf).toHaveLength(1);
    expect(emf[0]!._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: METRICS_NAMESPACE, Dimensions: [['service']], Metrics: [{ Name: OCPP_METRICS.authorizeLatency, Unit: 'Milliseconds' }] });
    expect(emf[0]!.service).toBe(OCPP_METRICS.service);
    const latency = metricsOf(emf[0]!)[OCPP_METRICS.authorizeLatency];
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThan(5_000);
  });

  it('counts CALLERRORs, malformed frames included, and writes nothing for an ordinary answer', async () => {
    await handler(aMessageEvent('[2,"b2","Teleport",{}]'), context);
    await handler(aMessageEvent('[2,"b1","Authorize",{'), context);
    expect(emf.map(metricsOf)).toEqual([{ [OCPP_METRICS.callErrors]: 1 }, { [OCPP_METRICS.callErrors]: 1 }]);

    emf.length = 0;
    dynamo.on(GetItemCommand, { TableName: 'registry', Key: marshall({ pk: 'CONN#conn-1', sk: 'CONN' }) }).resolves({ Item: marshall({ pk: 'CONN#conn-1', sk: 'CONN', chargePointId: 'CP-001' }) });
    const answer = await handler(aMessageEvent('[2,"h1","DataTransfer",{"vendorId":"x"}]'), context);
    expect(JSON.parse(answer.body!)[0]).toBe(3);
    expect(emf).toEqual([]);
  });

  it('gives an Authorize answered with a CALLERROR both its latency and the error count', async () => {
    await handler(aMessageEvent('[2,"a3","Authorize",{}]'), context);
    expect(emf).toHaveLength(1);
    expect(Object.keys(metricsOf(emf[0]!)).sort()).toEqual([OCPP_METRICS.authorizeLatency, OCPP_METRICS.callErrors].sort());
  });
});
