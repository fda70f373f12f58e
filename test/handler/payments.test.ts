import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type PutItemCommandInput,
  type QueryCommandInput,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PaymentHoldFailed, PaymentHoldPlaced, SessionPaymentSettled } from '../../events/payment-events.ts';
import { startStripeEmulator, stripeClientFor, type StripeEmulator } from '../../lib/local/stripe/index.ts';
import { setLambdaEnvironment } from '../support/lambda-env.ts';

const dynamo = mockClient(DynamoDBClient);
const eventBridge = mockClient(EventBridgeClient);
const connections = mockClient(ApiGatewayManagementApiClient);

const context = { functionName: 'payments', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

// ---------------------------------------------------------------------------------------------
// A small in-memory DynamoDB behind the mocked client: items are kept exactly as the adapters
// write them (marshalled), conditional writes are checked, so read-modify-write on `version`,
// `attribute_not_exists(pk)` creates and the reader-authorization claims behave as on DynamoDB.
// Only the expressions the payment flows use are understood; anything else fails the test loudly.
// ---------------------------------------------------------------------------------------------

type Item = Record<string, AttributeValue>;
const tables = new Map<string, Map<string, Item>>();
const keyOf = (pk: string, sk: string) => `${pk}\u0000${sk}`;
const tableOf = (name: string) => tables.get(name) ?? tables.set(name, new Map()).get(name)!;

function stored(table: string, pk: string, sk: string): Record<string, any> | undefined {
  const item = tableOf(table).get(keyOf(pk, sk));
  return item ? unmarshall(item) : undefined;
}

function seed(table: string, item: Record<string, unknown>) {
  tableOf(table).set(keyOf(String(item.pk), String(item.sk)), marshall(item, { removeUndefinedValues: true }));
}

const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

/** ConditionExpression -> does it hold for the current item (undefined: none stored) and the values. */
const CONDITIONS: Record<string, (current: Record<string, any> | undefined, values: Record<string, any>) => boolean> = {
  'attribute_not_exists(pk)': (current) => current === undefined,
  'version = :v': (current, values) => current !== undefined && current.version === values[':v'],
  'attribute_exists(pk) AND attribute_not_exists(claimedBySessionId)': (current) => current !== undefined && current.claimedBySessionId === undefined,
  'attribute_exists(canceledAt)': (current) => current?.canceledAt !== undefined,
  'attribute_exists(pk) AND attribute_not_exists(canceledAt) AND (attribute_not_exists(claimedBySessionId) OR claimedBySessionId = :s)': (current, values) =>
    current !== undefined && current.canceledAt === undefined && (current.claimedBySessionId === undefined || current.claimedBySessionId === values[':s']),
};

/** UpdateExpression -> the item after it. */
const UPDATES: Record<string, (current: Record<string, any>, values: Record<string, any>) => Record<string, any>> = {
  // Closed to sessions, still listed as pending until Stripe released the hold.
  'SET canceledAt = if_not_exists(canceledAt, :at)': (current, values) => ({ ...current, canceledAt: current.canceledAt ?? values[':at'] }),
  'SET releasedAt = if_not_exists(releasedAt, :at) REMOVE gsi1pk, gsi1sk': ({ gsi1pk: _p, gsi1sk: _s, ...rest }, values) => ({ ...rest, releasedAt: rest.releasedAt ?? values[':at'] }),
  'SET claimedBySessionId = :s REMOVE gsi1pk, gsi1sk': ({ gsi1pk: _p, gsi1sk: _s, ...rest }, values) => ({ ...rest, claimedBySessionId: values[':s'] }),
};

function check(condition: string | undefined, current: Record<string, any> | undefined, values: Item | undefined) {
  if (condition === undefined) return;
  const holds = CONDITIONS[condition];
  if (!holds) throw new Error(`fake DynamoDB does not understand ConditionExpression ${condition}`);
  if (!holds(current, values ? unmarshall(values) : {})) throw conditionFailed();
}

function putItem(input: PutItemCommandInput) {
  const { pk, sk } = unmarshall(input.Item!);
  const table = tableOf(input.TableName!);
  const current = table.get(keyOf(pk, sk));
  check(input.ConditionExpression, current ? unmarshall(current) : undefined, input.ExpressionAttributeValues);
  table.set(keyOf(pk, sk), input.Item!);
  return {};
}

function updateItem(input: UpdateItemCommandInput) {
  const { pk, sk } = unmarshall(input.Key!);
  const table = tableOf(input.TableName!);
  const raw = table.get(keyOf(pk, sk));
  const current = raw ? unmarshall(raw) : undefined;
  check(input.ConditionExpression, current, input.ExpressionAttributeValues);
  const update = UPDATES[input.UpdateExpression!];
  if (!update) throw new Error(`fake DynamoDB does not understand UpdateExpression ${input.UpdateExpression}`);
  table.set(keyOf(pk, sk), marshall(update(current ?? { pk, sk }, unmarshall(input.ExpressionAttributeValues ?? {})), { removeUndefinedValues: true }));
  return {};
}

function query(input: QueryCommandInput) {
  const values = unmarshall(input.ExpressionAttributeValues ?? {});
  const items = [...tableOf(input.TableName!).values()].map((raw) => ({ raw, item: unmarshall(raw) }));
  let matches: typeof items;
  let sortKey: 'sk' | 'gsi1sk' = 'sk';
  const byPrefix = /^pk = (:\w+) AND begins_with\(sk, (:\w+)\)$/.exec(input.KeyConditionExpression ?? '');
  if (!input.IndexName && byPrefix) {
    matches = items.filter(({ item }) => item.pk === values[byPrefix[1]!] && String(item.sk).startsWith(values[byPrefix[2]!]));
  } else if (input.IndexName === 'listings' && input.KeyConditionExpression === 'gsi1pk = :p AND gsi1sk < :b') {
    // A sparse GSI: only items that carry gsi1pk are in it.
    matches = items.filter(({ item }) => item.gsi1pk === values[':p'] && typeof item.gsi1sk === 'string' && item.gsi1sk < values[':b']);
    sortKey = 'gsi1sk';
  } else {
    throw new Error(`fake DynamoDB does not understand the query ${input.IndexName ?? ''} ${input.KeyConditionExpression}`);
  }
  matches.sort((a, b) => (a.item[sortKey] < b.item[sortKey] ? -1 : a.item[sortKey] > b.item[sortKey] ? 1 : 0));
  if (input.ScanIndexForward === false) matches.reverse();
  if (input.Limit) matches = matches.slice(0, input.Limit);
  return { Items: matches.map((m) => m.raw), Count: matches.length };
}

// ---------------------------------------------------------------------------------------------
// The world the events come from.
// ---------------------------------------------------------------------------------------------

const CONNECTION_ID = 'Zx9q8cJ0FiACHcw=';
const STARTED_AT = '2026-11-23T09:00:00.000Z';

/** OCPI 2.2.1 tariff: 0.49 EUR/kWh + 19 % VAT, as stored (version 2 of T1). */
const TARIFF_JSON = {
  country_code: 'DE',
  party_id: 'VLT',
  id: 'T1',
  currency: 'EUR',
  elements: [{ price_components: [{ type: 'ENERGY', price: 0.49, vat: 19.0, step_size: 1 }] }],
  last_updated: '2026-11-01T00:00:00Z',
};

/**
 * Default policy (no policy items stored): estimate for 120 min at min(22 kW policy, 22 kW charger)
 * = 44 kWh x 0.49 EUR x 1.19 = 25.6564 EUR -> rounded up to 2566 cents (under the 100.00 cap).
 */
const EXPECTED_HOLD_MINOR = 2566;

interface Driver {
  driverId: string;
  idTag: string;
  customerId: string;
  paymentMethodId: string;
}

let emulator: StripeEmulator;
let stripe: Stripe;
let visa: Driver;
let declined: Driver;
let handler: (event: unknown, context: Context) => Promise<void>;
let sweep: (event: unknown, context: Context) => Promise<{ released: number }>;
let nextTransactionId = 500;

/** A driver with a saved card (a Stripe test token), as the admin API stores one. */
async function aDriver(driverId: string, idTag: string, card: string): Promise<Driver> {
  const customer = await stripe.customers.create({ email: `${driverId}@example.com`, payment_method: card, invoice_settings: { default_payment_method: card } });
  return { driverId, idTag, customerId: customer.id, paymentMethodId: customer.invoice_settings.default_payment_method as string };
}

function seedDriver(driver: Driver) {
  seed('entitlements', { pk: `IDTAG#${driver.idTag}`, sk: 'IDTAG', idTag: driver.idTag, status: 'Accepted', driverId: driver.driverId, billing: { kind: 'retail', channel: 'app' }, driverVersion: 1, updatedAt: '2026-11-01T00:00:00.000Z' });
  seed('entitlements', {
    pk: `DRIVER#${driver.driverId}`,
    sk: 'DRIVER',
    driverId: driver.driverId,
    stripeCustomerId: driver.customerId,
    defaultPaymentMethodId: driver.paymentMethodId,
    idTags: [driver.idTag],
    version: 1,
    updatedAt: '2026-11-01T00:00:00.000Z',
  });
}

function seedWorld() {
  tables.clear();
  seed('tariffs', { pk: 'TARIFF#T1', sk: 'V#0000000002', tariffId: 'T1', version: 2, tariffJson: JSON.stringify(TARIFF_JSON), createdAt: '2026-11-01T00:00:00Z' });
  seed('registry', {
    pk: 'CP#CP-001',
    sk: 'PROFILE',
    chargePointId: 'CP-001',
    passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
    timeZone: 'Europe/Berlin',
    tariffId: 'T1',
    siteId: 'berlin-mitte',
    maxPowerKw: 22,
    connectionId: CONNECTION_ID,
    connectedAt: '2026-11-23T08:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
  });
  seedDriver(visa);
  seedDriver(declined);
}

/** A session as the OCPP gateway stores it at StartTransaction (still running). */
function seedRunningSession(transactionId: number, idTag: string, billingProfile: Record<string, unknown> | null = { kind: 'retail', channel: 'app' }) {
  seed('sessions', {
    pk: `SESSION#${transactionId}`,
    sk: 'SESSION',
    sessionId: `sess_${transactionId}`,
    transactionId,
    chargePointId: 'CP-001',
    connectorId: 1,
    idTag,
    authorizationStatus: 'Accepted',
    startedAt: STARTED_AT,
    meterStartWh: 10_000,
    timeZone: 'Europe/Berlin',
    siteId: 'berlin-mitte',
    tariff: { tariffId: 'T1', version: 2 },
    billingProfile,
    state: 'started',
    flags: [],
    createdAt: STARTED_AT,
    gsi1pk: 'CP#CP-001',
    gsi1sk: `${STARTED_AT}#${String(transactionId).padStart(12, '0')}`,
  });
}

/** The SessionStarted envelope as the central system publishes it. */
function aSessionStartedDetail(transactionId: number, idTag: string, data: Record<string, unknown> = {}) {
  const sessionId = `sess_${transactionId}`;
  return {
    metadata: { id: `SessionStarted:${sessionId}`, version: 1, occurredAt: STARTED_AT, correlationId: sessionId },
    data: {
      sessionId,
      transactionId,
      chargePointId: 'CP-001',
      connectorId: 1,
      idTag,
      authorizationStatus: 'Accepted',
      startedAt: STARTED_AT,
      meterStartWh: 10_000,
      timeZone: 'Europe/Berlin',
      siteId: 'berlin-mitte',
      tariff: { tariffId: 'T1', version: 2 },
      billingProfile: { kind: 'retail', channel: 'app' },
      ...data,
    },
  };
}

/** The SessionPriced envelope as the pricing function publishes it: 20 kWh at 0.49 EUR + 19 % VAT = 11.66 EUR. */
function aSessionPricedDetail(transactionId: number, idTag: string, data: Record<string, unknown> = {}) {
  const sessionId = `sess_${transactionId}`;
  const zero = { excl_vat: '0.00', incl_vat: '0.00' };
  return {
    metadata: { id: `SessionPriced:${sessionId}`, version: 1, occurredAt: '2026-11-23T10:00:05.000Z', correlationId: sessionId },
    data: {
      sessionId,
      transactionId,
      chargePointId: 'CP-001',
      connectorId: 1,
      idTag,
      siteId: 'berlin-mitte',
      billingProfile: { kind: 'retail', channel: 'app' },
      tariff: { tariffId: 'T1', version: 2 },
      currency: 'EUR',
      totalMinor: 1166,
      total_cost: { excl_vat: '9.80', incl_vat: '11.66' },
      total_energy_cost: { excl_vat: '9.80', incl_vat: '11.66' },
      total_time_cost: zero,
      total_parking_cost: zero,
      total_fixed_cost: zero,
      total_energy: '20',
      total_time: '1',
      total_parking_time: '0',
      startedAt: STARTED_AT,
      completedAt: '2026-11-23T10:00:00.000Z',
      pricedAt: '2026-11-23T10:00:05.000Z',
      warnings: [],
      ...data,
    },
  };
}

/** An event as EventBridge delivers it to the ChargeCardSessions rule's target. */
function anEventBridgeEvent(detailType: string, detail: unknown, source = detailType === 'SessionPriced' ? 'voltledger.pricing' : 'voltledger.ocpp'): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: '0d4f3c4e-8a8f-4c1e-9a41-2b9b5e1c7f10',
    'detail-type': detailType,
    source,
    account: '123456789012',
    time: '2026-11-23T09:00:00Z',
    region: 'eu-central-1',
    resources: [],
    detail,
  };
}

