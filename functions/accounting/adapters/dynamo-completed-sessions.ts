import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, queryAll } from '../../shared/dynamo.ts';
import type { CompletedSession, CompletedSessionSource } from '../revenue-assurance.ts';

/** Completed sessions from the Sessions table's byCompletionDay index (one Query per UTC day). */
export class DynamoCompletedSessions implements CompletedSessionSource {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async completedBetween(fromDay: string, toDay: string): Promise<CompletedSession[]> {
    const out: CompletedSession[] = [];
    for (let day = Date.parse(`${fromDay}T00:00:00Z`); day <= Date.parse(`${toDay}T00:00:00Z`); day += 86_400_000) {
      const items = await queryAll(this.client, {
        TableName: this.tableName,
        IndexName: 'byCompletionDay',
        KeyConditionExpression: 'gsi3pk = :pk',
        ExpressionAttributeValues: marshall({ ':pk': `COMPLETED#${new Date(day).toISOString().slice(0, 10)}` }),
        ProjectionExpression: 'sessionId, transactionId, chargePointId, siteId, completedAt, billingProfile, pricedAt, totalMinor, currency, pricingError',
      });
      for (const item of items) out.push(item as CompletedSession);
    }
    return out;
  }
}
