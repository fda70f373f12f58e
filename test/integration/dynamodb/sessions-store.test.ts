import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSessionStore } from '../../../functions/ocpp/adapters/dynamo-sessions.ts';
import { DynamoPriceStore } from '../../../functions/pricing/adapters/dynamo-prices.ts';
import { sessionIdFor, type MeterSample, type SessionRecord } from '../../../functions/ocpp/domain/model.ts';
import type { SessionPort, StartKey } from '../../../functions/ocpp/domain/ports.ts';
import { marshall, unmarshall } from '../../../functions/shared/dynamo.ts';
import { startLocalTables, type LocalTables } from './local-tables.ts';

type Stop = Parameters<SessionPort['stopSession']>[1];

const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + minutes * 60_000).toISOString();

// Each test takes its own transactionIds so the tests share one table without touching each other.
let nextTransactionId = 9000;
const aTransactionId = () => nextTransactionId++;

function aSession(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const transactionId = overrides.transactionId ?? aTransactionId();
  return {
    sessionId: sessionIdFor(transactionId),
    transactionId,
    chargePointId: 'CP-STORE',
    connectorId: 1,
    idTag: 'RFID-1',
    authorizationStatus: 'Accepted',
    startedAt: t(0),
    meterStartWh: 1000,
    timeZone: 'Europe/Berlin',
    tariff: { tariffId: 'T-1', version: 1 },
    billingProfile: { kind: 'retail' },
    state: 'started',
    flags: [],
    createdAt: t(0),
    ...overrides,
  };
}

function aStop(overrides: Partial<Stop> = {}): Stop {
  return { stoppedAt: t(30), stopRecordedAt: t(31), meterStopWh: 5000, energyWh: 4000, flags: [], ...overrides };
}

function aSample(timestamp: string, wh: number, source: MeterSample['source'] = 'MeterValues'): MeterSample {
  return {
    timestamp,
    sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh', context: 'Sample.Periodic' }],
    source,
  };
}

function aStartKey(overrides: Partial<StartKey> = {}): StartKey {
  return { chargePointId: 'CP-STORE', connectorId: 1, idTag: 'RFID-1', timestamp: t(aTransactionId()), ...overrides };
}