/** The scheduled event EventBridge Scheduler sends the sweep every minute. */
const aScheduledEvent = () => ({
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.scheduler',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'eu-central-1',
  resources: ['arn:aws:scheduler:eu-central-1:123456789012:schedule/default/payments-sweep'],
  detail: '{}',
});

/** The entries the handler published, Detail parsed. */
function publishedEntries() {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) => (call.args[0].input.Entries ?? []).map((entry) => ({ ...entry, Detail: JSON.parse(entry.Detail!) })));
}

/** Every write the handler sent to DynamoDB. */
function dynamoWrites() {
  return [PutItemCommand, UpdateItemCommand, DeleteItemCommand, BatchWriteItemCommand].flatMap((command) => dynamo.commandCalls(command as typeof PutItemCommand));
}

function paymentPuts(sessionId: string) {
  return dynamo
    .commandCalls(PutItemCommand, { TableName: 'payments' })
    .map((call) => call.args[0].input)
    .filter((input) => unmarshall(input.Item!).pk === `SESSION#${sessionId}`);
}

const paymentOf = (sessionId: string) => stored('payments', `SESSION#${sessionId}`, 'PAYMENT');

beforeAll(async () => {
  emulator = await startStripeEmulator({ host: '127.0.0.1', port: 0, webhookSecret: 'whsec_test_payments_handler' });
  stripe = stripeClientFor(emulator);
  visa = await aDriver('driver-visa', 'RFID-VISA', 'pm_card_visa');
  declined = await aDriver('driver-declined', 'RFID-DECLINED', 'pm_card_chargeDeclined');
  delete process.env.STRIPE_SECRETS_ARN;
  setLambdaEnvironment({
    STRIPE_SECRET_KEY: 'sk_test_voltledger_handler',
    STRIPE_WEBHOOK_SECRET: 'whsec_test_payments_handler',
    STRIPE_API_HOST: '127.0.0.1',
    STRIPE_API_PORT: String(emulator.port),
    STRIPE_API_PROTOCOL: 'http',
  });
  ({ handler } = (await import('../../functions/payments/handler.ts')) as never);
  ({ handler: sweep } = (await import('../../functions/payments/sweep-handler.ts')) as never);
});

