import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoMembershipStore } from '../../../functions/entitlements/adapters/dynamo-memberships.ts';
import { DynamoFleetAccounts } from '../../../functions/fleet/adapters/dynamo-fleet-accounts.ts';
import type { FleetAccountRecord } from '../../../functions/fleet/domain/account.ts';
import { DynamoEntitlements } from '../../../functions/ocpp/adapters/dynamo-entitlements.ts';
import { DynamoRegistry } from '../../../functions/ocpp/adapters/dynamo-registry.ts';
import { DynamoSessionStore } from '../../../functions/ocpp/adapters/dynamo-sessions.ts';
import { DynamoTariffs } from '../../../functions/ocpp/adapters/dynamo-tariffs.ts';
import { sessionIdFor, type MeterSample, type SessionRecord } from '../../../functions/ocpp/domain/model.ts';
import { DynamoDriverReader } from '../../../functions/payments/adapters/dynamo-drivers.ts';
import { DynamoPriceStore } from '../../../functions/pricing/adapters/dynamo-prices.ts';
import { DynamoSessionSource } from '../../../functions/pricing/adapters/dynamo-sessions.ts';
import { DynamoStatusTimeline } from '../../../functions/pricing/adapters/dynamo-status-timeline.ts';
import { DynamoTariffVersions } from '../../../functions/pricing/adapters/dynamo-tariffs.ts';
import { DynamoEntitlementCache } from '../../../functions/roaming/adapters/dynamo-entitlement-cache.ts';
import { DynamoSessionPrices } from '../../../functions/roaming/adapters/dynamo-session-prices.ts';
import { DynamoTariffReader } from '../../../functions/roaming/adapters/dynamo-tariffs.ts';
import { marshall, unmarshall } from '../../../functions/shared/dynamo.ts';
import { startLocalTables, type LocalTables } from './local-tables.ts';

// Pricing, roaming, fleet and payments read (and some write) records kept in tables another context
// writes too. Each adapter here is checked against the items as the owning context's adapter writes
// them, or as they were written before the adapter existed (raw items in the old layout): no migration.

const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + minutes * 60_000).toISOString();

// Unique ids per test, so the tests share one set of tables without touching each other.
let next = 7000;
const unique = () => next++;

function aSession(transactionId: number): SessionRecord {
  return {
    sessionId: sessionIdFor(transactionId),
    transactionId,
    chargePointId: `CP-CTX-${transactionId}`,
    connectorId: 2,
    idTag: 'RFID-CTX',
    authorizationStatus: 'Accepted',
    startedAt: t(0),
    meterStartWh: 1000,
    reservationId: 7,
    timeZone: 'Europe/Berlin',
    siteId: 'site-ctx',
    tariff: { tariffId: 'T-CTX', version: 3 },
    billingProfile: { kind: 'retail' },
    state: 'started',
    flags: [],
    createdAt: t(0),
  };
}

const aSample = (timestamp: string, wh: number): MeterSample => ({
  timestamp,
  sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh', context: 'Sample.Periodic' }],
  source: 'MeterValues',
});

const aPrice = (totalMinor: number, pricedAt: string) => ({
  priceJson: JSON.stringify({ totalMinor, currency: 'EUR', periods: [] }),
  totalMinor,
  currency: 'EUR',
  pricedAt,
});

