import { GetItemCommand, PutItemCommand, ScanCommand, type DynamoDBClient, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '../../shared/dynamo.ts';
import type { FleetAccountRecord } from '../domain/account.ts';
import type { FleetAccountStore } from '../domain/ports.ts';

/** A fleet account's item in the Entitlements table: `FLEET#<accountId>` / `FLEET`, the record's fields beside the keys. */
const key = (accountId: string) => ({ pk: `FLEET#${accountId}`, sk: 'FLEET' });

const strip = (item: Record<string, unknown>): FleetAccountRecord => {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as FleetAccountRecord;
};

/** Fleet accounts, kept in the Entitlements table beside the idTags their vehicles use. */
export class DynamoFleetAccounts implements FleetAccountStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getFleet(accountId: string): Promise<FleetAccountRecord | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(key(accountId)), ConsistentRead: true }));
    return result.Item ? strip(unmarshall(result.Item)) : undefined;
  }

  async putFleet(record: FleetAccountRecord): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall({ ...key(record.accountId), ...record }) }));
  }

  /** A filtered, paged, consistent Scan: the monthly statement run reads the accounts once a month. */
  async *listFleets(): AsyncIterable<FleetAccountRecord> {
    let startKey: ScanCommandInput['ExclusiveStartKey'];
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :sk',
          ExpressionAttributeValues: marshall({ ':sk': 'FLEET' }),
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) yield strip(unmarshall(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}
