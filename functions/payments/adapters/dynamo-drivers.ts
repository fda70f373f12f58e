import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '../../shared/dynamo.ts';
import type { DriverPaymentFacts, DriverReader } from '../domain/ports.ts';

/**
 * Drivers as entitlements keeps them in the Entitlements table (`DRIVER#<driverId>` / `DRIVER`),
 * read for the Stripe customer and saved card an off-session hold is placed on.
 */
export class DynamoDriverReader implements DriverReader {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getDriver(driverId: string): Promise<DriverPaymentFacts | undefined> {
    // Strongly consistent, as entitlements reads it: a card saved a moment ago is used.
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: `DRIVER#${driverId}`, sk: 'DRIVER' }), ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { stripeCustomerId, defaultPaymentMethodId } = unmarshall(result.Item);
    return {
      ...(typeof stripeCustomerId === 'string' ? { stripeCustomerId } : {}),
      ...(typeof defaultPaymentMethodId === 'string' ? { defaultPaymentMethodId } : {}),
    };
  }
}
