import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventPatternFor, SUBSCRIPTIONS } from '../../events/routing.ts';
import { createCentralSystem, type CentralSystem } from '../../functions/ocpp/central-system.ts';
import { createStores, type OcppStores } from '../../functions/ocpp/deps.ts';
import { hashPassword } from '../../functions/ocpp/domain/passwords.ts';
import { buildPricingConsumer, createPriceReader } from '../../functions/pricing/deps.ts';
import type { PriceReader } from '../../functions/pricing/domain/ports.ts';
import { parseBillingProfile, parseTariff, priceSession } from '../../functions/pricing/domain/index.ts';
import { sessionPricingInput } from '../../functions/pricing/session-input.ts';
import { fixedClock, type Clock } from '../../functions/shared/clock.ts';
import { ChargePointOfflineError } from '../../functions/shared/errors.ts';
import { EventBridgePublisher } from '../../functions/shared/event-publisher.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { unmarshall } from '../../functions/shared/dynamo.ts';
import { LocalEventBus, type BusEvent } from '../../lib/local/event-bus.ts';
import { DEMO, seedDemoData } from '../../lib/local/seed.ts';
import { startLocalTables, type LocalTables } from './dynamodb/local-tables.ts';
import { energySample } from '../support/stack.ts';

// startLocalStack builds its LocalEventBus without `chaos` and has no option to pass it through, so
// this test wires the same pieces the way lib/local/stack.ts does: dynalite, the stores, a bus routing
// with events/routing.ts (over HTTP, through the real EventBridge publisher), the central system and
// the pricing consumer, with a bus that delivers every event twice, in shuffled order.

const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + minutes * 60_000).toISOString();
const IDLE_LIMIT_SECONDS = 3600;

/** The server clock: a second passes at every reading, so each pricing attempt has its own `pricedAt`. */
function tickingClock(start: string): Clock & { advance(ms: number): void } {
  const clock = fixedClock(start);
  return {
    now: () => {
      clock.advance(1000);
      return clock.now();
    },
    advance: (ms) => clock.advance(ms),
  };
}

interface SessionSpec {
  chargePointId: string;
  connectorId: number;
  idTag: string;
  /** Minutes after 09:00 UTC. */
  start: number;
  /** How the session ends: the connector reports Available, or the idle sweep completes it. */
  end: 'unplugged' | 'idle-limit';
}

const SESSIONS: Record<string, SessionSpec> = {
  retail: { chargePointId: 'CP-001', connectorId: 1, idTag: 'DEMO-RETAIL', start: 0, end: 'unplugged' },
  member: { chargePointId: 'CP-002', connectorId: 1, idTag: 'demo-member', start: 5, end: 'unplugged' },
  fleet: { chargePointId: 'CP-003', connectorId: 1, idTag: 'DEMO-FLEET-1', start: 10, end: 'unplugged' },
  overnight: { chargePointId: 'CP-001', connectorId: 2, idTag: 'DEMO-RETAIL', start: 12 * 60, end: 'idle-limit' },
  noTariff: { chargePointId: 'CP-NO-TARIFF', connectorId: 1, idTag: 'DEMO-RETAIL', start: 20, end: 'unplugged' },
};

