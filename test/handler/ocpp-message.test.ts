import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Context } from 'aws-lambda';
import { setLambdaEnvironment } from '../support/lambda-env.ts';

const dynamo = mockClient(DynamoDBClient);
const eventBridge = mockClient(EventBridgeClient);

const context = { functionName: 'ocpp-message', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 3000 } as unknown as Context;

/** A `$default` event as API Gateway delivers it. */
function aMessageEvent(body: string, connectionId = 'Gyvd8cOAIAMCF0A=') {
  return {
    requestContext: {
      routeKey: '$default',
      messageId: 'GyvqvdVVIAMCF0A=',
      eventType: 'MESSAGE',
      extendedRequestId: 'Gyvqvx',
      requestTime: '23/Nov/2026:10:00:00 +0000',
      messageDirection: 'IN',
      stage: 'prod',
      connectedAt: 1763892000000,
      requestTimeEpoch: 1763892000100,
      identity: { sourceIp: '192.0.2.10' },
      requestId: 'Gyvqvx=',
      domainName: 'abc123.execute-api.eu-central-1.amazonaws.com',
      connectionId,
      apiId: 'abc123',
    },
    body,
    isBase64Encoded: false,
  };
}

let handler: (event: unknown, context: Context) => Promise<{ statusCode: number; body?: string }>;

beforeAll(async () => {
  setLambdaEnvironment();
  ({ handler } = (await import('../../functions/ocpp/message.ts')) as never);
});

beforeEach(() => {
  dynamo.reset();
  eventBridge.reset();
  dynamo.on(GetItemCommand, { TableName: 'registry', Key: marshall({ pk: 'CONN#Gyvd8cOAIAMCF0A=', sk: 'CONN' }) }).resolves({
    Item: marshall({ pk: 'CONN#Gyvd8cOAIAMCF0A=', sk: 'CONN', chargePointId: 'CP-001' }),
  });
});

