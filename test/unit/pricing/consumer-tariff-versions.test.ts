import type { EventBridgeEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { OutgoingEvent } from '../../../events/contract.ts';
import { createPricingConsumer } from '../../../functions/pricing/consumer.ts';
import type {
  ConnectorStatusReport,
  PriceStore,
  PricingEventPort,
  SessionSample,
  SessionSource,
  SessionToPrice,
  StatusTimelineSource,
  StoredPrice,
  TariffVersionSource,
} from '../../../functions/pricing/domain/ports.ts';
import { fixedClock } from '../../../functions/shared/clock.ts';
import { silentLog } from '../../../functions/shared/log.ts';
import { aTariffJson } from './builders.ts';

/**
 * The pricing consumer's choice of tariff version (OCPI start_date_time / end_date_time,
 * docs/pricing.md) through in-memory implementations of pricing's ports: the snapshotted version
 * when it covers the session's start, else the newest earlier stored version that does (warning
 * TARIFF_EARLIER_VERSION, SessionPriced names it), else SessionPricingFailed with TARIFF_NOT_ACTIVE.
 * Versions stored after the start (higher numbers than the snapshot) are never read.
 */

const TRANSACTION_ID = 7;
const SESSION_ID = `sess_${TRANSACTION_ID}`;
/** The session starts 2026-11-23 10:00 Berlin (09:00 UTC), charges 5 kWh in 30 min (10 kW) and is unplugged at 09:30. */
const START = '2026-11-23T09:00:00.000Z';
const STOP = '2026-11-23T09:30:00.000Z';

/** Version `n` of tariff T-1: `price` EUR/kWh, no VAT (5 kWh cost 5 x price), within an optional validity window. */
function version(price: number, window: { start_date_time?: string; end_date_time?: string } = {}) {
  return JSON.stringify(aTariffJson({ elements: [{ price_components: [{ type: 'ENERGY', price, step_size: 1 }] }], ...window }));
}

class MemoryTariffs implements TariffVersionSource {
  readonly reads: number[] = [];
  constructor(private readonly versions: string[]) {}
  async get(tariffId: string, v: number) {
    this.reads.push(v);
    const tariffJson = tariffId === 'T-1' ? this.versions[v - 1] : undefined;
    return tariffJson === undefined ? undefined : { tariffId, version: v, tariffJson };
  }
}

class MemoryPrices implements PriceStore {
  price: StoredPrice | undefined;
  failure: { reason: string; failedAt: string } | undefined;
  readonly summaries: StoredPrice[] = [];
  async getPrice() {
    return this.price;
  }
  async recordPrice(_transactionId: number, price: StoredPrice) {
    const stored = this.price === undefined;
    this.price ??= price;
    this.summaries.push(this.price);
    return { ...this.price, stored };
  }
  async writePriceSummary(_transactionId: number, price: StoredPrice) {
    this.summaries.push(price);
  }
  async recordPricingFailure(_transactionId: number, reason: string, failedAt: string) {
    this.failure ??= { reason, failedAt };
    return this.failure;
  }
}

function aSession(snapshotVersion: number): SessionToPrice {
  return {
    sessionId: SESSION_ID,
    transactionId: TRANSACTION_ID,
    chargePointId: 'CP-1',
    connectorId: 1,
    idTag: 'TAG-1',
    startedAt: START,
    meterStartWh: 10_000,
    timeZone: 'Europe/Berlin',
    tariff: { tariffId: 'T-1', version: snapshotVersion },
    billingProfile: { kind: 'retail' },
    stoppedAt: STOP,
    meterStopWh: 15_000,
    stopReason: 'Local',
  };
}

const sample = (timestamp: string, wh: number): SessionSample => ({
  timestamp,
  sampledValue: [{ value: String(wh), unit: 'Wh', measurand: 'Energy.Active.Import.Register', context: 'Sample.Periodic' }],
});
const status = (timestamp: string, value: string): ConnectorStatusReport => ({ connectorId: 1, status: value, errorCode: 'NoError', timestamp });

/** The consumer over in-memory ports: a session snapshotted at `snapshotVersion`, tariff T-1 stored as `versions` (version 1 first). */
function aConsumer(snapshotVersion: number, versions: string[]) {
  const session = aSession(snapshotVersion);
  const sessions: SessionSource = {
    getSession: async (transactionId) => (transactionId === TRANSACTION_ID ? session : undefined),
    samples: async () => [sample('2026-11-23T09:15:00.000Z', 12_500), sample(STOP, 15_000)],
  };
  const statuses: StatusTimelineSource = {
    statusTimeline: async () => [status(START, 'Charging'), status(STOP, 'Available')],
    maxPowerKw: async () => 22,
  };
  const tariffs = new MemoryTariffs(versions);
  const prices = new MemoryPrices();
  /** What was published, as JSON: the contract's detail type, the envelope's metadata and data. */
  const published: Array<{ type: string; metadata: OutgoingEvent['detail']['metadata']; data: Record<string, any> }> = [];
  const events: PricingEventPort = {
    publish: async (outgoing) => {
      for (const event of outgoing) published.push({ type: event.contract.detailType, ...JSON.parse(JSON.stringify(event.detail)) });
    },
  };
  const consume = createPricingConsumer({ sessions, statuses, tariffs, prices, events, clock: fixedClock('2026-11-24T08:00:00Z'), log: silentLog });
  return { consume, tariffs, prices, published };
}

/** SessionCompleted for the session, as the bus delivers it. */
function completed(): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: 'e-1',
    'detail-type': 'SessionCompleted',
    source: 'voltledger.ocpp',
    account: '000000000000',
    time: STOP,
    region: 'eu-central-1',
    resources: [],
    detail: {
      metadata: { id: `SessionCompleted:${SESSION_ID}`, version: 1, occurredAt: STOP, correlationId: SESSION_ID },
      data: { sessionId: SESSION_ID, transactionId: TRANSACTION_ID, chargePointId: 'CP-1', connectorId: 1, stoppedAt: STOP, completedAt: STOP, completedBy: 'unplugged' },
    },
  };
}