describe('pricing idempotency under at-least-once, unordered delivery', () => {
  let local: LocalTables;
  let stores: OcppStores;
  let prices: PriceReader;
  let bus: LocalEventBus;
  let system: CentralSystem;
  let consume: (event: BusEvent) => Promise<void>;
  const clock = tickingClock('2026-11-23T12:00:00Z');
  const published: BusEvent[] = [];
  const transactionIds: Record<string, number> = {};

  const eventsOf = (type: string, sessionKey: string) =>
    published.filter((e) => e['detail-type'] === type && (e.detail as any).data.transactionId === transactionIds[sessionKey]);

  async function storedPriceItems(transactionId: number) {
    const result = await local.client.send(
      new QueryCommand({
        TableName: local.tables.Sessions,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :price)',
        ExpressionAttributeValues: { ':pk': { S: `SESSION#${transactionId}` }, ':price': { S: 'PRICE' } },
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map((item) => unmarshall(item));
  }

  /** Sends one CALL through the central system as API Gateway's $default would; returns the CALLRESULT payload. */
  async function call(connectionId: string, action: string, payload: Record<string, unknown>): Promise<any> {
    const messageId = `${action}-${Math.random().toString(36).slice(2)}`;
    const answer = JSON.parse((await system.message(connectionId, JSON.stringify([2, messageId, action, payload])))!);
    if (answer[0] !== 3) throw new Error(`${action} answered ${JSON.stringify(answer)}`);
    return answer[2];
  }

  async function runSession(key: string, spec: SessionSpec): Promise<void> {
    const connectionId = `conn-${key}`;
    const decision = await system.connect({
      connectionId,
      chargePointId: spec.chargePointId,
      authorization: `Basic ${Buffer.from(`${spec.chargePointId}:${DEMO.password}`).toString('base64')}`,
      subprotocols: 'ocpp1.6',
      connectedAt: clock.now().toISOString(),
    });
    expect(decision.statusCode).toBe(200);
    const { connectorId } = spec;
    const at = (minutes: number) => t(spec.start + minutes);
    const status = (status: string, minutes: number) => call(connectionId, 'StatusNotification', { connectorId, errorCode: 'NoError', status, timestamp: at(minutes) });

    await status('Preparing', -1);
    const { transactionId } = await call(connectionId, 'StartTransaction', { connectorId, idTag: spec.idTag, meterStart: 10_000, timestamp: at(0) });
    transactionIds[key] = transactionId;
    await status('Charging', 0);
    await call(connectionId, 'MeterValues', { connectorId, transactionId, meterValue: [energySample(at(20), 13_000)] });
    await call(connectionId, 'MeterValues', { connectorId, transactionId, meterValue: [energySample(at(10), 11_500)] });
    await status('SuspendedEV', 25);
    await call(connectionId, 'StopTransaction', { transactionId, meterStop: 14_000, timestamp: at(30), reason: 'Local', transactionData: [energySample(at(30), 14_000)] });
    await status('Finishing', 30);
    if (spec.end === 'unplugged') await status('Available', 45);
  }

  beforeAll(async () => {
    local = await startLocalTables('pricing-idempotency');
    stores = createStores(local.client, local.tables);
    prices = createPriceReader(local.client, local.tables);
    await seedDemoData(stores, clock.now());
    await stores.registry.upsertChargePoint('CP-NO-TARIFF', { passwordHash: await hashPassword(DEMO.password), timeZone: 'Europe/Berlin' }, clock.now().toISOString());

    const handlers: Record<string, (event: BusEvent) => Promise<void>> = {};
    bus = new LocalEventBus({
      rules: SUBSCRIPTIONS.map((s) => ({ name: s.ruleName, eventPattern: eventPatternFor(s), targets: [s.consumer] })),
      targets: { pricing: (event) => handlers.pricing!(event) },
      chaos: { duplicateEveryDelivery: true, shuffle: true },
      baseDelayMs: 10,
      log: silentLog,
    });
    bus.subscribe((event) => published.push(event));
    const { endpoint } = await bus.listen(0, '127.0.0.1');
    const events = new EventBridgePublisher(
      new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
      'voltledger-local',
    );
    consume = buildPricingConsumer({ dynamo: local.client, tables: local.tables, events, clock, log: silentLog });
    handlers.pricing = consume;
    system = createCentralSystem({
      ...stores,
      events,
      connections: {
        send: async () => {
          throw new ChargePointOfflineError('no connections in this test');
        },
      },
      clock,
      config: { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: IDLE_LIMIT_SECONDS },
      log: silentLog,
    });

    // Concurrently, so the shuffled, duplicated deliveries of different sessions interleave.
    await Promise.all(Object.entries(SESSIONS).map(([key, spec]) => runSession(key, spec)));
    clock.advance(2 * IDLE_LIMIT_SECONDS * 1000);
    expect(await system.completeIdleSessions()).toBe(1);
    await bus.drain();
  });

  afterAll(async () => {
    await bus?.close();
    await local?.close();
  });

  const priced = ['retail', 'member', 'fleet', 'overnight'];

  describe('every completed session with a tariff', () => {
    it('was delivered to pricing more than once, and nothing was dead-lettered', () => {
      expect(bus.deadLetters).toEqual([]);
      for (const key of Object.keys(SESSIONS)) expect(eventsOf('SessionCompleted', key)).toHaveLength(1);
      // Each SessionCompleted went to the pricing consumer twice; each delivery published its answer.
      for (const key of priced) expect(eventsOf('SessionPriced', key).length).toBeGreaterThanOrEqual(2);
    });

    it.each(priced)('%s: has exactly one stored price', async (key) => {
      const items = await storedPriceItems(transactionIds[key]!);
      expect(items).toHaveLength(1);
      const session = await stores.sessions.getSession(transactionIds[key]!);
      expect(session).toMatchObject({ state: 'completed', completedBy: SESSIONS[key]!.end, totalMinor: items[0]!.totalMinor, pricedAt: items[0]!.pricedAt });
    });

    it.each(priced)('%s: every SessionPriced carries the same event id and the stored figures', async (key) => {
      const stored = (await prices.getPrice(transactionIds[key]!))!;
      const storedPrice = JSON.parse(stored.priceJson);
      const details = eventsOf('SessionPriced', key).map((e) => e.detail as any);

      expect(new Set(details.map((d) => d.metadata.id))).toEqual(new Set([`SessionPriced:sess_${transactionIds[key]}`]));
      expect(new Set(details.map((d) => d.data.totalMinor))).toEqual(new Set([storedPrice.totalMinor]));
      expect(new Set(details.map((d) => d.data.pricedAt))).toEqual(new Set([stored.pricedAt]));
      // Not only the same id: the same event, so a consumer deduping on the id loses nothing.
      for (const detail of details) expect(detail).toEqual(details[0]);
      expect(storedPrice.totalMinor).toBeGreaterThan(0);
    });

    it.each(priced)('%s: the stored price is priceSession on the stored inputs', async (key) => {
      // Prepare: everything the consumer reads, read back from the store.
      const session = (await stores.sessions.getSession(transactionIds[key]!))!;
      const tariff = (await stores.tariffs.get(session.tariff!.tariffId, session.tariff!.version))!;
      const [samples, statusTimeline, chargePoint] = await Promise.all([
        stores.sessions.samples(session.transactionId),
        stores.registry.statusTimeline(session.chargePointId, session.connectorId, session.startedAt),
        stores.registry.getChargePoint(session.chargePointId),
      ]);

      // Act
      const expected = priceSession(
        sessionPricingInput({
          session,
          samples,
          statusTimeline,
          tariff: parseTariff(JSON.parse(tariff.tariffJson)),
          billingProfile: session.billingProfile ? parseBillingProfile(session.billingProfile) : undefined,
          completedAt: session.completedAt!,
          completedBy: session.completedBy!,
          // The charge point's rated power, the meter plausibility bound the consumer reads too (docs/meters.md).
          maxPowerKw: chargePoint?.maxPowerKw,
        }),
      );

      // Assess
      expect(samples).toHaveLength(3);
      expect(JSON.parse((await prices.getPrice(session.transactionId))!.priceJson)).toEqual(JSON.parse(JSON.stringify(expected)));
    });
  });

  describe('a SessionCompleted re-delivered by hand', () => {
    it('publishes SessionPriced again under the same id with the same figures, and changes nothing stored', async () => {
      // Prepare
      const transactionId = transactionIds.retail!;
      const [completed] = eventsOf('SessionCompleted', 'retail');
      const [firstPriced] = eventsOf('SessionPriced', 'retail');
      const before = { items: await storedPriceItems(transactionId), session: await stores.sessions.getSession(transactionId) };
      const publishedBefore = published.length;

      // Act
      await consume(completed!);
      await bus.drain();

      // Assess
      const republished = published.slice(publishedBefore);
      expect(republished.map((e) => e['detail-type'])).toEqual(['SessionPriced']);
      expect(republished[0]!.detail).toEqual(firstPriced!.detail);
      expect(await storedPriceItems(transactionId)).toEqual(before.items);
      expect(await stores.sessions.getSession(transactionId)).toEqual(before.session);
    });
  });

  describe('a session that started without a tariff', () => {
    it('gets SessionPricingFailed and no price, never a zero price', async () => {
      const transactionId = transactionIds.noTariff!;
      const session = await stores.sessions.getSession(transactionId);

      expect(session).toMatchObject({ state: 'completed', tariff: null, flags: ['no-tariff'] });
      expect(session?.totalMinor).toBeUndefined();
      expect(session?.pricingError?.reason).toMatch(/no tariff/);
      expect(await storedPriceItems(transactionId)).toEqual([]);
      expect(eventsOf('SessionPriced', 'noTariff')).toEqual([]);
      const failed = eventsOf('SessionPricingFailed', 'noTariff');
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(new Set(failed.map((e) => (e.detail as any).metadata.id))).toEqual(new Set([`SessionPricingFailed:sess_${transactionId}`]));
    });
  });
});
