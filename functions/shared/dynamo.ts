import { BatchWriteItemCommand, QueryCommand, ScanCommand, type DynamoDBClient, type QueryCommandInput, type ScanCommandInput, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall as sdkMarshall, unmarshall as sdkUnmarshall } from '@aws-sdk/util-dynamodb';

/** Marshals a plain record, dropping undefined fields (optional fields are simply absent). */
export function marshall(item: Record<string, unknown>) {
  return sdkMarshall(item, { removeUndefinedValues: true, convertEmptyValues: false });
}

export const unmarshall = sdkUnmarshall;

/** True for the error DynamoDB raises when a ConditionExpression does not hold. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/** Writes items with BatchWriteItem (25 per call), retrying what DynamoDB left unprocessed. */
export async function batchPut(client: DynamoDBClient, tableName: string, items: Array<Record<string, unknown>>): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let requests: WriteRequest[] = items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: marshall(item) } }));
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
      if (attempt > 8) throw new Error(`BatchWriteItem left ${requests.length} items unprocessed in ${tableName}`);
      const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
      requests = result.UnprocessedItems?.[tableName] ?? [];
    }
  }
}

/** Runs a Query to the end, following LastEvaluatedKey, and returns the unmarshalled items. */
export async function queryAll(client: DynamoDBClient, input: QueryCommandInput): Promise<Array<Record<string, any>>> {
  const items: Array<Record<string, any>> = [];
  let startKey: QueryCommandInput['ExclusiveStartKey'];
  do {
    const page = await client.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) items.push(unmarshall(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Runs a Scan to the end, following LastEvaluatedKey, and returns the unmarshalled items. */
export async function scanAll(client: DynamoDBClient, input: ScanCommandInput): Promise<Array<Record<string, any>>> {
  const items: Array<Record<string, any>> = [];
  let startKey: ScanCommandInput['ExclusiveStartKey'];
  do {
    const page = await client.send(new ScanCommand({ ...input, ExclusiveStartKey: startKey }));
    for (const item of page.Items ?? []) items.push(unmarshall(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}
