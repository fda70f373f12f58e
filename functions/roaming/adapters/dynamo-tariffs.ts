import { GetItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '../../shared/dynamo.ts';
import type { TariffReader } from '../domain/ports.ts';

const pk = (tariffId: string) => `TARIFF#${tariffId}`;
const sk = (version: number) => `V#${String(version).padStart(10, '0')}`;

/** Stored tariff versions in the Tariffs table (`TARIFF#<tariffId>` / `V#<version, 10 digits>`), read for export and CDRs. */
export class DynamoTariffReader implements TariffReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(tariffId: string, version?: number): Promise<{ tariffId: string; version: number; tariffJson: string } | undefined> {
    const v = version ?? (await this.currentVersion(tariffId));
    if (v === undefined) return undefined;
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: pk(tariffId), sk: sk(v) }), ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    return { tariffId, version: v, tariffJson: unmarshall(result.Item).tariffJson };
  }

  /** The newest version (the highest sort key). */
  private async currentVersion(tariffId: string): Promise<number | undefined> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: marshall({ ':pk': pk(tariffId) }),
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = result.Items?.[0];
    return item ? (unmarshall(item).version as number) : undefined;
  }
}
