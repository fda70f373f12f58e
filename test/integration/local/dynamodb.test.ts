import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTables, localTableNames, startLocalDynamo, waitForActiveTable, type LocalDynamo } from '../../../lib/local/dynamodb.ts';
import { TABLES } from '../../../lib/tables.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const dirs: string[] = [];
const running: Array<{ dynamo: LocalDynamo; client: DynamoDBClient }> = [];

async function start(dataDir?: string) {
  const dynamo = await startLocalDynamo({ dataDir, host: '127.0.0.1', port: 0 });
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
  const handle = { dynamo, client };
  running.push(handle);
  return handle;
}

async function stop(handle: { dynamo: LocalDynamo; client: DynamoDBClient }) {
  running.splice(running.indexOf(handle), 1);
  handle.client.destroy();
  await handle.dynamo.close();
}

afterAll(async () => {
  for (const handle of [...running]) await stop(handle);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('local DynamoDB (dynalite)', () => {
  it('names one table per table id, under a prefix', () => {
    expect(localTableNames()).toEqual({
      Registry: 'voltledger-local-registry',
      Entitlements: 'voltledger-local-entitlements',
      Tariffs: 'voltledger-local-tariffs',
      Sessions: 'voltledger-local-sessions',
      Payments: 'voltledger-local-payments',
      Fleet: 'voltledger-local-fleet',
      Roaming: 'voltledger-local-roaming',
      Ledger: 'voltledger-local-ledger',
    });
    expect(localTableNames('test-1').Sessions).toBe('test-1-sessions');
  });

  it('creates the tables of lib/tables.ts as the CDK stack defines them, idempotently', async () => {
    const handle = await start();
    const names = localTableNames('idem');

    await ensureTables(handle.client, names);
    await ensureTables(handle.client, names);

    const listed = (await handle.client.send(new ListTablesCommand({}))).TableNames ?? [];
    expect(listed.sort()).toEqual(Object.values(names).sort());
    const { Table } = await handle.client.send(new DescribeTableCommand({ TableName: names.Sessions }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    const indexes = (Table?.GlobalSecondaryIndexes ?? []).map((index) => ({
      name: index.IndexName,
      keys: index.KeySchema?.map((k) => `${k.AttributeName}:${k.KeyType}`),
      projection: index.Projection?.ProjectionType,
    }));
    expect(indexes.sort((a, b) => a.name!.localeCompare(b.name!))).toEqual(
      TABLES.Sessions.globalSecondaryIndexes
        .map((gsi) => ({ name: gsi.indexName, keys: [`${gsi.partitionKey}:HASH`, `${gsi.sortKey}:RANGE`], projection: 'ALL' }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
    expect(Table?.AttributeDefinitions?.every((a) => a.AttributeType === 'S')).toBe(true);
  });

  it('keeps data and indexes across a close and restart on the same data folder', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'voltledger-dynamo-'));
    dirs.push(dataDir);
    const names = localTableNames();

    const first = await start(dataDir);
    await ensureTables(first.client, names);
    await first.client.send(
      new PutItemCommand({
        TableName: names.Sessions,
        Item: { pk: { S: 'SESSION#1' }, sk: { S: 'SESSION' }, gsi1pk: { S: 'CP#CP-001' }, gsi1sk: { S: '2026-11-23T09:00:00Z' }, energyWh: { N: '12500' } },
      }),
    );
    await stop(first);

    const second = await start(dataDir);
    await ensureTables(second.client, names);
    const item = await second.client.send(new GetItemCommand({ TableName: names.Sessions, Key: { pk: { S: 'SESSION#1' }, sk: { S: 'SESSION' } } }));
    expect(item.Item?.energyWh).toEqual({ N: '12500' });
    const byChargePoint = await second.client.send(
      new QueryCommand({
        TableName: names.Sessions,
        IndexName: 'byChargePoint',
        KeyConditionExpression: 'gsi1pk = :cp',
        ExpressionAttributeValues: { ':cp': { S: 'CP#CP-001' } },
      }),
    );
    expect(byChargePoint.Items?.map((i) => i.pk?.S)).toEqual(['SESSION#1']);
    await stop(second);
  });

  it('forgets everything when in memory', async () => {
    const first = await start();
    await ensureTables(first.client, localTableNames('mem'));
    await stop(first);

    const second = await start();
    expect((await second.client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
  });

  it('rebuilds a table missing a GSI defined since it was created, keeping and indexing its items', async () => {
    const handle = await start();
    const names = localTableNames('old');
    // A Sessions table from before its indexes existed.
    await handle.client.send(
      new CreateTableCommand({
        TableName: names.Sessions,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    await waitForActiveTable(handle.client, names.Sessions);
    await handle.client.send(
      new PutItemCommand({ TableName: names.Sessions, Item: { pk: { S: 'kept' }, sk: { S: 'x' }, gsi1pk: { S: 'CP#CP-009' }, gsi1sk: { S: '2026-01-01' } } }),
    );

    await ensureTables(handle.client, names);

    const { Table } = await handle.client.send(new DescribeTableCommand({ TableName: names.Sessions }));
    expect((Table?.GlobalSecondaryIndexes ?? []).map((i) => i.IndexName).sort()).toEqual(['awaitingCompletion', 'byChargePoint', 'byCompletionDay']);
    const kept = await handle.client.send(new GetItemCommand({ TableName: names.Sessions, Key: { pk: { S: 'kept' }, sk: { S: 'x' } } }));
    expect(kept.Item).toBeDefined();
    const indexed = await handle.client.send(
      new QueryCommand({ TableName: names.Sessions, IndexName: 'byChargePoint', KeyConditionExpression: 'gsi1pk = :cp', ExpressionAttributeValues: { ':cp': { S: 'CP#CP-009' } } }),
    );
    expect(indexed.Items?.map((i) => i.pk?.S)).toEqual(['kept']);
  });
});

describe('local DynamoDB in its own process', () => {
  it('serves the tables from a child process, keeps data on disk across restarts, and goes when closed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'voltledger-dynalite-process-'));
    dirs.push(dataDir);
    const tables = localTableNames('proc');
    let dynamo = await startLocalDynamo({ dataDir, host: '127.0.0.1', port: 0, process: true });
    let client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
    await ensureTables(client, tables);
    await client.send(new PutItemCommand({ TableName: tables.Sessions, Item: { pk: { S: 'SESSION#1' }, sk: { S: 'SESSION' }, energyWh: { N: '1234' } } }));
    client.destroy();
    await dynamo.close();
    await expect(fetch(dynamo.endpoint)).rejects.toThrow();

    dynamo = await startLocalDynamo({ dataDir, host: '127.0.0.1', port: 0, process: true });
    client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
    const got = await client.send(new GetItemCommand({ TableName: tables.Sessions, Key: { pk: { S: 'SESSION#1' }, sk: { S: 'SESSION' } } }));
    expect(got.Item?.energyWh).toEqual({ N: '1234' });
    client.destroy();
    await dynamo.close();
  });
});
