import { fork } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  ScanCommand,
  type AttributeValue,
  type WriteRequest,
  DescribeTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
  ResourceInUseException,
  type AttributeDefinition,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableDefinition, type TableId, type TableNames } from '../tables.ts';

/** dynalite's factory (the package ships no types): an http.Server whose close() also closes the store. */
type Dynalite = (options: { path?: string; createTableMs?: number; deleteTableMs?: number; updateTableMs?: number }) => Server;
const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite;

/** A running dynalite. */
export interface LocalDynamo {
  /** Give this to the DynamoDB client as `endpoint` (or set AWS_ENDPOINT_URL_DYNAMODB). */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts dynalite, DynamoDB's API on LevelDB: in memory, or on disk under `${dataDir}/dynamodb` so
 * data survives restarts. Table creation, deletion and updates take effect at once (no CREATING
 * wait). dynalite has no TTL expiry, streams or transactions: records with a TTL attribute simply
 * stay until deleted, so local code must not rely on expiry having happened.
 */
export async function startLocalDynamo(opts: { dataDir?: string; port?: number; host?: string; process?: boolean } = {}): Promise<LocalDynamo> {
  let path: string | undefined;
  if (opts.dataDir) {
    path = join(opts.dataDir, 'dynamodb');
    mkdirSync(path, { recursive: true });
  }
  if (opts.process) return startDynaliteProcess(opts.host ?? '127.0.0.1', opts.port ?? 0, path);
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${hostPart}:${address.port}`,
    close() {
      // Keep-alive sockets of SDK clients would otherwise hold the server open until they time out.
      server.closeIdleConnections?.();
      closing ??= new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      return closing;
    },
  };
}

/**
 * dynalite in a child process (lib/local/dynalite-process.mjs), as DynamoDB is a service of its
 * own: the stack's event loop no longer does the store's work, so on two cores the two share the
 * load. The child exits when this process goes (IPC disconnect), even on SIGKILL.
 */
async function startDynaliteProcess(host: string, port: number, path: string | undefined): Promise<LocalDynamo> {
  const child = fork(fileURLToPath(new URL('./dynalite-process.mjs', import.meta.url)), [host, String(port), path ?? ''], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const actualPort = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`dynalite exited (${code}) before it listened`)));
  });
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${actualPort}`,
    close() {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited;
        }
      })();
      return closing;
    },
  };
}

/** Physical table names for the local stack: `${prefix}-registry`, `${prefix}-sessions`, ... */
export function localTableNames(prefix = 'voltledger-local'): TableNames {
  return Object.fromEntries((Object.keys(TABLES) as TableId[]).map((id) => [id, `${prefix}-${id.toLowerCase()}`])) as TableNames;
}

function gsiDefinition(index: TableDefinition['globalSecondaryIndexes'][number]): GlobalSecondaryIndex {
  return {
    IndexName: index.indexName,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'ALL' },
  };
}

function attributeDefinitions(definition: TableDefinition): AttributeDefinition[] {
  const names = new Set(['pk', 'sk']);
  for (const index of definition.globalSecondaryIndexes) {
    names.add(index.partitionKey);
    names.add(index.sortKey);
  }
  return [...names].map((name) => ({ AttributeName: name, AttributeType: 'S' }));
}

/**
 * Waits until a table is ACTIVE. dynalite activates a new table on a timer even with
 * createTableMs 0, so on a busy machine a write right after CreateTable can miss the table.
 */
export async function waitForActiveTable(client: DynamoDBClient, tableName: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs; // elapsed time, not business time
  for (;;) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
    }
    if (performance.now() > deadline) throw new Error(`table ${tableName} did not become ACTIVE within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function createTable(client: DynamoDBClient, tableName: string, definition: TableDefinition): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attributeDefinitions(definition),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      ...(definition.globalSecondaryIndexes.length ? { GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map(gsiDefinition) } : {}),
    }),
  );
  await waitForActiveTable(client, tableName);
}

/**
 * Adds GSIs to an existing local table. dynalite accepts UpdateTable's GlobalSecondaryIndexUpdates
 * but ignores Create, so the table is rebuilt: read every item, delete, create with the indexes,
 * write the items back (which indexes them). A crash in between loses that table's local data.
 */
async function rebuildWithIndexes(client: DynamoDBClient, tableName: string, definition: TableDefinition): Promise<void> {
  const items: Array<Record<string, AttributeValue>> = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  await client.send(new DeleteTableCommand({ TableName: tableName }));
  for (;;) {
    try {
      await createTable(client, tableName, definition);
      break;
    } catch (error) {
      // Still DELETING for a moment, even with deleteTableMs 0.
      if (!(error instanceof ResourceInUseException)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  for (let i = 0; i < items.length; i += 25) {
    let requests: Record<string, WriteRequest[]> | undefined = { [tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) };
    while (requests && Object.keys(requests).length > 0) {
      requests = (await client.send(new BatchWriteItemCommand({ RequestItems: requests }))).UnprocessedItems;
    }
  }
}

async function existingTables(client: DynamoDBClient): Promise<Set<string>> {
  const names = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) names.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);
  return names;
}

/**
 * Creates every table of lib/tables.ts that does not exist yet, as the CDK stateful stack defines
 * it: on-demand, `pk` (HASH) + `sk` (RANGE) strings, the GSIs with projection ALL. Safe to run on
 * every start: existing tables keep their data, and a table missing a GSI added to TABLES since the
 * data folder was created is rebuilt with it. TTL is not configured: dynalite would never expire anything.
 */
export async function ensureTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  const existing = await existingTables(client);
  for (const id of Object.keys(TABLES) as TableId[]) {
    const definition = TABLES[id];
    const tableName = names[id];
    if (!existing.has(tableName)) {
      try {
        await createTable(client, tableName, definition);
      } catch (error) {
        // Another process created it between ListTables and CreateTable: what we wanted.
        if (!(error instanceof ResourceInUseException)) throw error;
        await waitForActiveTable(client, tableName);
      }
      continue;
    }
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
    if (definition.globalSecondaryIndexes.some((index) => !present.has(index.indexName))) {
      await rebuildWithIndexes(client, tableName, definition);
    }
  }
}
