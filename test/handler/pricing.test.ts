import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseTariff, priceSession } from '../../functions/pricing/domain/index.ts';
import { setLambdaEnvironment } from '../support/lambda-env.ts';

const dynamo = mockClient(DynamoDBClient);
const eventBridge = mockClient(EventBridgeClient);

const context = { functionName: 'pricing', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

const TRANSACTION_ID = 41;
const SESSION_KEY = marshall({ pk: `SESSION#${TRANSACTION_ID}`, sk: 'SESSION' });
const PRICE_KEY = marshall({ pk: `SESSION#${TRANSACTION_ID}`, sk: 'PRICE' });

/** OCPI 2.2.1 tariff: 0.49 EUR/kWh + 19 % VAT, as stored (version 2 of T1). */
function aTariffJson(pricePerKwh = 0.49) {
  return {
    country_code: 'DE',
    party_id: 'VLT',
    id: 'T1',
    currency: 'EUR',
    elements: [{ price_components: [{ type: 'ENERGY', price: pricePerKwh, vat: 19.0, step_size: 1 }] }],
    last_updated: '2026-11-01T00:00:00Z',
  };
}

/** The stored session: 2 kWh from 09:00 to 09:20 UTC on CP-001 connector 1, completed at 09:20. */
function aSessionItem(overrides: Record<string, unknown> = {}) {
  return {
    pk: `SESSION#${TRANSACTION_ID}`,
    sk: 'SESSION',
    sessionId: `sess_${TRANSACTION_ID}`,
    transactionId: TRANSACTION_ID,
    chargePointId: 'CP-001',
    connectorId: 1,
    idTag: 'RFID-1',
    authorizationStatus: 'Accepted',
    startedAt: '2026-11-23T09:00:00.000Z',
    meterStartWh: 10_000,
    timeZone: 'Europe/Berlin',
    siteId: 'berlin-mitte',
    tariff: { tariffId: 'T1', version: 2 },
    billingProfile: { kind: 'retail' },
    state: 'completed',
    stoppedAt: '2026-11-23T09:20:00.000Z',
    stopRecordedAt: '2026-11-23T09:20:01.000Z',
    meterStopWh: 12_000,
    energyWh: 2_000,
    completedAt: '2026-11-23T09:20:00.000Z',
    completedBy: 'unplugged',
    flags: [],
    createdAt: '2026-11-23T09:00:00.000Z',
    ...overrides,
  };
}

function aStatusItem(timestamp: string, status: string) {
  return { pk: 'CP#CP-001', sk: `STATUS#001#${timestamp}#abcd`, chargePointId: 'CP-001', connectorId: 1, status, errorCode: 'NoError', timestamp, receivedAt: timestamp };
}

/** The SessionCompleted envelope as the OCPP gateway publishes it. */
function aSessionCompletedDetail(data: Record<string, unknown> = {}) {
  return {
    metadata: { id: `SessionCompleted:sess_${TRANSACTION_ID}`, version: 1, occurredAt: '2026-11-23T09:20:00.000Z', correlationId: `sess_${TRANSACTION_ID}` },
    data: {
      sessionId: `sess_${TRANSACTION_ID}`,
      transactionId: TRANSACTION_ID,
      chargePointId: 'CP-001',
      connectorId: 1,
      stoppedAt: '2026-11-23T09:20:00.000Z',
      completedAt: '2026-11-23T09:20:00.000Z',
      completedBy: 'unplugged',
      ...data,
    },
  };
}

/** An event as EventBridge delivers it to the PriceCompletedSessions rule's target. */
function anEventBridgeEvent(detail: unknown): EventBridgeEvent<'SessionCompleted', unknown> {
  return {
    version: '0',
    id: '6f1f7a62-9a4d-4b0f-8f0a-3c1d2a7e9b10',
    'detail-type': 'SessionCompleted',
    source: 'voltledger.ocpp',
    account: '123456789012',
    time: '2026-11-23T09:20:00Z',
    region: 'eu-central-1',
    resources: [],
    detail,
  };
}

let handler: (event: unknown, context: Context) => Promise<void>;

beforeAll(async () => {
  setLambdaEnvironment();
  ({ handler } = (await import('../../functions/pricing/handler.ts')) as never);
});

beforeEach(() => {
  dynamo.reset();
  eventBridge.reset();
  dynamo.on(GetItemCommand, { TableName: 'sessions', Key: SESSION_KEY }).resolves({ Item: marshall(aSessionItem()) });
  dynamo.on(GetItemCommand, { TableName: 'sessions', Key: PRICE_KEY }).resolves({});
  dynamo.on(GetItemCommand, { TableName: 'tariffs', Key: marshall({ pk: 'TARIFF#T1', sk: 'V#0000000002' }) }).resolves({
    Item: marshall({ pk: 'TARIFF#T1', sk: 'V#0000000002', tariffId: 'T1', version: 2, tariffJson: JSON.stringify(aTariffJson()), createdAt: '2026-11-01T00:00:00Z' }),
  });
  dynamo.on(QueryCommand, { TableName: 'sessions' }).resolves({ Items: [] });
  // The charge point's rated power, the meter plausibility bound (docs/meters.md): 2 kWh in 20 min is 6 kW.
  dynamo.on(GetItemCommand, { TableName: 'registry', Key: marshall({ pk: 'CP#CP-001', sk: 'PROFILE' }) }).resolves({ Item: marshall({ maxPowerKw: 22 }) });
  dynamo.on(QueryCommand, { TableName: 'registry' }).resolves({
    Items: [aStatusItem('2026-11-23T09:00:00.000Z', 'Charging'), aStatusItem('2026-11-23T09:20:00.000Z', 'Available')].map((item) => marshall(item)),
  });
  dynamo.on(PutItemCommand).resolves({});
  dynamo.on(UpdateItemCommand).resolves({});
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});

/** The SessionPriced entries the handler sent, parsed. */
function publishedEntries() {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({ ...entry, Detail: JSON.parse(entry.Detail!) })),
  );
}

