import { GetItemCommand, PutItemCommand, QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, marshall, unmarshall } from '../../shared/dynamo.ts';
import type { TariffVersionRef } from '../domain/model.ts';
import type { TariffPort } from '../domain/ports.ts';

const pk = (tariffId: string) => `TARIFF#${tariffId}`;
const sk = (version: number) => `V#${String(version).padStart(10, '0')}`;

export interface StoredTariff extends TariffVersionRef {
  /** The tariff JSON exactly as accepted (kept as text so decimal prices keep their digits). */
  tariffJson: string;
  createdAt: string;
}

/** Tariffs, every version kept: a session prices with the version that was current at its start. */
export class DynamoTariffs implements TariffPort {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async currentVersion(tariffId: string): Promise<TariffVersionRef | undefined> {
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
    if (!item) return undefined;
    const { version } = unmarshall(item);
    return { tariffId, version };
  }

  async get(tariffId: string, version?: number): Promise<StoredTariff | undefined> {
    const v = version ?? (await this.currentVersion(tariffId))?.version;
    if (v === undefined) return undefined;
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: pk(tariffId), sk: sk(v) }), ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { tariffJson, createdAt } = unmarshall(result.Item);
    return { tariffId, version: v, tariffJson, createdAt };
  }

  /** Stores a new version (1, 2, ...); a concurrent writer makes this retry with the next number. */
  async putNewVersion(tariffId: string, tariffJson: string, createdAt: string): Promise<StoredTariff> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const version = ((await this.currentVersion(tariffId))?.version ?? 0) + 1;
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall({ pk: pk(tariffId), sk: sk(version), tariffId, version, tariffJson, createdAt }),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return { tariffId, version, tariffJson, createdAt };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    throw new Error(`could not store a new version of tariff ${tariffId}: too many concurrent writers`);
  }
}