describe('context adapters over shared tables, on local DynamoDB', () => {
  let local: LocalTables;
  let ocppSessions: DynamoSessionStore;

  beforeAll(async () => {
    local = await startLocalTables('context-adapters');
    ocppSessions = new DynamoSessionStore(local.client, local.tables.Sessions);
  });

  afterAll(async () => {
    await local.close();
  });

  async function rawItem(table: string, key: { pk: string; sk: string }) {
    const result = await local.client.send(new GetItemCommand({ TableName: table, Key: marshall(key), ConsistentRead: true }));
    return result.Item ? unmarshall(result.Item) : undefined;
  }

  describe('pricing', () => {
    it('reads the session and its samples as the OCPP gateway stored them', async () => {
      // Prepare
      const transactionId = unique();
      const session = await ocppSessions.createSession(aSession(transactionId));
      await ocppSessions.addSamples(transactionId, [aSample(t(20), 3000), aSample(t(10), 2000)]);
      await ocppSessions.stopSession(session, { stoppedAt: t(30), stopRecordedAt: t(31), meterStopWh: 4000, energyWh: 3000, flags: [], stopReason: 'Local', stopIdTag: 'RFID-CTX' });
      const sessions = new DynamoSessionSource(local.client, local.tables.Sessions);

      // Act
      const read = await sessions.getSession(transactionId);
      const samples = await sessions.samples(transactionId);

      // Assess
      expect(read).toEqual({
        sessionId: sessionIdFor(transactionId),
        transactionId,
        chargePointId: `CP-CTX-${transactionId}`,
        connectorId: 2,
        idTag: 'RFID-CTX',
        startedAt: t(0),
        meterStartWh: 1000,
        reservationId: 7,
        timeZone: 'Europe/Berlin',
        siteId: 'site-ctx',
        tariff: { tariffId: 'T-CTX', version: 3 },
        billingProfile: { kind: 'retail' },
        stoppedAt: t(30),
        meterStopWh: 4000,
        stopReason: 'Local',
        stopIdTag: 'RFID-CTX',
      });
      expect(samples).toEqual((await ocppSessions.samples(transactionId)).map(({ timestamp, sampledValue }) => ({ timestamp, sampledValue })));
      expect(samples.map((s) => s.timestamp)).toEqual([t(10), t(20)]);
      expect(await sessions.getSession(unique())).toBeUndefined();
    });

    it("reads the connector's status timeline as the OCPP registry stored it: that connector, since the start, oldest first", async () => {
      // Prepare
      const registry = new DynamoRegistry(local.client, local.tables.Registry);
      const chargePointId = `CP-CTX-${unique()}`;
      const status = (connectorId: number, minutes: number, value: string) =>
        registry.recordStatus({ chargePointId, connectorId, status: value, errorCode: 'NoError', timestamp: t(minutes), receivedAt: t(minutes), info: 'x' });
      for (const [connectorId, minutes, value] of [[1, 20, 'Finishing'], [1, -5, 'Available'], [1, 0, 'Charging'], [2, 10, 'Faulted'], [1, 10, 'SuspendedEV']] as const) {
        await status(connectorId, minutes, value);
      }

      // Act
      const timeline = await new DynamoStatusTimeline(local.client, local.tables.Registry).statusTimeline(chargePointId, 1, t(0));

      // Assess
      expect(timeline).toEqual([
        { connectorId: 1, status: 'Charging', errorCode: 'NoError', timestamp: t(0) },
        { connectorId: 1, status: 'SuspendedEV', errorCode: 'NoError', timestamp: t(10) },
        { connectorId: 1, status: 'Finishing', errorCode: 'NoError', timestamp: t(20) },
      ]);
      expect(timeline).toEqual(
        (await registry.statusTimeline(chargePointId, 1, t(0))).map(({ connectorId, status: s, errorCode, timestamp }) => ({ connectorId, status: s, errorCode, timestamp })),
      );
    });

    it('reads a tariff version as stored, and none for a version never stored', async () => {
      const tariffs = new DynamoTariffs(local.client, local.tables.Tariffs);
      const tariffId = `T-CTX-${unique()}`;
      await tariffs.putNewVersion(tariffId, '{"v":1,"price":"0.10"}', t(0));
      await tariffs.putNewVersion(tariffId, '{"v":2,"price":"0.20"}', t(1));
      const versions = new DynamoTariffVersions(local.client, local.tables.Tariffs);

      expect(await versions.get(tariffId, 1)).toEqual({ tariffId, version: 1, tariffJson: '{"v":1,"price":"0.10"}' });
      expect(await versions.get(tariffId, 2)).toEqual({ tariffId, version: 2, tariffJson: '{"v":2,"price":"0.20"}' });
      expect(await versions.get(tariffId, 3)).toBeUndefined();
    });

    it('writes the PRICE item and the summary in the layout the OCPP adapter wrote them', async () => {
      // Prepare
      const transactionId = unique();
      await ocppSessions.createSession(aSession(transactionId));
      const prices = new DynamoPriceStore(local.client, local.tables.Sessions);
      const price = aPrice(117, t(60));

      // Act
      const recorded = await prices.recordPrice(transactionId, price);

      // Assess: the same item as before, and the summary the session view shows.
      expect(recorded).toEqual({ ...price, stored: true });
      expect(await rawItem(local.tables.Sessions, { pk: `SESSION#${transactionId}`, sk: 'PRICE' })).toEqual({ pk: `SESSION#${transactionId}`, sk: 'PRICE', ...price });
      expect(await ocppSessions.getSession(transactionId)).toMatchObject({ pricedAt: t(60), totalMinor: 117, currency: 'EUR', state: 'started' });
    });

    it('reads a PRICE item written in the old layout, and keeps it when asked to record another', async () => {
      // Prepare: the item exactly as DynamoSessionStore.recordPrice put it.
      const transactionId = unique();
      await ocppSessions.createSession(aSession(transactionId));
      const old = aPrice(321, t(60));
      await local.client.send(new PutItemCommand({ TableName: local.tables.Sessions, Item: marshall({ pk: `SESSION#${transactionId}`, sk: 'PRICE', ...old }) }));
      const prices = new DynamoPriceStore(local.client, local.tables.Sessions);

      // Act
      const read = await prices.getPrice(transactionId);
      const again = await prices.recordPrice(transactionId, aPrice(999, t(61)));

      // Assess
      expect(read).toEqual(old);
      expect(again).toEqual({ ...old, stored: false });
      expect(await ocppSessions.getSession(transactionId)).toMatchObject({ pricedAt: t(60), totalMinor: 321 });
    });

    it('records a pricing failure on the session item, where the OCPP session record carries it', async () => {
      const transactionId = unique();
      await ocppSessions.createSession(aSession(transactionId));
      const prices = new DynamoPriceStore(local.client, local.tables.Sessions);

      await prices.recordPricingFailure(transactionId, 'no tariff', t(60));

      expect((await ocppSessions.getSession(transactionId))?.pricingError).toEqual({ reason: 'no tariff', failedAt: t(60) });
      expect(await prices.recordPricingFailure(transactionId, 'other', t(61))).toEqual({ reason: 'no tariff', failedAt: t(60) });
    });
  });

  describe('roaming', () => {
    it('reads the price pricing stored, for the CDR', async () => {
      const transactionId = unique();
      await ocppSessions.createSession(aSession(transactionId));
      const price = aPrice(250, t(60));
      await new DynamoPriceStore(local.client, local.tables.Sessions).recordPrice(transactionId, price);
      const reader = new DynamoSessionPrices(local.client, local.tables.Sessions);

      expect(await reader.getPrice(transactionId)).toEqual({ priceJson: price.priceJson });
      expect(await reader.getPrice(unique())).toBeUndefined();
    });

    it('writes a token idTag where Authorize reads it, and reads back what the OCPP gateway wrote', async () => {
      // Prepare
      const cache = new DynamoEntitlementCache(local.client, local.tables.Entitlements);
      const gateway = new DynamoEntitlements(local.client, local.tables.Entitlements);
      const idTag = `tok-${unique()}`;
      const record = { idTag, status: 'Accepted' as const, parentIdTag: 'GROUP-1', billing: { kind: 'roaming', partnerId: 'P1' }, tariffId: 'T-ROAM', updatedAt: t(0) };

      // Act
      await cache.put(record);
      const marker = { transactionId: unique(), chargePointId: 'CP-1', since: t(1) };
      expect(await gateway.claimActiveSession(idTag, marker, t(0))).toBe(true);

      // Assess: keyed case-insensitively, as OCPP compares idTags.
      expect(await gateway.get(idTag.toUpperCase())).toEqual({ ...record, activeSession: marker, updatedAt: t(1) });
      expect(await rawItem(local.tables.Entitlements, { pk: `IDTAG#${idTag.toUpperCase()}`, sk: 'IDTAG' })).toMatchObject({ idTag, billing: record.billing });
      expect(await cache.get(idTag)).toEqual(await gateway.get(idTag));
      expect(await cache.get(`none-${unique()}`)).toBeUndefined();
    });

    it('reads the current tariff version, or the one asked for', async () => {
      const tariffs = new DynamoTariffs(local.client, local.tables.Tariffs);
      const tariffId = `T-ROAM-${unique()}`;
      await tariffs.putNewVersion(tariffId, '{"v":1}', t(0));
      await tariffs.putNewVersion(tariffId, '{"v":2}', t(1));
      const reader = new DynamoTariffReader(local.client, local.tables.Tariffs);

      expect(await reader.get(tariffId)).toEqual({ tariffId, version: 2, tariffJson: '{"v":2}' });
      expect(await reader.get(tariffId, 1)).toEqual({ tariffId, version: 1, tariffJson: '{"v":1}' });
      expect(await reader.get(`T-NONE-${unique()}`)).toBeUndefined();
    });
  });

  describe('fleet accounts', () => {
    const anAccount = (accountId: string): FleetAccountRecord => ({
      accountId,
      name: 'ACME Logistics GmbH',
      currency: 'EUR',
      billingContact: { name: 'Accounts payable', email: 'billing@acme.example' },
      plan: { kind: 'monthly', fixedFee: '199.00', includedEnergyKwh: '500', overagePerKwh: '0.30' },
      taxDetails: { vatPercent: '19', treatment: 'standard', taxId: 'DE123456789', country: 'DE' },
      invoiceCollection: { method: 'send_invoice', daysUntilDue: 14 },
      stripeCustomerId: 'cus_ACME',
      timeZone: 'Europe/Berlin',
      updatedAt: t(0),
    });

    it('reads and lists an account written in the old layout (the memberships store put it beside the idTags)', async () => {
      // Prepare: the item exactly as DynamoMembershipStore.putFleet put it.
      const account = anAccount(`ACME-${unique()}`);
      await local.client.send(new PutItemCommand({ TableName: local.tables.Entitlements, Item: marshall({ pk: `FLEET#${account.accountId}`, sk: 'FLEET', ...account }) }));
      // An idTag record beside it, which listing accounts must skip.
      await new DynamoEntitlements(local.client, local.tables.Entitlements).put({ idTag: `FLEET-TAG-${unique()}`, status: 'Accepted', updatedAt: t(0) });
      const accounts = new DynamoFleetAccounts(local.client, local.tables.Entitlements);

      // Act
      const read = await accounts.getFleet(account.accountId);
      const listed: FleetAccountRecord[] = [];
      for await (const a of accounts.listFleets()) listed.push(a);

      // Assess
      expect(read).toEqual(account);
      expect(listed.filter((a) => a.accountId === account.accountId)).toEqual([account]);
      expect(listed.some((a) => 'idTag' in a)).toBe(false);
    });

    it('writes an account in that same layout', async () => {
      const account = anAccount(`ACME-${unique()}`);
      await new DynamoFleetAccounts(local.client, local.tables.Entitlements).putFleet(account);

      expect(await rawItem(local.tables.Entitlements, { pk: `FLEET#${account.accountId}`, sk: 'FLEET' })).toEqual({ pk: `FLEET#${account.accountId}`, sk: 'FLEET', ...account });
    });

    it('has no account that was never written', async () => {
      expect(await new DynamoFleetAccounts(local.client, local.tables.Entitlements).getFleet(`NONE-${unique()}`)).toBeUndefined();
    });
  });

  describe('payments', () => {
    it("reads a driver's Stripe customer and saved card as entitlements stored the driver", async () => {
      // Prepare
      const memberships = new DynamoMembershipStore(local.client, local.tables.Entitlements);
      const drivers = new DynamoDriverReader(local.client, local.tables.Entitlements);
      const [withCard, withoutCard] = [`drv-${unique()}`, `drv-${unique()}`];
      await memberships.putDriver({ driverId: withCard, stripeCustomerId: 'cus_1', defaultPaymentMethodId: 'pm_1', idTags: ['RFID-1'], version: 1, updatedAt: t(0) }, undefined);
      await memberships.putDriver({ driverId: withoutCard, stripeCustomerId: 'cus_2', idTags: [], version: 1, updatedAt: t(0) }, undefined);

      // Act + Assess
      expect(await drivers.getDriver(withCard)).toEqual({ stripeCustomerId: 'cus_1', defaultPaymentMethodId: 'pm_1' });
      expect(await drivers.getDriver(withoutCard)).toEqual({ stripeCustomerId: 'cus_2' });
      expect(await drivers.getDriver(`drv-${unique()}`)).toBeUndefined();
    });
  });
});
