import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, queryAll, scanAll } from '../../shared/dynamo.ts';
import type { CompletedSession, CompletedSessionSource, NotCompletedSession, UnmatchedOcppMessage } from '../revenue-assurance.ts';

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

  /**
   * Every session in the sparse awaitingCompletion index (started sessions carry `OPEN#` keys,
   * stopped ones `AWAIT#` keys; a completion removes them) stored at or before `createdBefore`.
   */
  async notCompletedCreatedBefore(createdBefore: string): Promise<NotCompletedSession[]> {
    const items = await scanAll(this.client, {
      TableName: this.tableName,
      IndexName: 'awaitingCompletion',
      FilterExpression: 'createdAt <= :cutoff AND (#state = :started OR #state = :stopped)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: marshall({ ':cutoff': createdBefore, ':started': 'started', ':stopped': 'stopped' }),
    });
    const out: NotCompletedSession[] = items.map((item) => ({
      sessionId: item.sessionId,
      transactionId: item.transactionId,
      chargePointId: item.chargePointId,
      connectorId: item.connectorId,
      state: item.state,
      startedAt: item.startedAt,
      createdAt: item.createdAt,
      ...(item.stoppedAt ? { stoppedAt: item.stoppedAt } : {}),
      billingProfile: item.billingProfile ?? null,
    }));
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Unmatched OCPP messages (`UNMATCHED#<UTC day>` partitions, written by the OCPP context) from `from` to `to`. */
  async unmatchedBetween(from: string, to: string): Promise<UnmatchedOcppMessage[]> {
    const out: UnmatchedOcppMessage[] = [];
    for (let day = Date.parse(`${from.slice(0, 10)}T00:00:00Z`); day <= Date.parse(`${to.slice(0, 10)}T00:00:00Z`); day += 86_400_000) {
      const items = await queryAll(this.client, {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: marshall({ ':pk': `UNMATCHED#${new Date(day).toISOString().slice(0, 10)}`, ':from': from, ':to': `${to}~` }),
      });
      for (const item of items) {
        out.push({
          kind: item.kind,
          chargePointId: item.chargePointId,
          ...(item.transactionId !== undefined ? { transactionId: item.transactionId } : {}),
          reason: item.reason,
          receivedAt: item.receivedAt,
          ...(item.candidates ? { candidates: item.candidates } : {}),
        });
      }
    }
    return out;
  }
}