describe('ocpp message handler ($default)', () => {
  describe('Authorize', () => {
    it('answers from the entitlement record with one read', async () => {
      // A card-paid tag (no billing profile is retail) with a driver behind it: someone pays
      // (docs/payments.md, "Who pays by card"), so OCPP_PAYERLESS_CARD_TAGS=block does not apply.
      dynamo.on(GetItemCommand, { TableName: 'entitlements' }).resolves({
        Item: marshall({ pk: 'IDTAG#RFID-1', sk: 'IDTAG', idTag: 'RFID-1', status: 'Accepted', expiryDate: '2099-01-01T00:00:00.000Z', driverId: 'DRV-1', updatedAt: 'x' }),
      });

      const result = await handler(aMessageEvent('[2,"a1","Authorize",{"idTag":"rfid-1"}]'), context);

      expect(JSON.parse(result.body!)).toEqual([3, 'a1', { idTagInfo: { status: 'Accepted', expiryDate: '2099-01-01T00:00:00.000Z' } }]);
      // idTags are case-insensitive (CiString20): the lower-case tag finds the upper-case key.
      expect(dynamo.commandCalls(GetItemCommand, { TableName: 'entitlements' })[0]!.args[0].input.Key).toEqual(
        marshall({ pk: 'IDTAG#RFID-1', sk: 'IDTAG' }),
      );
      expect(dynamo.commandCalls(GetItemCommand, { TableName: 'entitlements' })).toHaveLength(1);
      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
    });

    it('answers Blocked for a card-paid idTag no driver stands behind, from the same one read', async () => {
      // OCPP_PAYERLESS_CARD_TAGS defaults to block; the payer fact (driverId) is on the cached record.
      dynamo.on(GetItemCommand, { TableName: 'entitlements' }).resolves({
        Item: marshall({ pk: 'IDTAG#RFID-2', sk: 'IDTAG', idTag: 'RFID-2', status: 'Accepted', billing: { kind: 'retail' }, updatedAt: 'x' }),
      });

      const result = await handler(aMessageEvent('[2,"a3","Authorize",{"idTag":"RFID-2"}]'), context);

      expect(JSON.parse(result.body!)).toEqual([3, 'a3', { idTagInfo: { status: 'Blocked' } }]);
      expect(dynamo.commandCalls(GetItemCommand, { TableName: 'entitlements' })).toHaveLength(1);
      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
    });

    it('answers Invalid for an unknown idTag', async () => {
      dynamo.on(GetItemCommand, { TableName: 'entitlements' }).resolves({});
      const result = await handler(aMessageEvent('[2,"a2","Authorize",{"idTag":"NOPE"}]'), context);
      expect(JSON.parse(result.body!)).toEqual([3, 'a2', { idTagInfo: { status: 'Invalid' } }]);
    });
  });

  describe('bad input', () => {
    it.each([
      ['unparsable JSON', '[2,"b1","Authorize",{', ['b1', 'FormationViolation']],
      ['an unknown action', '[2,"b2","Teleport",{}]', ['b2', 'NotImplemented']],
      ['a known action the central system does not take', '[2,"b3","Reset",{"type":"Hard"}]', ['b3', 'NotSupported']],
      ['a missing field', '[2,"b4","Authorize",{}]', ['b4', 'OccurenceConstraintViolation']],
      ['a wrong type', '[2,"b5","StartTransaction",{"connectorId":"1","idTag":"A","meterStart":0,"timestamp":"2026-11-23T10:00:00Z"}]', ['b5', 'TypeConstraintViolation']],
    ])('answers %s with the right CALLERROR and writes nothing', async (_name, body, [messageId, code]) => {
      const result = await handler(aMessageEvent(body), context);
      const frame = JSON.parse(result.body!);
      expect(frame.slice(0, 3)).toEqual([4, messageId, code]);
      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
      expect(dynamo.commandCalls(UpdateItemCommand)).toHaveLength(0);
      expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
    });
  });

  describe('StartTransaction', () => {
    beforeEach(() => {
      dynamo.on(GetItemCommand, { TableName: 'entitlements' }).resolves({
        // A retail tag with a driver (its payer, docs/payments.md): Accepted under OCPP_PAYERLESS_CARD_TAGS=block.
        Item: marshall({ pk: 'IDTAG#RFID-1', sk: 'IDTAG', idTag: 'RFID-1', status: 'Accepted', updatedAt: 'x', billing: { kind: 'retail' }, driverId: 'DRV-1', tariffId: 'T1' }),
      });
      dynamo.on(GetItemCommand, { TableName: 'registry', Key: marshall({ pk: 'CP#CP-001', sk: 'PROFILE' }) }).resolves({
        Item: marshall({ pk: 'CP#CP-001', sk: 'PROFILE', chargePointId: 'CP-001', passwordHash: 'x', timeZone: 'Europe/Berlin', updatedAt: 'x' }),
      });
      dynamo.on(GetItemCommand, { TableName: 'sessions' }).resolves({});
      dynamo.on(QueryCommand, { TableName: 'tariffs' }).resolves({ Items: [marshall({ pk: 'TARIFF#T1', sk: 'V#0000000002', version: 2 })] });
      dynamo.on(UpdateItemCommand, { TableName: 'sessions' }).resolves({ Attributes: marshall({ value: 41 }) });
      dynamo.on(PutItemCommand, { TableName: 'sessions' }).resolves({});
      // A new start looks for sessions still open on the connector (docs/sessions.md): none here.
      dynamo.on(QueryCommand, { TableName: 'sessions', IndexName: 'awaitingCompletion' }).resolves({ Items: [] });
      // The start's timestamp measures the charge point's clock, kept on its profile (docs/clocks.md).
      dynamo.on(UpdateItemCommand, { TableName: 'registry' }).resolves({});
    });

    it('stores the session with its tariff and billing snapshot, publishes SessionStarted, then answers', async () => {
      eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });

      const result = await handler(
        aMessageEvent('[2,"s1","StartTransaction",{"connectorId":1,"idTag":"RFID-1","meterStart":1200,"timestamp":"2026-11-23T10:00:00Z"}]'),
        context,
      );

      expect(JSON.parse(result.body!)).toEqual([3, 's1', { transactionId: 41, idTagInfo: { status: 'Accepted' } }]);
      const sessionPut = dynamo
        .commandCalls(PutItemCommand, { TableName: 'sessions' })
        .map((c) => c.args[0].input)
        .find((input) => input.Item?.sk?.S === 'SESSION');
      expect(sessionPut?.ConditionExpression).toBe('attribute_not_exists(pk)');
      expect(sessionPut?.Item?.tariff).toEqual({ M: { tariffId: { S: 'T1' }, version: { N: '2' } } });
      expect(sessionPut?.Item?.billingProfile).toEqual({ M: { kind: { S: 'retail' } } });
      // A started session is in the awaitingCompletion index under OPEN#<chargePoint> (docs/sessions.md).
      expect(sessionPut?.Item?.gsi2pk).toEqual({ S: 'OPEN#CP-001' });
      // Two reads of the index: the sessions still started on the charge point (superseded by this
      // start) and the ones stopped on the connector still waiting for their unplug (ended by it).
      const indexQueries = dynamo.commandCalls(QueryCommand, { TableName: 'sessions', IndexName: 'awaitingCompletion' });
      expect(indexQueries.map((q) => q.args[0].input.ExpressionAttributeValues)).toEqual([marshall({ ':pk': 'OPEN#CP-001' }), marshall({ ':pk': 'AWAIT#CP-001#1' })]);
      const clockUpdate = dynamo.commandCalls(UpdateItemCommand, { TableName: 'registry' });
      expect(clockUpdate).toHaveLength(1);
      expect(clockUpdate[0]!.args[0].input.Key).toEqual(marshall({ pk: 'CP#CP-001', sk: 'PROFILE' }));
      expect(clockUpdate[0]!.args[0].input.ExpressionAttributeValues![':clock']!.M!.measuredBy).toEqual({ S: 'StartTransaction' });
      const [put] = eventBridge.commandCalls(PutEventsCommand);
      const entry = put!.args[0].input.Entries![0]!;
      expect(entry.DetailType).toBe('SessionStarted');
      expect(JSON.parse(entry.Detail!).metadata.id).toBe('SessionStarted:sess_41');
    });

    it('answers InternalError, not a transactionId, when the event cannot be published', async () => {
      eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] });

      const result = await handler(
        aMessageEvent('[2,"s2","StartTransaction",{"connectorId":1,"idTag":"RFID-1","meterStart":1200,"timestamp":"2026-11-23T10:00:00Z"}]'),
        context,
      );

      // The charge point retries; the retry finds the stored start and publishes again.
      expect(JSON.parse(result.body!).slice(0, 3)).toEqual([4, 's2', 'InternalError']);
    });
  });
});
