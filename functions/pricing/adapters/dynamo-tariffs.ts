import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '../../shared/dynamo.ts';
import type { TariffVersionSource } from '../domain/ports.ts';

/** Stored tariff versions in the Tariffs table: `TARIFF#<tariffId>` / `V#<version, 10 digits>`. */
export class DynamoTariffVersions implements TariffVersionSource {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(tariffId: string, version: number): Promise<{ tariffId: string; version: number; tariffJson: string } | undefined> {
    const result = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: `TARIFF#${tariffId}`, sk: `V#${String(version).padStart(10, '0')}` }),
        ConsistentRead: true,
      }),
    );
    if (!result.Item) return undefined;
    return { tariffId, version, tariffJson: unmarshall(result.Item).tariffJson };
  }
}
