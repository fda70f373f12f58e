import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, marshall, unmarshall } from '../../shared/dynamo.ts';
import { idTagKey, type ActiveSessionMarker, type EntitlementRecord } from '../domain/model.ts';
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

  // Both writes bump updatedAt: the membership sync rewrites idTag records optimistically on
  // updatedAt, so a sync racing a session start retries instead of dropping the marker.
  async claimActiveSession(idTag: string, marker: ActiveSessionMarker, staleBefore: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(idTag),
          UpdateExpression: 'SET activeSession = :marker, updatedAt = :at',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(activeSession) OR activeSession.transactionId = :tx OR activeSession.since < :stale)',
          ExpressionAttributeValues: marshall({ ':marker': marker, ':at': marker.since, ':tx': marker.transactionId, ':stale': staleBefore }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async releaseActiveSession(idTag: string, transactionId: number, at: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(idTag),
          UpdateExpression: 'REMOVE activeSession SET updatedAt = :at',
          ConditionExpression: 'activeSession.transactionId = :tx',
          ExpressionAttributeValues: marshall({ ':tx': transactionId, ':at': at }),
        }),
      );
    } catch (error) {
      // Already released, or another transaction holds it now: nothing of ours to clear.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}
