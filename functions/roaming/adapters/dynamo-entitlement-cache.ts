import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '../../shared/dynamo.ts';
import type { EntitlementCache } from '../domain/ports.ts';
import { idTagKey, type IdTagEntitlement } from '../domain/tokens.ts';

/** The IDTAG item of the Entitlements table, the layout the OCPP gateway's Authorize reads. */
const key = (idTag: string) => marshall({ pk: `IDTAG#${idTagKey(idTag)}`, sk: 'IDTAG' });

/** Partners' tokens as idTag records in the entitlement cache (the Entitlements table). */
export class DynamoEntitlementCache implements EntitlementCache {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(idTag: string): Promise<IdTagEntitlement | undefined> {
    // Eventually consistent, as Authorize reads it.
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key(idTag) }));
    if (!result.Item) return undefined;
    const { pk: _pk, sk: _sk, ...record } = unmarshall(result.Item);
    return record as IdTagEntitlement;
  }

  async put(record: IdTagEntitlement): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: { ...key(record.idTag), ...marshall({ ...record }) } }));
  }
}
