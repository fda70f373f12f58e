import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTables, localTableNames, startLocalDynamo } from '../../../lib/local/dynamodb.ts';
import type { TableNames } from '../../../lib/tables.ts';

/** dynalite in memory with every table of lib/tables.ts, for tests of the DynamoDB adapters. */
export interface LocalTables {
  client: DynamoDBClient;
  tables: TableNames;
  close(): Promise<void>;
}

/** Starts dynalite in memory on a free port and creates the tables under `prefix`. */
export async function startLocalTables(prefix: string): Promise<LocalTables> {
  const dynamo = await startLocalDynamo({ host: '127.0.0.1', port: 0 });
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const tables = localTableNames(prefix);
  await ensureTables(client, tables);
  return {
    client,
    tables,
    async close() {
      client.destroy();
      await dynamo.close();
    },
  };
}