describe('DynamoSessionStore on local DynamoDB', () => {
  let local: LocalTables;
  let store: DynamoSessionStore;
  // The price beside the session is pricing's record (functions/pricing/adapters/dynamo-prices.ts).
  let prices: DynamoPriceStore;

  beforeAll(async () => {
    local = await startLocalTables('sessions-store');
    store = new DynamoSessionStore(local.client, local.tables.Sessions);
    prices = new DynamoPriceStore(local.client, local.tables.Sessions);
  });

  afterAll(async () => {
    await local.close();
  });

  /** Transaction ids the awaitingCompletion index holds right now, read from the index itself. */
  async function indexedTransactionIds(): Promise<number[]> {
    const page = await local.client.send(new ScanCommand({ TableName: local.tables.Sessions, IndexName: 'awaitingCompletion' }));
    return (page.Items ?? []).map((item) => unmarshall(item).transactionId as number);
  }

  describe('transactionId counter', () => {
    it('gives 50 concurrent allocations 50 distinct, consecutive ids', async () => {
      // Act
      const ids = await Promise.all(Array.from({ length: 50 }, () => store.allocateTransactionId()));

      // Assess
      const sorted = [...ids].sort((a, b) => a - b);
      expect(new Set(ids).size).toBe(50);
      expect(sorted).toEqual(Array.from({ length: 50 }, (_, i) => sorted[0]! + i));
      expect(await store.allocateTransactionId()).toBe(sorted[49]! + 1);
    });
  });

  describe('start idempotency', () => {
    it('answers 20 concurrent claims of one start key with the same winner, one of the candidates', async () => {
      // Prepare
      const key = aStartKey();
      const candidates = Array.from({ length: 20 }, (_, i) => 500 + i);

      // Act
      const winners = await Promise.all(candidates.map((candidate) => store.claimStart(key, candidate)));

      // Assess
      expect(new Set(winners).size).toBe(1);
      expect(candidates).toContain(winners[0]);
      expect(await store.findStart(key)).toBe(winners[0]);
    });

    it('keys starts by idTag case-insensitively, as OCPP compares CiString20', async () => {
      const key = aStartKey({ idTag: 'rfid-lower' });
      const winner = await store.claimStart(key, 700);
      expect(await store.claimStart({ ...key, idTag: 'RFID-LOWER' }, 701)).toBe(winner);
    });

    it('does not find a start key that was never claimed', async () => {
      expect(await store.findStart(aStartKey())).toBeUndefined();
    });

    it('keeps the first session when it is created twice, and returns it to the second writer', async () => {
      // Prepare
      const first = aSession({ meterStartWh: 100 });
      const second = { ...first, meterStartWh: 999, idTag: 'RFID-OTHER' };

      // Act
      const created = await store.createSession(first);
      const again = await store.createSession(second);

      // Assess
      expect(created).toEqual(first);
      expect(again).toEqual(first);
      expect(await store.getSession(first.transactionId)).toEqual(first);
    });
  });

  describe('stop and completion', () => {
    it('lets exactly one of 10 concurrent stops win, and stores that one', async () => {
      // Prepare
      const session = await store.createSession(aSession());
      const stops = Array.from({ length: 10 }, (_, i) => aStop({ meterStopWh: 2000 + i, energyWh: 1000 + i, stopReason: `Reason${i}` }));

      // Act
      const results = await Promise.all(stops.map((stop) => store.stopSession(session, stop)));

      // Assess
      const changed = results.filter((r) => r.changed);
      expect(changed).toHaveLength(1);
      const winner = stops[results.indexOf(changed[0]!)]!;
      const stored = await store.getSession(session.transactionId);
      expect(stored).toMatchObject({ state: 'stopped', meterStopWh: winner.meterStopWh, energyWh: winner.energyWh, stopReason: winner.stopReason });
      // Every loser is answered with the stored stop, not its own.
      for (const result of results) expect(result.session).toEqual(stored);
    });

    it('appends the stop flags to the session flags once', async () => {
      const session = await store.createSession(aSession({ flags: ['no-tariff'] }));
      await store.stopSession(session, aStop({ flags: ['meter-stop-below-start'] }));
      await store.stopSession(session, aStop({ flags: ['meter-stop-below-start'] }));
      expect((await store.getSession(session.transactionId))?.flags).toEqual(['no-tariff', 'meter-stop-below-start']);
    });

    it('changes nothing when a stop arrives after completion', async () => {
      // Prepare
      const session = await store.createSession(aSession());
      await store.stopSession(session, aStop({ meterStopWh: 3000, energyWh: 2000 }));
      await store.completeSession(session.transactionId, t(40), 'unplugged');
      const before = await store.getSession(session.transactionId);

      // Act
      const late = await store.stopSession(session, aStop({ meterStopWh: 9999, energyWh: 8999, stoppedAt: t(50) }));

      // Assess
      expect(late.changed).toBe(false);
      expect(late.session).toEqual(before);
      expect(await store.getSession(session.transactionId)).toEqual(before);
      expect(before).toMatchObject({ state: 'completed', meterStopWh: 3000, completedAt: t(40), completedBy: 'unplugged' });
    });

    it('completes a stopped session once: true, then false, and the first completion stands', async () => {
      const session = await store.createSession(aSession());
      await store.stopSession(session, aStop());

      expect(await store.completeSession(session.transactionId, t(40), 'unplugged')).toBe(true);
      expect(await store.completeSession(session.transactionId, t(300), 'idle-limit')).toBe(false);

      expect(await store.getSession(session.transactionId)).toMatchObject({ state: 'completed', completedAt: t(40), completedBy: 'unplugged' });
    });

    it('does not complete a session that was never stopped', async () => {
      const session = await store.createSession(aSession());
      expect(await store.completeSession(session.transactionId, t(40), 'unplugged')).toBe(false);
      expect((await store.getSession(session.transactionId))?.state).toBe('started');
    });

    it('keeps a session in the sparse awaitingCompletion index while it is started or stopped, and out once completed', async () => {
      // The index holds every session not yet completed (docs/sessions.md, "Storage"): a started
      // session under OPEN#<chargePoint>, a stopped one under AWAIT#<chargePoint>#<connector>.
      // Prepare: a connector of its own, so the queries see only this session.
      const session = await store.createSession(aSession({ chargePointId: 'CP-AWAIT', connectorId: 2 }));
      const mine = (sessions: SessionRecord[]) => sessions.map((s) => s.transactionId).filter((id) => id === session.transactionId);
      const indexed = async () => ({
        open: mine(await store.openSessions('CP-AWAIT', 2)),
        openScan: mine(await store.openSessionsCreatedBefore(t(10_000))),
        query: mine(await store.awaitingCompletion('CP-AWAIT', 2)),
        scan: mine(await store.awaitingCompletionBefore(t(10_000))),
        index: (await indexedTransactionIds()).filter((id) => id === session.transactionId),
      });
      const id = [session.transactionId];
      const started = { open: id, openScan: id, query: [], scan: [], index: id };
      const stopped = { open: [], openScan: [], query: id, scan: id, index: id };
      const completed = { open: [], openScan: [], query: [], scan: [], index: [] };

      // Act + Assess: started, stopped, completed.
      expect(await indexed()).toEqual(started);
      await store.stopSession(session, aStop({ stopRecordedAt: t(31) }));
      expect(await indexed()).toEqual(stopped);
      await store.completeSession(session.transactionId, t(40), 'unplugged');
      expect(await indexed()).toEqual(completed);
    });

    it.each([
      ['before the cutoff', t(31), t(32), true],
      ['at the cutoff', t(31), t(31), true],
      ['after the cutoff', t(31), t(30), false],
    ])('finds a stop recorded %s for the idle sweep', async (_name, recordedAt, cutoff, found) => {
      const session = await store.createSession(aSession({ chargePointId: 'CP-SWEEP' }));
      await store.stopSession(session, aStop({ stopRecordedAt: recordedAt }));

      const ids = (await store.awaitingCompletionBefore(cutoff)).map((s) => s.transactionId);

      expect(ids.includes(session.transactionId)).toBe(found);
      await store.completeSession(session.transactionId, t(40), 'unplugged');
    });
  });

  describe('meter samples', () => {
    it('returns samples written out of order sorted by timestamp', async () => {
      const transactionId = aTransactionId();
      await store.addSamples(transactionId, [aSample(t(10), 1800)]);
      await store.addSamples(transactionId, [aSample(t(2), 1200), aSample(t(20), 2600)]);
      await store.addSamples(transactionId, [aSample(t(5), 1500)]);

      expect((await store.samples(transactionId)).map((s) => s.timestamp)).toEqual([t(2), t(5), t(10), t(20)]);
    });

    it.each<[string, MeterSample[][], number]>([
      ['the same sample in two writes', [[aSample(t(1), 1100)], [aSample(t(1), 1100)]], 1],
      ['the same sample twice in one write', [[aSample(t(1), 1100), aSample(t(1), 1100)]], 1],
      ['the same reading from MeterValues and from StopTransaction', [[aSample(t(1), 1100)], [aSample(t(1), 1100, 'StopTransaction')]], 1],
      ['different content at the same timestamp', [[aSample(t(1), 1100)], [aSample(t(1), 1111)]], 2],
    ])('stores %s as %i item(s)', async (_name, writes, expected) => {
      const transactionId = aTransactionId();
      for (const samples of writes) await store.addSamples(transactionId, samples);

      expect(await store.samples(transactionId)).toHaveLength(expected);
    });

    it('stores every sample of a write larger than one BatchWriteItem (25 items)', async () => {
      // Prepare: 61 samples, shuffled, so three batches each carry timestamps from all over.
      const transactionId = aTransactionId();
      const samples = Array.from({ length: 61 }, (_, i) => aSample(t(i), 1000 + 10 * i));
      const shuffled = samples.map((_, i) => samples[(i * 17) % samples.length]!);

      // Act
      await store.addSamples(transactionId, shuffled);

      // Assess
      expect(await store.samples(transactionId)).toEqual(samples);
    });

    it('keeps the samples of one session apart from another', async () => {
      const [a, b] = [aTransactionId(), aTransactionId()];
      await store.addSamples(a, [aSample(t(1), 1)]);
      await store.addSamples(b, [aSample(t(1), 2), aSample(t(2), 3)]);
      expect(await store.samples(a)).toHaveLength(1);
      expect(await store.samples(b)).toHaveLength(2);
    });
  });

  describe('price', () => {
    const aPrice = (totalMinor: number, pricedAt: string) => ({
      priceJson: JSON.stringify({ totalMinor, currency: 'EUR', lines: [{ kind: 'ENERGY', amountMinor: totalMinor }] }),
      totalMinor,
      currency: 'EUR',
      pricedAt,
    });

    it('stores the first price; a second returns the first with stored false and changes nothing', async () => {
      // Prepare
      const session = await store.createSession(aSession());
      const first = aPrice(117, t(60));

      // Act
      const stored = await prices.recordPrice(session.transactionId, first);
      const again = await prices.recordPrice(session.transactionId, aPrice(999, t(61)));

      // Assess
      expect(stored).toEqual({ ...first, stored: true });
      expect(again).toEqual({ ...first, stored: false });
      expect(await prices.getPrice(session.transactionId)).toEqual(first);
      expect(await store.getSession(session.transactionId)).toMatchObject({ pricedAt: t(60), totalMinor: 117, currency: 'EUR' });
    });

    it('stores one price when 10 deliveries record theirs at once, and answers each with it', async () => {
      const session = await store.createSession(aSession());

      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => prices.recordPrice(session.transactionId, aPrice(100 + i, t(60 + i)))));

      expect(results.filter((r) => r.stored)).toHaveLength(1);
      const stored = await prices.getPrice(session.transactionId);
      for (const { stored: _stored, ...result } of results) expect(result).toEqual(stored);
      expect((await store.getSession(session.transactionId))?.totalMinor).toBe(JSON.parse(stored!.priceJson).totalMinor);
    });

    it('completes the session summary on a retry after an attempt stored the price and stopped', async () => {
      // Prepare: the PRICE item of an attempt that failed before writing the summary.
      const session = await store.createSession(aSession());
      const first = aPrice(321, t(60));
      await local.client.send(
        new PutItemCommand({ TableName: local.tables.Sessions, Item: marshall({ pk: `SESSION#${session.transactionId}`, sk: 'PRICE', ...first }) }),
      );
      expect((await store.getSession(session.transactionId))?.totalMinor).toBeUndefined();

      // Act
      const retry = await prices.recordPrice(session.transactionId, aPrice(999, t(61)));

      // Assess
      expect(retry).toEqual({ ...first, stored: false });
      expect(await store.getSession(session.transactionId)).toMatchObject({ pricedAt: t(60), totalMinor: 321, currency: 'EUR' });
    });

    it('never creates a session by pricing or failing an unknown transaction', async () => {
      const transactionId = aTransactionId();
      await expect(prices.recordPrice(transactionId, aPrice(1, t(60)))).rejects.toThrow();
      await expect(prices.recordPricingFailure(transactionId, 'no tariff', t(60))).rejects.toThrow();
      expect(await store.getSession(transactionId)).toBeUndefined();
    });

    it('records a pricing failure once and answers every later attempt with the first one', async () => {
      const session = await store.createSession(aSession());
      expect(await prices.recordPricingFailure(session.transactionId, 'no tariff', t(60))).toEqual({ reason: 'no tariff', failedAt: t(60) });
      expect(await prices.recordPricingFailure(session.transactionId, 'no tariff', t(61))).toEqual({ reason: 'no tariff', failedAt: t(60) });
      expect((await store.getSession(session.transactionId))?.pricingError).toEqual({ reason: 'no tariff', failedAt: t(60) });
    });

    it('has no price for a session never priced', async () => {
      const session = await store.createSession(aSession());
      expect(await prices.getPrice(session.transactionId)).toBeUndefined();
      expect((await store.getSession(session.transactionId))?.totalMinor).toBeUndefined();
    });
  });
});
