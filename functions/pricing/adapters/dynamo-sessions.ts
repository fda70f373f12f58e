import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, queryAll, unmarshall } from '../../shared/dynamo.ts';
import type { SessionSample, SessionSource, SessionToPrice } from '../domain/ports.ts';
import { sessionPk } from './dynamo-prices.ts';

/** The session item's attributes pricing reads (the OCPP gateway writes them). */
const FIELDS = [
  'sessionId', 'transactionId', 'chargePointId', 'connectorId', 'idTag', 'startedAt', 'meterStartWh', 'reservationId',
  'timeZone', 'siteId', 'tariff', 'billingProfile', 'stoppedAt', 'meterStopWh', 'stopReason', 'stopIdTag', 'clock',
] as const;

/**
 * The sessions and meter samples the OCPP gateway stores in the Sessions table, read for pricing:
 * the session item `SESSION#<transactionId>` / `SESSION` and its samples `SAMPLE#<timestamp>#...`
 * in the same partition (sorted by timestamp).
 */
export class DynamoSessionSource implements SessionSource {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getSession(transactionId: number): Promise<SessionToPrice | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: sessionPk(transactionId), sk: 'SESSION' }), ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const item = unmarshall(result.Item);
    const session: Record<string, unknown> = {};
    for (const field of FIELDS) if (item[field] !== undefined) session[field] = item[field];
    return session as unknown as SessionToPrice;
  }

  async samples(transactionId: number): Promise<SessionSample[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: marshall({ ':pk': sessionPk(transactionId), ':prefix': 'SAMPLE#' }),
      ConsistentRead: true,
    });
    return items.map(({ timestamp, sampledValue }) => ({ timestamp, sampledValue }));
  }
}
