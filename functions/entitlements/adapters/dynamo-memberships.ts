import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type DynamoDBClient,
  type ScanCommandInput,
} from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, marshall, unmarshall } from '../../shared/dynamo.ts';
import { idTagKey, type DriverRecord, type IdTagRecord, type TierRecord } from '../domain/model.ts';
import type { MembershipStore } from '../domain/ports.ts';

/** Item keys in the Entitlements table; the IDTAG layout is the one the OCPP gateway reads. */
export const keys = {
  idTag: (idTag: string) => ({ pk: `IDTAG#${idTagKey(idTag)}`, sk: 'IDTAG' }),
  driver: (driverId: string) => ({ pk: `DRIVER#${driverId}`, sk: 'DRIVER' }),
  customer: (customerId: string) => ({ pk: `CUSTOMER#${customerId}`, sk: 'CUSTOMER' }),
  webhook: (eventId: string) => ({ pk: `WEBHOOK#${eventId}`, sk: 'WEBHOOK' }),
  tier: (tier: string) => ({ pk: `TIER#${tier}`, sk: 'TIER' }),
  price: (priceId: string) => ({ pk: `PRICE#${priceId}`, sk: 'PRICE' }),
};

const strip = <T>(item: Record<string, unknown>): T => {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as T;
};

/** Drivers, customers, tiers, webhook dedupe and conditional idTag rewrites. (Fleet accounts beside them are fleet's: functions/fleet/adapters.) */
export class DynamoMembershipStore implements MembershipStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private async get<T>(key: { pk: string; sk: string }, consistent = true): Promise<T | undefined> {
    // Strongly consistent: these reads decide writes (versions, dedupe), unlike the Authorize read.
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(key), ConsistentRead: consistent }));
    return result.Item ? strip<T>(unmarshall(result.Item)) : undefined;
  }

  private async put(item: Record<string, unknown>, condition?: { expression: string; values?: Record<string, unknown> }): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall(item),
          ...(condition
            ? {
                ConditionExpression: condition.expression,
                ...(condition.values ? { ExpressionAttributeValues: marshall(condition.values) } : {}),
              }
            : {}),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  getDriver(driverId: string) {
    return this.get<DriverRecord>(keys.driver(driverId));
  }

  putDriver(record: DriverRecord, expectedVersion: number | undefined): Promise<boolean> {
    return this.put(
      { ...keys.driver(record.driverId), ...record },
      expectedVersion === undefined
        ? { expression: 'attribute_not_exists(pk)' }
        : { expression: 'version = :expected', values: { ':expected': expectedVersion } },
    );
  }

  listDrivers(): AsyncIterable<DriverRecord> {
    // A filtered Scan: drivers are a small share of the table, and the resync runs hourly. A sparse
    // index would make this cheaper for a very large idTag population.
    return this.scanKind<DriverRecord>('DRIVER');
  }

  /** Every record of one kind (its `sk`), by a filtered, paged, consistent Scan. */
  private async *scanKind<T>(sk: string): AsyncIterable<T> {
    let startKey: ScanCommandInput['ExclusiveStartKey'];
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :sk',
          ExpressionAttributeValues: marshall({ ':sk': sk }),
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) yield strip<T>(unmarshall(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async driverForCustomer(customerId: string): Promise<string | undefined> {
    return (await this.get<{ driverId: string }>(keys.customer(customerId)))?.driverId;
  }

  async linkCustomer(customerId: string, driverId: string, at: string): Promise<void> {
    await this.put({ ...keys.customer(customerId), customerId, driverId, updatedAt: at });
  }

  async unlinkCustomer(customerId: string, driverId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: marshall(keys.customer(customerId)),
          // Only this driver's link: the customer may have moved to another driver meanwhile.
          ConditionExpression: 'driverId = :driverId',
          ExpressionAttributeValues: marshall({ ':driverId': driverId }),
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  getTier(tier: string) {
    return this.get<TierRecord>(keys.tier(tier));
  }

  async putTier(record: TierRecord, previous: TierRecord | undefined): Promise<void> {
    // Price map entries first: a tier visible before its prices would make a sync miss it.
    for (const priceId of record.stripePriceIds) await this.put({ ...keys.price(priceId), priceId, tier: record.tier });
    await this.put({ ...keys.tier(record.tier), ...record });
    for (const priceId of previous?.stripePriceIds ?? []) {
      if (record.stripePriceIds.includes(priceId)) continue;
      try {
        await this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: marshall(keys.price(priceId)),
            ConditionExpression: 'tier = :tier',
            ExpressionAttributeValues: marshall({ ':tier': record.tier }),
          }),
        );
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
  }

  async tierForPrice(priceId: string): Promise<string | undefined> {
    return (await this.get<{ tier: string }>(keys.price(priceId)))?.tier;
  }

  getIdTag(idTag: string) {
    return this.get<IdTagRecord>(keys.idTag(idTag));
  }

  replaceIdTag(record: IdTagRecord, expectedUpdatedAt: string | undefined): Promise<boolean> {
    return this.put(
      { ...keys.idTag(record.idTag), ...record },
      expectedUpdatedAt === undefined
        ? { expression: 'attribute_not_exists(pk)' }
        : { expression: 'updatedAt = :read', values: { ':read': expectedUpdatedAt } },
    );
  }

  async webhookProcessed(eventId: string): Promise<boolean> {
    return (await this.get(keys.webhook(eventId))) !== undefined;
  }

  async recordWebhook(eventId: string, type: string, processedAt: string, expiresAt: number): Promise<void> {
    // A concurrent duplicate may have recorded it first; either record says the same.
    await this.put({ ...keys.webhook(eventId), eventId, type, processedAt, expiresAt }, { expression: 'attribute_not_exists(pk)' });
  }
}