afterAll(async () => {
  await emulator?.close();
});

beforeEach(() => {
  seedWorld();
  dynamo.reset();
  eventBridge.reset();
  connections.reset();
  dynamo.on(GetItemCommand).callsFake((input) => {
    const { pk, sk } = unmarshall(input.Key);
    const item = tableOf(input.TableName).get(keyOf(pk, sk));
    return item ? { Item: item } : {};
  });
  dynamo.on(PutItemCommand).callsFake(putItem);
  dynamo.on(UpdateItemCommand).callsFake(updateItem);
  dynamo.on(QueryCommand).callsFake(query);
  eventBridge.on(PutEventsCommand).callsFake((input) => ({ FailedEntryCount: 0, Entries: input.Entries.map((_: unknown, i: number) => ({ EventId: `e-${i}` })) }));
  connections.on(PostToConnectionCommand).resolves({});
});

describe('payments handler (ChargeCardSessions: SessionStarted, SessionMeterValues, SessionPriced)', () => {
  describe('SessionStarted for a retail idTag whose driver has a saved card', () => {
    it('creates the payment record, places a manual-capture hold at Stripe, saves it held and publishes PaymentHoldPlaced', async () => {
      const transactionId = ++nextTransactionId;
      const sessionId = `sess_${transactionId}`;
      seedRunningSession(transactionId, visa.idTag);
      const before = Date.now();

      await handler(anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, visa.idTag)), context);

      // Assess: created only if absent (authorizing), then saved held on the version it read.
      const [create, save, ...more] = paymentPuts(sessionId);
      expect(more).toEqual([]);
      expect(create).toMatchObject({ TableName: 'payments', ConditionExpression: 'attribute_not_exists(pk)' });
      expect(unmarshall(create!.Item!)).toMatchObject({
        pk: `SESSION#${sessionId}`,
        sk: 'PAYMENT',
        sessionId,
        transactionId,
        idTag: visa.idTag,
        driverId: visa.driverId,
        customerId: visa.customerId,
        paymentMethodId: visa.paymentMethodId,
        channel: 'app',
        currency: 'EUR',
        status: 'authorizing',
        version: 0,
        hold: { paymentIntentId: '', amountMinor: EXPECTED_HOLD_MINOR, estimate: { amountMinor: EXPECTED_HOLD_MINOR, basis: 'estimate', powerKw: 22, durationMinutes: 120 } },
      });
      expect(save).toMatchObject({ TableName: 'payments', ConditionExpression: 'version = :v' });
      expect(unmarshall(save!.ExpressionAttributeValues!)).toEqual({ ':v': 0 });
      const held = unmarshall(save!.Item!);
      expect(held).toMatchObject({ pk: `SESSION#${sessionId}`, sk: 'PAYMENT', status: 'held', version: 1, hold: { amountMinor: EXPECTED_HOLD_MINOR, incrementable: true } });
      expect(held.hold.paymentIntentId).toMatch(/^pi_/);
      expect(paymentOf(sessionId)).toEqual(held);

      // The PaymentIntent at Stripe: manual capture, authorized, with the session in its metadata.
      const intent = await stripe.paymentIntents.retrieve(held.hold.paymentIntentId, { expand: ['latest_charge'] });
      expect(intent).toMatchObject({
        capture_method: 'manual',
        status: 'requires_capture',
        amount: EXPECTED_HOLD_MINOR,
        amount_capturable: EXPECTED_HOLD_MINOR,
        currency: 'eur',
        customer: visa.customerId,
        metadata: { sessionId, purpose: 'hold', transactionId: String(transactionId), chargePointId: 'CP-001', connectorId: '1', idTag: visa.idTag },
      });
      const captureBefore = new Date((intent.latest_charge as Stripe.Charge).payment_method_details!.card!.capture_before! * 1000).toISOString();
      expect(held.hold.captureBefore).toBe(captureBefore);

      // PaymentHoldPlaced, exactly the contract's shape.
      const entries = publishedEntries();
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ EventBusName: 'voltledger', Source: 'voltledger.payments', DetailType: 'PaymentHoldPlaced' });
      const detail = entries[0]!.Detail;
      expect(PaymentHoldPlaced.envelope.parse(detail)).toEqual(detail);
      expect(detail).toEqual({
        metadata: { id: `PaymentHoldPlaced:${sessionId}`, version: 1, occurredAt: held.hold.placedAt, correlationId: sessionId },
        data: {
          sessionId,
          transactionId,
          chargePointId: 'CP-001',
          connectorId: 1,
          idTag: visa.idTag,
          siteId: 'berlin-mitte',
          driverId: visa.driverId,
          channel: 'app',
          paymentIntentId: intent.id,
          amountMinor: EXPECTED_HOLD_MINOR,
          currency: 'EUR',
          captureBefore,
          incrementalAuthorization: true,
          placedAt: held.hold.placedAt,
        },
      });
      expect(Date.parse(held.hold.placedAt)).toBeGreaterThanOrEqual(before - 1000);

      // No stop: the hold went through.
      expect(connections.commandCalls(PostToConnectionCommand)).toHaveLength(0);
    });

    it('re-delivered, republishes the same PaymentHoldPlaced and neither writes nor holds again', async () => {
      const transactionId = ++nextTransactionId;
      const sessionId = `sess_${transactionId}`;
      seedRunningSession(transactionId, visa.idTag);
      const event = anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, visa.idTag));
      await handler(event, context);
      const stripeEvents = emulator.control.events().length;
      const first = publishedEntries()[0]!;
      dynamo.resetHistory();
      eventBridge.resetHistory();

      await handler(event, context);

      expect(dynamoWrites()).toHaveLength(0);
      expect(emulator.control.events()).toHaveLength(stripeEvents);
      expect(publishedEntries()).toEqual([first]);
      expect((await stripe.paymentIntents.list({ customer: visa.customerId, limit: 100 })).data.filter((pi) => pi.metadata.sessionId === sessionId)).toHaveLength(1);
    });
    it('throws when Stripe fails, so EventBridge retries, and the retry finishes the same hold', async () => {
      const transactionId = ++nextTransactionId;
      const sessionId = `sess_${transactionId}`;
      seedRunningSession(transactionId, visa.idTag);
      const event = anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, visa.idTag));
      // Stripe answers 500 to the attempt and both of the SDK's retries.
      emulator.control.failNext({ path: '/v1/payment_intents', method: 'POST', kind: 'api_error', count: 3 });

      await expect(handler(event, context)).rejects.toThrow();

      expect(paymentOf(sessionId)).toMatchObject({ status: 'authorizing', version: 0, hold: { paymentIntentId: '' } });
      expect(eventBridge.calls()).toHaveLength(0);
      expect(connections.calls()).toHaveLength(0);

      // EventBridge delivers it again: the record found authorizing, the hold is placed.
      await handler(event, context);

      const payment = paymentOf(sessionId)!;
      expect(payment).toMatchObject({ status: 'held', version: 1 });
      const intents = (await stripe.paymentIntents.list({ customer: visa.customerId, limit: 100 })).data.filter((pi) => pi.metadata.sessionId === sessionId);
      expect(intents.map((pi) => [pi.id, pi.status])).toEqual([[payment.hold.paymentIntentId, 'requires_capture']]);
      expect(publishedEntries().map((e) => [e.DetailType, e.Detail.data.paymentIntentId])).toEqual([['PaymentHoldPlaced', payment.hold.paymentIntentId]]);
    });
  });

  describe('SessionStarted for a session a card does not pay for', () => {
    it.each<[string, Record<string, unknown> | null]>([
      ['a fleet billing profile', { kind: 'fleet', accountId: 'acme-logistics' }],
      ['a free billing profile', { kind: 'free', reason: 'staff' }],
      ['a roaming billing profile', { kind: 'roaming', partnerId: 'DE*EMP' }],
    ])('%s: writes nothing, publishes nothing, calls no Stripe', async (_name, billingProfile) => {
      const transactionId = ++nextTransactionId;
      seedRunningSession(transactionId, visa.idTag, billingProfile);
      const stripeEvents = emulator.control.events().length;

      // The idTag belongs to a driver with a saved card: only the billing profile keeps the card out.
      await handler(anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, visa.idTag, { billingProfile })), context);

      expect(dynamoWrites()).toHaveLength(0);
      expect(paymentOf(`sess_${transactionId}`)).toBeUndefined();
      expect(eventBridge.calls()).toHaveLength(0);
      expect(emulator.control.events()).toHaveLength(stripeEvents);
      expect(connections.calls()).toHaveLength(0);
      // Not even the payer was looked up.
      expect(dynamo.commandCalls(GetItemCommand, { TableName: 'entitlements' })).toHaveLength(0);
    });
  });

  describe('SessionStarted for a session without a billing profile (retail, events/billing.ts)', () => {
    it('holds on the driver\'s saved card like any retail session, so the revenue pricing and the ledger book is collected', async () => {
      const transactionId = ++nextTransactionId;
      const sessionId = `sess_${transactionId}`;
      seedRunningSession(transactionId, visa.idTag, null);

      await handler(anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, visa.idTag, { billingProfile: null })), context);

      const payment = paymentOf(sessionId)!;
      expect(payment).toMatchObject({ status: 'held', customerId: visa.customerId, paymentMethodId: visa.paymentMethodId, hold: { amountMinor: EXPECTED_HOLD_MINOR } });
      const intents = (await stripe.paymentIntents.list({ customer: visa.customerId, limit: 100 })).data.filter((pi) => pi.metadata.sessionId === sessionId);
      expect(intents.map((pi) => [pi.id, pi.status, pi.capture_method])).toEqual([[payment.hold.paymentIntentId, 'requires_capture', 'manual']]);
      expect(publishedEntries().map((e) => e.DetailType)).toEqual(['PaymentHoldPlaced']);
    });
  });

  describe('SessionStarted for a driver whose card is declined', () => {
    it('stops the session at its charge point (RemoteStopTransaction), records hold_failed and publishes PaymentHoldFailed', async () => {
      const transactionId = ++nextTransactionId;
      const sessionId = `sess_${transactionId}`;
      seedRunningSession(transactionId, declined.idTag);

      await handler(anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, declined.idTag)), context);

      // The OCPP CALL went to the charge point's connection.
      const posts = connections.commandCalls(PostToConnectionCommand).map((call) => call.args[0].input);
      expect(posts).toHaveLength(1);
      expect(posts[0]!.ConnectionId).toBe(CONNECTION_ID);
      const frame = JSON.parse(Buffer.from(posts[0]!.Data as Uint8Array).toString('utf8'));
      expect(frame).toEqual([2, expect.any(String), 'RemoteStopTransaction', { transactionId }]);
      // ... and was stored as a pending call of the command path first.
      expect(stored('registry', 'CP#CP-001', `CALL#${frame[1]}`)).toMatchObject({ chargePointId: 'CP-001', messageId: frame[1], action: 'RemoteStopTransaction', payload: { transactionId }, state: 'pending' });

      // The decline at Stripe.
      const attempts = (await stripe.paymentIntents.list({ customer: declined.customerId, limit: 100 })).data.filter((pi) => pi.metadata.sessionId === sessionId);
      expect(attempts).toHaveLength(1);
      expect(attempts[0]).toMatchObject({ status: 'requires_payment_method', capture_method: 'manual', last_payment_error: { code: 'card_declined', decline_code: 'generic_decline' } });

      const payment = paymentOf(sessionId)!;
      expect(payment).toMatchObject({
        status: 'hold_failed',
        version: 1,
        holdFailure: { reason: 'card_declined', code: 'card_declined', declineCode: 'generic_decline', paymentIntentId: attempts[0]!.id, stopRequested: true },
      });

      const entries = publishedEntries();
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ EventBusName: 'voltledger', Source: 'voltledger.payments', DetailType: 'PaymentHoldFailed' });
      const detail = entries[0]!.Detail;
      expect(PaymentHoldFailed.envelope.parse(detail)).toEqual(detail);
      expect(detail).toEqual({
        metadata: { id: `PaymentHoldFailed:${sessionId}`, version: 1, occurredAt: payment.holdFailure.failedAt, correlationId: sessionId },
        data: {
          sessionId,
          transactionId,
          chargePointId: 'CP-001',
          connectorId: 1,
          idTag: declined.idTag,
          siteId: 'berlin-mitte',
          driverId: declined.driverId,
          channel: 'app',
          reason: 'card_declined',
          code: 'card_declined',
          declineCode: 'generic_decline',
          message: payment.holdFailure.message,
          paymentIntentId: attempts[0]!.id,
          driverAction: 'update_payment_method',
          stopRequested: true,
          failedAt: payment.holdFailure.failedAt,
        },
      });
    });

    it('does not send RemoteStopTransaction when the session has already stopped, and says so (stopRequested: false)', async () => {
      const transactionId = ++nextTransactionId;
      seedRunningSession(transactionId, declined.idTag);
      const session = stored('sessions', `SESSION#${transactionId}`, 'SESSION')!;
      seed('sessions', { ...session, state: 'stopped', stoppedAt: '2026-11-23T09:01:00.000Z', meterStopWh: 10_050, energyWh: 50 });

      await handler(anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, declined.idTag)), context);

      expect(connections.calls()).toHaveLength(0);
      expect(publishedEntries().map((e) => [e.DetailType, e.Detail.data.stopRequested])).toEqual([['PaymentHoldFailed', false]]);
    });
  });

  describe('SessionPriced for a held session', () => {
    it('captures the session total from the hold at Stripe and publishes SessionPaymentSettled', async () => {
      // Prepare: the hold placed through the handler, as SessionStarted would have.
      const transactionId = ++nextTransactionId;
      const sessionId = `sess_${transactionId}`;
      seedRunningSession(transactionId, visa.idTag);
      await handler(anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, visa.idTag)), context);
      const held = paymentOf(sessionId)!;
      expect(held.status).toBe('held');
      dynamo.resetHistory();
      eventBridge.resetHistory();

      // Act
      await handler(anEventBridgeEvent('SessionPriced', aSessionPricedDetail(transactionId, visa.idTag)), context);

      // Assess: 11.66 EUR captured from the 25.66 EUR hold, the rest released.
      const intent = await stripe.paymentIntents.retrieve(held.hold.paymentIntentId);
      expect(intent).toMatchObject({ status: 'succeeded', amount_received: 1166, amount_capturable: 0 });

      // Every write was a conditional save on the version read: planned, captured, settled.
      const saves = paymentPuts(sessionId);
      expect(saves.map((s) => [s.ConditionExpression, unmarshall(s.ExpressionAttributeValues!)[':v'], unmarshall(s.Item!).status])).toEqual([
        ['version = :v', 1, 'settling'],
        ['version = :v', 2, 'settling'],
        ['version = :v', 3, 'settled'],
      ]);
      // The driver's carried small amounts were looked up (none).
      expect(dynamo.commandCalls(QueryCommand, { TableName: 'payments' }).map((c) => unmarshall(c.args[0].input.ExpressionAttributeValues!))).toContainEqual({ ':pk': `CARRY#${visa.driverId}`, ':c': 'EUR#' });

      const payment = paymentOf(sessionId)!;
      expect(payment).toMatchObject({ status: 'settled', version: 4, settlement: { plan: { captureMinor: 1166, outcome: 'captured' }, capturedMinor: 1166 } });
      const outcome = payment.settlement.outcome;

      const entries = publishedEntries();
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ EventBusName: 'voltledger', Source: 'voltledger.payments', DetailType: 'SessionPaymentSettled' });
      const detail = entries[0]!.Detail;
      expect(SessionPaymentSettled.envelope.parse(detail)).toEqual(detail);
      expect(detail).toEqual({
        metadata: { id: `SessionPaymentSettled:${sessionId}`, version: 1, occurredAt: outcome.settledAt, correlationId: sessionId },
        data: {
          sessionId,
          transactionId,
          chargePointId: 'CP-001',
          connectorId: 1,
          idTag: visa.idTag,
          siteId: 'berlin-mitte',
          driverId: visa.driverId,
          channel: 'app',
          outcome: 'captured',
          currency: 'EUR',
          sessionTotalMinor: 1166,
          carriedInMinor: 0,
          carriedInSessionIds: [],
          dueMinor: 1166,
          holdMinor: EXPECTED_HOLD_MINOR,
          capturedMinor: 1166,
          topUpMinor: 0,
          waivedMinor: 0,
          carriedOutMinor: 0,
          outstandingMinor: 0,
          holdPaymentIntentId: intent.id,
          settledAt: outcome.settledAt,
        },
      });
    });

    it('raises the hold (incremental authorization) and captures it whole when the session cost more than the hold', async () => {
      const transactionId = ++nextTransactionId;
      const sessionId = `sess_${transactionId}`;
      seedRunningSession(transactionId, visa.idTag);
      await handler(anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, visa.idTag)), context);
      eventBridge.resetHistory();

      // 50 kWh at 0.5831 EUR incl. VAT = 29.16 EUR, above the 25.66 EUR hold.
      await handler(
        anEventBridgeEvent(
          'SessionPriced',
          aSessionPricedDetail(transactionId, visa.idTag, { totalMinor: 2916, total_cost: { excl_vat: '24.50', incl_vat: '29.16' }, total_energy_cost: { excl_vat: '24.50', incl_vat: '29.16' }, total_energy: '50' }),
        ),
        context,
      );

      const payment = paymentOf(sessionId)!;
      const intent = await stripe.paymentIntents.retrieve(payment.hold.paymentIntentId);
      expect(intent).toMatchObject({ status: 'succeeded', amount: 2916, amount_received: 2916 });
      expect(payment.settlement).toMatchObject({ plan: { incrementToMinor: 2916, captureMinor: 2916 }, incremented: 'ok', capturedMinor: 2916 });
      const [settled] = publishedEntries();
      expect(settled!.DetailType).toBe('SessionPaymentSettled');
      expect(settled!.Detail.data).toMatchObject({ outcome: 'captured', dueMinor: 2916, holdMinor: 2916, capturedMinor: 2916, topUpMinor: 0, outstandingMinor: 0, holdPaymentIntentId: intent.id });
    });

    it('re-delivered, republishes the recorded outcome without capturing again', async () => {
      const transactionId = ++nextTransactionId;
      const sessionId = `sess_${transactionId}`;
      seedRunningSession(transactionId, visa.idTag);
      await handler(anEventBridgeEvent('SessionStarted', aSessionStartedDetail(transactionId, visa.idTag)), context);
      const priced = anEventBridgeEvent('SessionPriced', aSessionPricedDetail(transactionId, visa.idTag));
      await handler(priced, context);
      const settled = publishedEntries().find((e) => e.DetailType === 'SessionPaymentSettled')!;
      const stripeEvents = emulator.control.events().length;
      dynamo.resetHistory();
      eventBridge.resetHistory();

      await handler(priced, context);

      expect(dynamoWrites()).toHaveLength(0);
      expect(emulator.control.events()).toHaveLength(stripeEvents);
      expect(publishedEntries()).toEqual([settled]);
      expect((await stripe.paymentIntents.retrieve(paymentOf(sessionId)!.hold.paymentIntentId)).amount_received).toBe(1166);
    });
  });

  describe('a detail that breaks its contract', () => {
    const started = aSessionStartedDetail(9001, 'RFID-VISA');
    const priced = aSessionPricedDetail(9001, 'RFID-VISA');
    it.each<[string, string, unknown]>([
      ['SessionStarted without its envelope (the data alone)', 'SessionStarted', started.data],
      ['SessionStarted with a transactionId as a string', 'SessionStarted', aSessionStartedDetail(9001, 'RFID-VISA', { transactionId: '9001' })],
      ['SessionStarted with a field the contract does not have', 'SessionStarted', aSessionStartedDetail(9001, 'RFID-VISA', { amountMinor: 2566 })],
      ['SessionStarted without metadata', 'SessionStarted', { data: started.data }],
      ['SessionPriced with a lower-case currency', 'SessionPriced', aSessionPricedDetail(9001, 'RFID-VISA', { currency: 'eu' })],
      ['SessionPriced with a negative total', 'SessionPriced', aSessionPricedDetail(9001, 'RFID-VISA', { totalMinor: -1 })],
      ['SessionPriced without pricedAt', 'SessionPriced', { ...priced, data: { ...priced.data, pricedAt: undefined } }],
      ['SessionMeterValues with no samples', 'SessionMeterValues', { metadata: { id: 'SessionMeterValues:CP-001:m1', version: 1, occurredAt: STARTED_AT, correlationId: 'sess_9001' }, data: { sessionId: 'sess_9001', transactionId: 9001, chargePointId: 'CP-001', connectorId: 1, sampledAt: STARTED_AT, samples: 0 } }],
      ['a detail-type the rule does not route here', 'SessionCompleted', started],
      ['a null detail', 'SessionStarted', null],
    ])('throws on %s, so EventBridge retries and dead-letters it, and writes, publishes and charges nothing', async (_name, detailType, detail) => {
      const stripeEvents = emulator.control.events().length;

      await expect(handler(anEventBridgeEvent(detailType, detail), context)).rejects.toThrow();

      expect(dynamo.calls()).toHaveLength(0);
      expect(eventBridge.calls()).toHaveLength(0);
      expect(connections.calls()).toHaveLength(0);
      expect(emulator.control.events()).toHaveLength(stripeEvents);
    });
  });
});

