import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, queryAll, unmarshall } from '../../shared/dynamo.ts';
import type { ConnectorStatusReport, StatusTimelineSource } from '../domain/ports.ts';

/**
 * A connector's status timeline as the OCPP gateway stores it in the Registry table: partition
 * `CP#<chargePointId>`, one item per status at `STATUS#<connector, 3 digits>#<timestamp>#<digest>`.
 */
export class DynamoStatusTimeline implements StatusTimelineSource {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async statusTimeline(chargePointId: string, connectorId: number, since: string): Promise<ConnectorStatusReport[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: marshall({ ':pk': `CP#${chargePointId}`, ':prefix': `STATUS#${String(connectorId).padStart(3, '0')}#` }),
      ConsistentRead: true,
    });
    return items
      .map(({ connectorId: connector, status, errorCode, timestamp }) => ({ connectorId: connector, status, errorCode, timestamp }) as ConnectorStatusReport)
      .filter((s) => s.timestamp >= since)
      .sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  }

  /** The charge point profile's `maxPowerKw` (item `CP#<id>` / `PROFILE`), when configured. */
  async maxPowerKw(chargePointId: string): Promise<number | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: `CP#${chargePointId}`, sk: 'PROFILE' }), ProjectionExpression: 'maxPowerKw', ConsistentRead: true }),
    );
    const value = result.Item ? unmarshall(result.Item).maxPowerKw : undefined;
    return typeof value === 'number' && value > 0 ? value : undefined;
  }
}
