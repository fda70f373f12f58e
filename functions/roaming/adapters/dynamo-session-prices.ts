import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '../../shared/dynamo.ts';
import type { SessionPriceReader } from '../domain/ports.ts';

/** A session's price as pricing stores it in the Sessions table: `SESSION#<transactionId>` / `PRICE`. */
export class DynamoSessionPrices implements SessionPriceReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getPrice(transactionId: number): Promise<{ priceJson: string } | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: `SESSION#${transactionId}`, sk: 'PRICE' }), ConsistentRead: true }),
    );
    return result.Item ? { priceJson: unmarshall(result.Item).priceJson } : undefined;
  }
}