describe('pricing handler (SessionCompleted -> SessionPriced)', () => {
  describe('a session not priced before', () => {
    it('prices it, stores the PRICE item only if none exists, and publishes SessionPriced', async () => {
      // Act
      await handler(anEventBridgeEvent(aSessionCompletedDetail()), context);

      // Assess: 2 kWh at 0.49 EUR/kWh = 0.98 EUR + 19 % VAT = 1.1662 -> 1.17 EUR.
      const [put, ...otherPuts] = dynamo.commandCalls(PutItemCommand).map((call) => call.args[0].input);
      expect(otherPuts).toEqual([]);
      expect(put).toMatchObject({ TableName: 'sessions', ConditionExpression: 'attribute_not_exists(pk)' });
      const item = unmarshall(put!.Item!);
      expect(item).toMatchObject({ pk: 'SESSION#41', sk: 'PRICE', totalMinor: 117, currency: 'EUR' });
      expect(JSON.parse(item.priceJson)).toMatchObject({ tariffId: 'T1', totalMinor: 117, total_energy: '2', total_cost: { excl_vat: '0.98', incl_vat: '1.17' } });

      const [summary] = dynamo.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
      expect(summary).toMatchObject({ TableName: 'sessions', Key: SESSION_KEY });
      expect(unmarshall(summary!.ExpressionAttributeValues!)).toMatchObject({ ':total': 117, ':currency': 'EUR', ':at': item.pricedAt });

      const entries = publishedEntries();
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ EventBusName: 'voltledger', Source: 'voltledger.pricing', DetailType: 'SessionPriced' });
      expect(entries[0]!.Detail).toMatchObject({
        metadata: { id: 'SessionPriced:sess_41', correlationId: 'sess_41' },
        data: { sessionId: 'sess_41', transactionId: 41, tariff: { tariffId: 'T1', version: 2 }, currency: 'EUR', totalMinor: 117, pricedAt: item.pricedAt, completedAt: '2026-11-23T09:20:00.000Z' },
      });
    });

    it('reads the tariff version snapshotted at start, not the current one', async () => {
      await handler(anEventBridgeEvent(aSessionCompletedDetail()), context);

      const tariffReads = dynamo.commandCalls(GetItemCommand, { TableName: 'tariffs' }).map((call) => unmarshall(call.args[0].input.Key!));
      expect(tariffReads).toEqual([{ pk: 'TARIFF#T1', sk: 'V#0000000002' }]);
    });
  });

  describe('a price already stored', () => {
    // A price stored by an earlier delivery: 2 kWh at 0.60 EUR/kWh (another figure than this
    // delivery would compute), so what is published shows which price it came from.
    const earlier = priceSession({
      tariff: parseTariff(aTariffJson(0.6)),
      timeZone: 'Europe/Berlin',
      connectorId: 1,
      startTransaction: { connectorId: 1, idTag: 'RFID-1', meterStart: 10_000, timestamp: '2026-11-23T09:00:00.000Z' },
      meterValues: [],
      statusNotifications: [],
      stopTransaction: { transactionId: TRANSACTION_ID, meterStop: 12_000, timestamp: '2026-11-23T09:20:00.000Z' },
    });
    const storedPrice = { pk: 'SESSION#41', sk: 'PRICE', priceJson: JSON.stringify(earlier), totalMinor: earlier.totalMinor, currency: 'EUR', pricedAt: '2026-11-23T09:20:05.000Z' };
    const expectSummaryOfStoredPrice = () => {
      const updates = dynamo.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
      expect(updates).toHaveLength(1);
      expect(updates[0]).toMatchObject({ Key: SESSION_KEY, ConditionExpression: 'attribute_exists(pk)' });
      expect(updates[0]!.ExpressionAttributeValues).toEqual(
        marshall({ ':at': '2026-11-23T09:20:05.000Z', ':total': 143, ':currency': 'EUR' }),
      );
    };

    it('republishes the stored price when the conditional write finds one (a concurrent delivery won)', async () => {
      // Prepare: no price at the first read; the conditional put then loses to a concurrent delivery.
      dynamo
        .on(GetItemCommand, { TableName: 'sessions', Key: PRICE_KEY })
        .resolvesOnce({})
        .resolves({ Item: marshall(storedPrice) });
      dynamo.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

      // Act
      await handler(anEventBridgeEvent(aSessionCompletedDetail()), context);

      // Assess
      expect(earlier.totalMinor).toBe(143);
      expect(dynamo.commandCalls(PutItemCommand)[0]!.args[0].input.ConditionExpression).toBe('attribute_not_exists(pk)');
      // The summary is (re)written from the stored winner, never from this delivery's own figures,
      // so a retry after a half-finished attempt completes it.
      expectSummaryOfStoredPrice();
      const entries = publishedEntries();
      expect(entries).toHaveLength(1);
      expect(entries[0]!.Detail).toMatchObject({
        metadata: { id: 'SessionPriced:sess_41', occurredAt: '2026-11-23T09:20:05.000Z' },
        data: { totalMinor: 143, pricedAt: '2026-11-23T09:20:05.000Z', total_cost: earlier.total_cost },
      });
    });

    it('republishes the stored price without pricing again when a re-delivery finds it first', async () => {
      dynamo.on(GetItemCommand, { TableName: 'sessions', Key: PRICE_KEY }).resolves({ Item: marshall(storedPrice) });

      await handler(anEventBridgeEvent(aSessionCompletedDetail()), context);

      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
      expectSummaryOfStoredPrice();
      expect(dynamo.commandCalls(GetItemCommand, { TableName: 'tariffs' })).toHaveLength(0);
      expect(publishedEntries().map((e) => [e.Detail.metadata.id, e.Detail.data.totalMinor])).toEqual([['SessionPriced:sess_41', 143]]);
    });
  });

  describe('a session that cannot be priced', () => {
    it('publishes SessionPricingFailed, records why, and stores no price when no tariff was in force', async () => {
      dynamo.on(GetItemCommand, { TableName: 'sessions', Key: SESSION_KEY }).resolves({ Item: marshall(aSessionItem({ tariff: null, flags: ['no-tariff'] })) });

      await handler(anEventBridgeEvent(aSessionCompletedDetail()), context);

      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
      const [update] = dynamo.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
      expect(update?.UpdateExpression).toBe('SET pricingError = :e');
      const entries = publishedEntries();
      expect(entries.map((e) => [e.Source, e.DetailType, e.Detail.metadata.id])).toEqual([
        ['voltledger.pricing', 'SessionPricingFailed', 'SessionPricingFailed:sess_41'],
      ]);
    });

    it('throws, so the event is retried, when the session is not stored', async () => {
      dynamo.on(GetItemCommand, { TableName: 'sessions', Key: SESSION_KEY }).resolves({});

      await expect(handler(anEventBridgeEvent(aSessionCompletedDetail()), context)).rejects.toThrow(/no such session/);

      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
      expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
    });
  });

  describe('a detail that breaks the SessionCompleted contract', () => {
    const valid = aSessionCompletedDetail();
    it.each<[string, unknown]>([
      ['no envelope (the data alone)', valid.data],
      ['no metadata', { data: valid.data }],
      ['a transactionId as a string', aSessionCompletedDetail({ transactionId: '41' })],
      ['no completedAt', { ...valid, data: { ...valid.data, completedAt: undefined } }],
      ['a completedAt that is not a timestamp', aSessionCompletedDetail({ completedAt: 'yesterday' })],
      ['an unknown completedBy', aSessionCompletedDetail({ completedBy: 'tow-truck' })],
      ['a field the contract does not have', aSessionCompletedDetail({ totalMinor: 0 })],
      ['a null detail', null],
    ])('throws on %s, so the Lambda retries and dead-letters it, and writes nothing', async (_name, detail) => {
      await expect(handler(anEventBridgeEvent(detail), context)).rejects.toThrow();

      expect(dynamo.calls()).toHaveLength(0);
      expect(eventBridge.calls()).toHaveLength(0);
    });
  });
});