const ENDED = { start_date_time: '2026-01-01T00:00:00Z', end_date_time: '2026-11-01T00:00:00Z' };
const NOVEMBER = { start_date_time: '2026-06-01T00:00:00Z', end_date_time: '2026-12-01T00:00:00Z' };
const FROM_DECEMBER = { start_date_time: '2026-12-01T00:00:00Z' };

describe('pricing consumer: which tariff version prices a session (start_date_time / end_date_time)', () => {
  it('prices with the snapshotted version when it covers the start, reading no other version', async () => {
    const { consume, tariffs, prices, published } = aConsumer(2, [version(0.4), version(0.5, NOVEMBER)]);

    await consume(completed());

    expect(tariffs.reads).toEqual([2]);
    expect(prices.price?.totalMinor).toBe(250); // 5 kWh x 0.50
    expect(prices.failure).toBeUndefined();
    expect(published.map((e) => e.type)).toEqual(['SessionPriced']);
    expect(published[0]!.data).toMatchObject({ tariff: { tariffId: 'T-1', version: 2 }, totalMinor: 250, total_energy: '5' });
    expect(published[0]!.data.warnings).not.toContain('TARIFF_EARLIER_VERSION');
  });

  it.each([
    ['starts exactly at start_date_time', { start_date_time: START }],
    ['ends just after the start', { end_date_time: '2026-11-23T09:00:01Z' }],
  ])('counts a window that %s as covering', async (_name, window) => {
    const { consume, tariffs, published } = aConsumer(1, [version(0.5, window)]);

    await consume(completed());

    expect(tariffs.reads).toEqual([1]);
    expect(published[0]).toMatchObject({ type: 'SessionPriced', data: { tariff: { tariffId: 'T-1', version: 1 }, totalMinor: 250 } });
  });

  describe('a snapshot that does not cover the start, with an earlier version that does', () => {
    // v1 always, v2 from June to December (covers), v3 from December (the snapshot: announced
    // before the session, effective after it), v4 stored after the start and covering it.
    const versions = [version(0.4), version(0.5, NOVEMBER), version(0.6, FROM_DECEMBER), version(0.7)];

    it('prices with the newest earlier covering version, warns TARIFF_EARLIER_VERSION and names that version', async () => {
      const { consume, tariffs, prices, published } = aConsumer(3, versions);

      await consume(completed());

      expect(tariffs.reads).toEqual([3, 2]);
      expect(prices.price?.totalMinor).toBe(250); // v2: 5 kWh x 0.50, neither v3's 0.60 nor v4's 0.70
      const stored = JSON.parse(prices.price!.priceJson);
      expect(stored.warnings).toContainEqual({
        code: 'TARIFF_EARLIER_VERSION',
        message: expect.stringMatching(/^version 3 of tariff T-1 does not cover the session \(tariff T-1 is active from 2026-12-01T00:00:00Z .*\): priced with version 2$/),
      });
      expect(published).toHaveLength(1);
      expect(published[0]).toMatchObject({
        type: 'SessionPriced',
        metadata: { id: `SessionPriced:${SESSION_ID}` },
        data: { tariff: { tariffId: 'T-1', version: 2 }, totalMinor: 250 },
      });
      expect(published[0]!.data.warnings).toContain('TARIFF_EARLIER_VERSION');
    });

    it('skips earlier versions that do not cover the start either', async () => {
      const { consume, tariffs, published } = aConsumer(3, [version(0.4), version(0.5, ENDED), version(0.6, FROM_DECEMBER), version(0.7)]);

      await consume(completed());

      expect(tariffs.reads).toEqual([3, 2, 1]);
      expect(published[0]).toMatchObject({ type: 'SessionPriced', data: { tariff: { tariffId: 'T-1', version: 1 }, totalMinor: 200 } });
    });

    it('republishes the same SessionPriced, naming the version used, on re-delivery', async () => {
      const { consume, tariffs, prices, published } = aConsumer(3, versions);
      await consume(completed());
      const storedBefore = prices.price;

      await consume(completed());

      expect(published).toHaveLength(2);
      expect(published[1]).toEqual(published[0]);
      expect(published[1]!.data.tariff).toEqual({ tariffId: 'T-1', version: 2 });
      expect(prices.price).toBe(storedBefore);
      expect(tariffs.reads).toEqual([3, 2]); // the re-delivery found the stored price and read no tariff
    });
  });

  describe('no stored version covers the start', () => {
    // v1 ended before the session, v2 (the snapshot) starts after it, v3 (stored after the start) covers it.
    const versions = [version(0.4, ENDED), version(0.6, FROM_DECEMBER), version(0.7)];

    it('publishes SessionPricingFailed with reason TARIFF_NOT_ACTIVE, records it on the session and stores no price', async () => {
      const { consume, tariffs, prices, published } = aConsumer(2, versions);

      await consume(completed());

      expect(tariffs.reads).toEqual([2, 1]);
      expect(prices.price).toBeUndefined();
      expect(prices.failure?.reason).toMatch(
        /^TARIFF_NOT_ACTIVE: tariff T-1 is active from 2026-12-01T00:00:00Z \(start_date_time\), the session started at 2026-11-23T09:00:00.000Z; no earlier stored version of tariff T-1 covers the session's start$/,
      );
      expect(published).toEqual([
        expect.objectContaining({
          type: 'SessionPricingFailed',
          metadata: expect.objectContaining({ id: `SessionPricingFailed:${SESSION_ID}` }),
          data: { sessionId: SESSION_ID, transactionId: TRANSACTION_ID, chargePointId: 'CP-1', reason: prices.failure!.reason, failedAt: prices.failure!.failedAt },
        }),
      ]);
    });

    it('publishes the same failure on re-delivery', async () => {
      const { consume, prices, published } = aConsumer(2, versions);
      await consume(completed());

      await consume(completed());

      expect(published).toHaveLength(2);
      expect(published[1]).toEqual(published[0]);
      expect(prices.price).toBeUndefined();
    });

    it.each([
      ['ended exactly at the start (end_date_time is exclusive)', { end_date_time: START }],
      ['starts a second after the start', { start_date_time: '2026-11-23T09:00:01Z' }],
    ])('fails with a snapshot whose window %s', async (_name, window) => {
      const { consume, prices, published } = aConsumer(1, [version(0.5, window)]);

      await consume(completed());

      expect(prices.price).toBeUndefined();
      expect(prices.failure?.reason).toMatch(/^TARIFF_NOT_ACTIVE: tariff T-1 is active (from|until) /);
      expect(published.map((e) => e.type)).toEqual(['SessionPricingFailed']);
    });
  });

  describe('how far back versions are searched (50 before the snapshot)', () => {
    /** `count` versions: the first covers the start, every later one starts in December. */
    const history = (count: number) => [version(0.4), ...Array.from({ length: count - 1 }, () => version(0.6, FROM_DECEMBER))];

    it('finds a covering version 50 before the snapshot', async () => {
      const { consume, tariffs, published } = aConsumer(51, history(51));

      await consume(completed());

      expect(tariffs.reads).toHaveLength(51);
      expect(published[0]).toMatchObject({ type: 'SessionPriced', data: { tariff: { tariffId: 'T-1', version: 1 }, totalMinor: 200 } });
    });

    it('does not look 51 versions back: the session fails pricing', async () => {
      const { consume, tariffs, published } = aConsumer(52, history(52));

      await consume(completed());

      expect(Math.min(...tariffs.reads)).toBe(2);
      expect(published[0]).toMatchObject({ type: 'SessionPricingFailed', data: { reason: expect.stringMatching(/^TARIFF_NOT_ACTIVE: /) } });
    });
  });
});
