import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setLambdaEnvironment } from '../support/lambda-env.ts';

const dynamo = mockClient(DynamoDBClient);
const eventBridge = mockClient(EventBridgeClient);
const context = { functionName: 'consumer', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

/** SessionPriced as the pricing function publishes it. */
function aSessionPriced(billingProfile: Record<string, unknown>): EventBridgeEvent<'SessionPriced', unknown> {
  const money = (excl: string, incl: string) => ({ excl_vat: excl, incl_vat: incl });
  return {
    version: '0',
    id: 'e0b7c1c2-1111-4c3d-9e0f-5a6b7c8d9e0f',
    'detail-type': 'SessionPriced',
    source: 'voltledger.pricing',
    account: '123456789012',
    time: '2026-10-31T23:40:00Z',
    region: 'eu-central-1',
    resources: [],
    detail: {
      metadata: { id: 'SessionPriced:sess_7', version: 1, occurredAt: '2026-10-31T23:40:00.000Z', correlationId: 'sess_7' },
      data: {
        sessionId: 'sess_7',
        transactionId: 7,
        chargePointId: 'CP-001',
        connectorId: 1,
        idTag: 'FLEET-7',
        siteId: 'berlin-mitte',
        billingProfile,
        tariff: { tariffId: 'T1', version: 2 },
        currency: 'EUR',
        totalMinor: 1190,
        total_cost: money('10.00', '11.90'),
        total_energy_cost: money('10.00', '11.90'),
        total_time_cost: money('0.00', '0.00'),
        total_parking_cost: money('0.00', '0.00'),
        total_fixed_cost: money('0.00', '0.00'),
        total_energy: '20.408163',
        total_time: '0.5',
        total_parking_time: '0',
        // 23:10 UTC on 31 October is 00:10 on 1 November in Berlin.
        startedAt: '2026-10-31T23:10:00.000Z',
        completedAt: '2026-10-31T23:40:00.000Z',
        pricedAt: '2026-10-31T23:40:01.000Z',
        warnings: [],
      },
    },
  };
}

beforeAll(() => setLambdaEnvironment());

beforeEach(() => {
  dynamo.reset();
  eventBridge.reset();
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

describe('fleet consumer (functions/fleet/handler.ts)', () => {
  let handler: (event: unknown, context: Context) => Promise<void>;
  beforeAll(async () => {
    ({ handler } = (await import('../../functions/fleet/handler.ts')) as never);
  });

  beforeEach(() => {
    dynamo.on(GetItemCommand, { TableName: 'entitlements', Key: marshall({ pk: 'FLEET#ACME', sk: 'FLEET' }) }).resolves({
      Item: marshall({ pk: 'FLEET#ACME', sk: 'FLEET', accountId: 'ACME', name: 'ACME', currency: 'EUR', billingContact: { email: 'a@b.c' }, timeZone: 'Europe/Berlin', updatedAt: '2026-10-01T00:00:00Z' }),
    });
  });

  it('accrues a fleet session once, to the period of its start on the account calendar, unbilled', async () => {
    dynamo.on(PutItemCommand).resolves({});
    await handler(aSessionPriced({ kind: 'fleet', accountId: 'ACME' }), context);
    const puts = dynamo.commandCalls(PutItemCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.args[0].input).toMatchObject({ TableName: 'fleet', ConditionExpression: 'attribute_not_exists(pk)' });
    expect(unmarshall(puts[0]!.args[0].input.Item!)).toMatchObject({
      pk: 'ACCOUNT#ACME',
      sk: 'ACCRUAL#sess_7',
      gsi1pk: 'UNBILLED#ACME',
      gsi1sk: '2026-11#sess_7',
      naturalPeriod: '2026-11',
      amountExclVatMinor: 1000,
      amountInclVatMinor: 1190,
      energyKwh: '20.408163',
      durationSeconds: 1800,
    });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('treats a re-delivery (the accrual exists) as done', async () => {
    dynamo.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    await expect(handler(aSessionPriced({ kind: 'fleet', accountId: 'ACME' }), context)).resolves.toBeUndefined();
  });

  it('ignores other billing profiles without touching DynamoDB', async () => {
    await handler(aSessionPriced({ kind: 'retail' }), context);
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('fails (so the event is retried, then dead-lettered) for an account that does not exist', async () => {
    dynamo.on(GetItemCommand, { TableName: 'entitlements', Key: marshall({ pk: 'FLEET#NOPE', sk: 'FLEET' }) }).resolves({});
    await expect(handler(aSessionPriced({ kind: 'fleet', accountId: 'NOPE' }), context)).rejects.toThrow(/fleet account NOPE does not exist/);
  });
});

describe('roaming consumer (functions/roaming/handler.ts)', () => {
  let handler: (event: unknown, context: Context) => Promise<void>;
  beforeAll(async () => {
    ({ handler } = (await import('../../functions/roaming/handler.ts')) as never);
  });

  it('ignores other billing profiles', async () => {
    await handler(aSessionPriced({ kind: 'fleet', accountId: 'ACME' }), context);
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('holds the CDR, without sending anything, when the tariff is not published to the partner', async () => {
    dynamo.on(GetItemCommand, { TableName: 'roaming', Key: marshall({ pk: 'PARTNER#EMSP', sk: 'PARTNER' }) }).resolves({
      Item: marshall({ pk: 'PARTNER#EMSP', sk: 'PARTNER', partnerId: 'EMSP', name: 'eMSP', countryCode: 'NL', partyId: 'EMS', cdrsUrl: 'https://emsp.example/cdrs', token: 't0ken-t0ken', tariffIds: ['OTHER'], active: true, updatedAt: '2026-10-01T00:00:00Z' }),
    });
    dynamo.on(GetItemCommand, { TableName: 'roaming', Key: marshall({ pk: 'CDR#CDR-sess_7', sk: 'CDR' }) }).resolves({});
    dynamo.on(PutItemCommand).resolves({});
    await handler(aSessionPriced({ kind: 'roaming', partnerId: 'EMSP' }), context);
    const stored = unmarshall(dynamo.commandCalls(PutItemCommand)[0]!.args[0].input.Item!);
    expect(stored).toMatchObject({ pk: 'CDR#CDR-sess_7', status: 'held', reason: expect.stringContaining('tariff T1 is not published to partner EMSP') });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});
