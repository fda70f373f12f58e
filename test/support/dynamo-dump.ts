import { DynamoDBClient, ListTablesCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LocalStack } from '../../lib/local/stack.ts';

/** Every item of every table: `table|pk|sk` -> the item as canonical JSON. */
export type TableDump = Map<string, string>;

const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value instanceof Set
      ? [...value].map(canonical).sort()
      : value && typeof value === 'object'
        ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
        : value;

/**
 * Scans every table the stack's DynamoDB holds. With `ignoreConnections`, the connection
 * bookkeeping a WebSocket connect and disconnect must write is left out: the `CONN#` items and
 * the `connectionId`/`connectedAt` of a charge point's profile. Nothing else is.
 */
export async function dumpTables(stack: LocalStack, options: { ignoreConnections?: boolean } = {}): Promise<TableDump> {
  const client = new DynamoDBClient({ endpoint: stack.dynamoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const dump: TableDump = new Map();
    const { TableNames = [] } = await client.send(new ListTablesCommand({}));
    for (const table of TableNames) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
        for (const raw of page.Items ?? []) {
          const item = unmarshall(raw);
          if (options.ignoreConnections) {
            if (String(item.pk).startsWith('CONN#')) continue;
            if (item.sk === 'PROFILE') {
              delete item.connectionId;
              delete item.connectedAt;
            }
          }
          dump.set(`${table}|${item.pk}|${item.sk}`, JSON.stringify(canonical(item)));
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return dump;
  } finally {
    client.destroy();
  }
}

/** What changed between two dumps, by key. */
export function diffDumps(before: TableDump, after: TableDump): { added: string[]; changed: string[]; removed: string[] } {
  return {
    added: [...after.keys()].filter((k) => !before.has(k)).sort(),
    changed: [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).sort(),
    removed: [...before.keys()].filter((k) => !after.has(k)).sort(),
  };
}