describe('payments sweep handler (every minute: release unmatched reader authorizations)', () => {
  /** A card approved at the connector's simulated WisePOS E: a card_present manual-capture hold. */
  async function aReaderHold(amountMinor = 2566): Promise<{ readerId: string; paymentIntentId: string }> {
    const location = await stripe.terminal.locations.create({ display_name: 'Berlin Mitte', address: { line1: 'Invalidenstraße 1', city: 'Berlin', postal_code: '10115', country: 'DE' } });
    const reader = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: location.id, label: 'CP-001/1' });
    const intent = await stripe.paymentIntents.create({
      amount: amountMinor,
      currency: 'eur',
      allowed_payment_method_types: ['card_present'],
      capture_method: 'manual',
      payment_method_options: { card_present: { request_incremental_authorization_support: true } },
      metadata: { purpose: 'hold', readerId: reader.id, chargePointId: 'CP-001', connectorId: '1' },
    });
    await stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id });
    await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader.id, { type: 'card_present' });
    expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_capture');
    return { readerId: reader.id, paymentIntentId: intent.id };
  }

  /** The authorization item as putReaderAuthorization writes it (in the sparse `listings` GSI while pending). */
  function seedReaderAuthorization(hold: { readerId: string; paymentIntentId: string }, authorizedAt: Date, extra: Record<string, unknown> = {}) {
    const expiresAt = new Date(authorizedAt.getTime() + 180_000).toISOString();
    const auth = {
      paymentIntentId: hold.paymentIntentId,
      readerId: hold.readerId,
      chargePointId: 'CP-001',
      connectorId: 1,
      idTag: 'CARD-0123456789ABCDE',
      amountMinor: 2566,
      currency: 'EUR',
      incrementable: true,
      authorizedAt: authorizedAt.toISOString(),
      expiresAt,
      remoteStart: { messageId: 'b7c1e0f4-5d0e-4a41-9d43-3f3c1d0e9a11' },
      ...extra,
    };
    seed('payments', { pk: 'CONNECTOR#CP-001#1', sk: `READERAUTH#${auth.authorizedAt}#${auth.paymentIntentId}`, gsi1pk: 'READERAUTH#PENDING', gsi1sk: `${expiresAt}#${auth.paymentIntentId}`, ...auth });
    return auth;
  }

  it('cancels the hold of an expired unmatched authorization at Stripe and marks it cancelled; leaves open and just-claimed ones alone', async () => {
    const now = Date.now();
    const expired = await aReaderHold();
    const open = await aReaderHold();
    const claimed = await aReaderHold();
    const expiredAuth = seedReaderAuthorization(expired, new Date(now - 10 * 60_000));
    const openAuth = seedReaderAuthorization(open, new Date(now - 60_000)); // window closes in 2 minutes
    // Claimed by a session a moment ago; the GSI (eventually consistent) still lists it as pending.
    const claimedAuth = seedReaderAuthorization(claimed, new Date(now - 9 * 60_000), { claimedBySessionId: 'sess_777' });

    const result = await sweep(aScheduledEvent(), context);

    expect(result).toEqual({ released: 1 });
    // The GSI query for authorizations whose window closed before now.
    const [gsiQuery] = dynamo.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(gsiQuery).toMatchObject({ TableName: 'payments', IndexName: 'listings', KeyConditionExpression: 'gsi1pk = :p AND gsi1sk < :b' });
    expect(unmarshall(gsiQuery!.ExpressionAttributeValues!)[':p']).toBe('READERAUTH#PENDING');

    // The expired one: released at Stripe, marked cancelled and out of the pending index.
    const released = await stripe.paymentIntents.retrieve(expired.paymentIntentId);
    expect(released).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned', amount_capturable: 0 });
    const item = stored('payments', 'CONNECTOR#CP-001#1', `READERAUTH#${expiredAuth.authorizedAt}#${expired.paymentIntentId}`)!;
    expect(item.canceledAt).toEqual(expect.any(String));
    expect(item.gsi1pk).toBeUndefined();

    // The open one and the claimed one keep their holds.
    expect((await stripe.paymentIntents.retrieve(open.paymentIntentId)).status).toBe('requires_capture');
    expect((await stripe.paymentIntents.retrieve(claimed.paymentIntentId)).status).toBe('requires_capture');
    expect(stored('payments', 'CONNECTOR#CP-001#1', `READERAUTH#${openAuth.authorizedAt}#${open.paymentIntentId}`)).not.toHaveProperty('canceledAt');
    expect(stored('payments', 'CONNECTOR#CP-001#1', `READERAUTH#${claimedAuth.authorizedAt}#${claimed.paymentIntentId}`)).toMatchObject({ claimedBySessionId: 'sess_777' });
    expect(stored('payments', 'CONNECTOR#CP-001#1', `READERAUTH#${claimedAuth.authorizedAt}#${claimed.paymentIntentId}`)).not.toHaveProperty('canceledAt');

    // Conditional writes only, in the index's order (by expiry): a session claiming concurrently
    // wins; the expired one is closed to sessions, released at Stripe, then unlisted.
    const updates = dynamo.commandCalls(UpdateItemCommand).map((c) => c.args[0].input);
    expect(updates.map((u) => [unmarshall(u.Key!).sk, u.ConditionExpression])).toEqual([
      [`READERAUTH#${expiredAuth.authorizedAt}#${expired.paymentIntentId}`, 'attribute_exists(pk) AND attribute_not_exists(claimedBySessionId)'],
      [`READERAUTH#${expiredAuth.authorizedAt}#${expired.paymentIntentId}`, 'attribute_exists(canceledAt)'],
      [`READERAUTH#${claimedAuth.authorizedAt}#${claimed.paymentIntentId}`, 'attribute_exists(pk) AND attribute_not_exists(claimedBySessionId)'],
    ]);
    expect(eventBridge.calls()).toHaveLength(0);
  });

  // Found by this test and fixed: the authorization used to leave the pending index before Stripe
  // released the hold, so a failed cancel left the card authorized for days. Now it stays listed
  // (closed to sessions) until the release succeeded, and a later sweep retries it.
  it('releases the hold on a later sweep when Stripe failed to cancel it the first time', async () => {
    const expired = await aReaderHold();
    seedReaderAuthorization(expired, new Date(Date.now() - 10 * 60_000));
    emulator.control.failNext({ path: '/v1/payment_intents/*/cancel', method: 'POST', kind: 'api_error', count: 3 });

    await expect(sweep(aScheduledEvent(), context)).rejects.toThrow();
    expect((await stripe.paymentIntents.retrieve(expired.paymentIntentId)).status).toBe('requires_capture');

    // The next minute's sweep, Stripe healthy again.
    const result = await sweep(aScheduledEvent(), context);

    expect((await stripe.paymentIntents.retrieve(expired.paymentIntentId)).status).toBe('canceled');
    expect(result).toEqual({ released: 1 });
  });

  it('releases nothing when no authorization has expired', async () => {
    expect(await sweep(aScheduledEvent(), context)).toEqual({ released: 0 });
    expect(dynamoWrites()).toHaveLength(0);
  });
});
