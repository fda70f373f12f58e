import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, marshall, unmarshall } from '../../shared/dynamo.ts';
import type { PriceStore, StoredPrice } from '../domain/ports.ts';

/** The session's partition in the Sessions table (the OCPP gateway's key layout). */
export const sessionPk = (transactionId: number) => `SESSION#${transactionId}`;
const SESSION_SK = 'SESSION';
/** The price item beside the session: `SESSION#<transactionId>` / `PRICE`. */
const PRICE_SK = 'PRICE';

/**
 * Pricing's records in the Sessions table: the `PRICE` item beside the session (written once, by
 * a conditional put), the price summary (`pricedAt`, `totalMinor`, `currency`) and `pricingError`
 * on the session item.
 */
export class DynamoPriceStore implements PriceStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async recordPrice(transactionId: number, price: StoredPrice): Promise<StoredPrice & { stored: boolean }> {
    let winner = price;
    let stored = true;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: sessionPk(transactionId), sk: PRICE_SK, ...price }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      winner = (await this.getPrice(transactionId))!;
      stored = false;
    }
    await this.writePriceSummary(transactionId, winner);
    return { ...winner, stored };
  }

  async getPrice(transactionId: number): Promise<StoredPrice | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: sessionPk(transactionId), sk: PRICE_SK }), ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { priceJson, totalMinor, currency, pricedAt } = unmarshall(result.Item);
    return { priceJson, totalMinor, currency, pricedAt };
  }

  async writePriceSummary(transactionId: number, price: StoredPrice): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: sessionPk(transactionId), sk: SESSION_SK }),
        UpdateExpression: 'SET pricedAt = :at, totalMinor = :total, currency = :currency',
        // Never create a session that does not exist.
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: marshall({ ':at': price.pricedAt, ':total': price.totalMinor, ':currency': price.currency }),
      }),
    );
  }

  async recordPricingFailure(transactionId: number, reason: string, failedAt: string): Promise<{ reason: string; failedAt: string }> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: sessionPk(transactionId), sk: SESSION_SK }),
          UpdateExpression: 'SET pricingError = :e',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(pricingError)',
          ExpressionAttributeValues: marshall({ ':e': { reason, failedAt } }),
        }),
      );
      return { reason, failedAt };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const result = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: sessionPk(transactionId), sk: SESSION_SK }), ConsistentRead: true }),
      );
      const recorded = result.Item ? (unmarshall(result.Item).pricingError as { reason: string; failedAt: string } | undefined) : undefined;
      if (!recorded) throw new Error(`session for transaction ${transactionId} does not exist`);
      return recorded;
    }
  }
}
