import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '../../shared/dynamo.ts';
import { idTagKey, type EntitlementRecord } from '../domain/model.ts';
import type { EntitlementPort } from '../domain/ports.ts';

const key = (idTag: string) => marshall({ pk: `IDTAG#${idTagKey(idTag)}`, sk: 'IDTAG' });

/** Entitlement records by idTag: Authorize and StartTransaction answer from one GetItem. */
export class DynamoEntitlements implements EntitlementPort {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(idTag: string): Promise<EntitlementRecord | undefined> {
    // Eventually consistent on purpose: half the read cost on the Authorize path; a write is
    // visible within a second, well inside how fast a subscription change must take effect.
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key(idTag) }));
    if (!result.Item) return undefined;
    const { pk: _pk, sk: _sk, ...record } = unmarshall(result.Item);
    return record as EntitlementRecord;
  }

  async put(record: EntitlementRecord): Promise<void> {
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: { ...key(record.idTag), ...marshall({ ...record }) } }),
    );
  }
}
