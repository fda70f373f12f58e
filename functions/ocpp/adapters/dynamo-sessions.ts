import { createHash } from 'node:crypto';
import {
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { batchPut, isConditionalCheckFailed, marshall, queryAll, scanAll, unmarshall } from '../../shared/dynamo.ts';
import { idTagKey, type MeterSample, type SessionRecord, type UnmatchedMessage } from '../domain/model.ts';
import type { SessionPort, StartKey } from '../domain/ports.ts';
import { awaitsCompletion, priorStatesFor, type LifecycleWrite } from '../domain/session-lifecycle.ts';

const SESSION_SK = 'SESSION';
const sessionPk = (transactionId: number) => `SESSION#${transactionId}`;
const awaitKey = (chargePointId: string, connectorId: number) => `AWAIT#${chargePointId}#${connectorId}`;
/** Partition of the byCompletionDay index: `COMPLETED#<UTC yyyy-mm-dd>` of the completion time. */
export const completionDayKey = (completedAt: string) => `COMPLETED#${new Date(completedAt).toISOString().slice(0, 10)}`;
/**
 * Started sessions carry the awaitingCompletion index's keys too (`OPEN#<chargePoint>`, sorted by
 * `createdAt#connector#transactionId`), so the index holds every session not yet completed: a stop
 * replaces them with the AWAIT keys, a completion removes them (docs/sessions.md).
 */
const openKey = (chargePointId: string) => `OPEN#${chargePointId}`;
const openSortKey = (session: Pick<SessionRecord, 'createdAt' | 'connectorId' | 'transactionId'>) =>
  `${session.createdAt}#${String(session.connectorId).padStart(4, '0')}#${String(session.transactionId).padStart(12, '0')}`;
/** Unmatched StopTransaction / MeterValues by UTC day of receipt: `UNMATCHED#<yyyy-mm-dd>`. */
export const unmatchedDayKey = (receivedAt: string) => `UNMATCHED#${receivedAt.slice(0, 10)}`;
const startPk = (key: StartKey) =>
  `START#${key.chargePointId}#${key.connectorId}#${idTagKey(key.idTag)}#${key.timestamp}${key.generation ? `#${key.generation}` : ''}`;

const SESSION_FIELDS = [
  'sessionId', 'transactionId', 'chargePointId', 'connectorId', 'idTag', 'parentIdTag', 'authorizationStatus',
  'startedAt', 'meterStartWh', 'reservationId', 'timeZone', 'siteId', 'tariff', 'billingProfile', 'state',
  'stoppedAt', 'stopRecordedAt', 'meterStopWh', 'energyWh', 'stopReason', 'stopIdTag', 'completedAt', 'completedBy', 'closedWithoutStop', 'flags', 'createdAt', 'clock',
  // Written by pricing (functions/pricing/adapters/dynamo-prices.ts), which owns the PRICE item beside the session.
  'pricedAt', 'totalMinor', 'currency', 'pricingError',
] as const;

/**
 * The condition a lifecycle write is made under, derived from the state machine's allowed prior
 * states (functions/ocpp/domain/session-lifecycle.ts), so the store refuses exactly the writes the
 * machine refuses: `absent` is `attribute_not_exists(pk)`, a stored state is `#state = :<state>`.
 * Names and values are returned only when used (DynamoDB rejects unused ones).
 */
export function lifecycleCondition(write: LifecycleWrite): {
  ConditionExpression: string;
  names: Record<string, string>;
  values: Record<string, string>;
} {
  const terms: string[] = [];
  const values: Record<string, string> = {};
  for (const state of priorStatesFor(write)) {
    if (state === 'absent') {
      terms.push('attribute_not_exists(pk)');
    } else {
      terms.push(`#state = :${state}`);
      values[`:${state}`] = state;
    }
  }
  if (terms.length === 0) throw new Error(`session lifecycle allows no prior state for ${write}`);
  const names: Record<string, string> = Object.keys(values).length > 0 ? { '#state': 'state' } : {};
  return { ConditionExpression: terms.join(' OR '), names, values };
}
const CREATE = lifecycleCondition('create');
const STOP = lifecycleCondition('stop');
const COMPLETE = lifecycleCondition('complete');

function toSession(item: Record<string, any>): SessionRecord {
  const session: Record<string, unknown> = {};
  for (const field of SESSION_FIELDS) if (item[field] !== undefined) session[field] = item[field];
  return session as unknown as SessionRecord;
}

/**
 * Sessions in the Sessions table. A session and its meter samples share the partition
 * `SESSION#<transactionId>`; samples sort by timestamp whatever their order of arrival.
 */
export class DynamoSessionStore implements SessionPort {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async findStart(key: StartKey): Promise<number | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: startPk(key), sk: 'START' }), ConsistentRead: true }),
    );
    return result.Item ? (unmarshall(result.Item).transactionId as number) : undefined;
  }

  async allocateTransactionId(): Promise<number> {
    const result = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: 'COUNTER#transactionId', sk: 'COUNTER' }),
        UpdateExpression: 'ADD #value :one',
        ExpressionAttributeNames: { '#value': 'value' },
        ExpressionAttributeValues: marshall({ ':one': 1 }),
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return unmarshall(result.Attributes!).value as number;
  }

  async claimStart(key: StartKey, transactionId: number): Promise<number> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: startPk(key), sk: 'START', transactionId }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return transactionId;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // A concurrent retry of the same StartTransaction won; its transactionId stands.
      const winner = await this.findStart(key);
      if (winner === undefined) throw error;
      return winner;
    }
  }

  async createSession(session: SessionRecord): Promise<SessionRecord> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({
            pk: sessionPk(session.transactionId),
            sk: SESSION_SK,
            ...session,
            gsi1pk: `CP#${session.chargePointId}`,
            gsi1sk: `${session.startedAt}#${String(session.transactionId).padStart(12, '0')}`,
            ...(session.state === 'started' ? { gsi2pk: openKey(session.chargePointId), gsi2sk: openSortKey(session) } : {}),
          }),
          ConditionExpression: CREATE.ConditionExpression,
          ...(Object.keys(CREATE.names).length > 0 ? { ExpressionAttributeNames: CREATE.names, ExpressionAttributeValues: marshall(CREATE.values) } : {}),
        }),
      );
      return session;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return (await this.getSession(session.transactionId))!;
    }
  }

  async getSession(transactionId: number): Promise<SessionRecord | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: sessionPk(transactionId), sk: SESSION_SK }), ConsistentRead: true }),
    );
    return result.Item ? toSession(unmarshall(result.Item)) : undefined;
  }

  async addSamples(transactionId: number, samples: MeterSample[]): Promise<void> {
    const items = new Map<string, Record<string, unknown>>();
    for (const sample of samples) {
      // Keyed by timestamp and content: a duplicate (a retried MeterValues, or the same reading again
      // in StopTransaction's transactionData) lands on the same item.
      const digest = createHash('sha256').update(JSON.stringify(sample.sampledValue)).digest('base64url').slice(0, 12);
      const sk = `SAMPLE#${sample.timestamp}#${digest}`;
      items.set(sk, { pk: sessionPk(transactionId), sk, ...sample });
    }
    await batchPut(this.client, this.tableName, [...items.values()]);
  }

  async samples(transactionId: number): Promise<MeterSample[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: marshall({ ':pk': sessionPk(transactionId), ':prefix': 'SAMPLE#' }),
      ConsistentRead: true,
    });
    // The charge point's own time, kept when the clock policy corrected it (docs/clocks.md).
    return items.map(({ timestamp, sampledValue, source, reportedTimestamp }) => ({ timestamp, sampledValue, source, ...(reportedTimestamp ? { reportedTimestamp } : {}) }));
  }

  async stopSession(
    current: SessionRecord,
    stop: Parameters<SessionPort['stopSession']>[1],
  ): Promise<{ session: SessionRecord; changed: boolean }> {
    const { transactionId } = current;
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: sessionPk(transactionId), sk: SESSION_SK }),
          UpdateExpression:
            'SET #state = :stopped, stoppedAt = :stoppedAt, stopRecordedAt = :recordedAt, meterStopWh = :meterStopWh, energyWh = :energyWh, flags = list_append(flags, :flags), gsi2pk = :gsi2pk, gsi2sk = :gsi2sk' +
            (stop.stopReason ? ', stopReason = :stopReason' : '') +
            (stop.stopIdTag ? ', stopIdTag = :stopIdTag' : '') +
            (stop.closedWithoutStop ? ', closedWithoutStop = :closedWithoutStop' : '') +
            // The clock policy (docs/clocks.md) may re-time the start and records what it did.
            (stop.startedAt ? ', startedAt = :startedAt' : '') +
            (stop.clock ? ', #clock = :clock' : ''),
          ConditionExpression: STOP.ConditionExpression,
          ExpressionAttributeNames: { '#state': 'state', ...(stop.clock ? { '#clock': 'clock' } : {}) },
          ExpressionAttributeValues: marshall({
            ...STOP.values,
            ':stopped': 'stopped',
            ':stoppedAt': stop.stoppedAt,
            ':meterStopWh': stop.meterStopWh,
            ':energyWh': stop.energyWh,
            ':flags': stop.flags,
            ':gsi2pk': awaitKey(current.chargePointId, current.connectorId),
            ':recordedAt': stop.stopRecordedAt,
            ':gsi2sk': stop.stopRecordedAt,
            ...(stop.stopReason ? { ':stopReason': stop.stopReason } : {}),
            ...(stop.stopIdTag ? { ':stopIdTag': stop.stopIdTag } : {}),
            ...(stop.closedWithoutStop ? { ':closedWithoutStop': stop.closedWithoutStop } : {}),
            ...(stop.startedAt ? { ':startedAt': stop.startedAt } : {}),
            ...(stop.clock ? { ':clock': stop.clock } : {}),
          }),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { session: toSession(unmarshall(result.Attributes!)), changed: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return { session: (await this.getSession(transactionId))!, changed: false };
    }
  }

  async awaitingCompletion(chargePointId: string, connectorId: number): Promise<SessionRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'awaitingCompletion',
      KeyConditionExpression: 'gsi2pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': awaitKey(chargePointId, connectorId) }),
    });
    return items.map(toSession).filter((s) => awaitsCompletion(s.state));
  }

  async awaitingCompletionBefore(recordedBefore: string): Promise<SessionRecord[]> {
    // The index is sparse (only stopped sessions carry its keys), so a scan of it stays small.
    const found: SessionRecord[] = [];
    let startKey: Record<string, any> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          IndexName: 'awaitingCompletion',
          FilterExpression: 'begins_with(gsi2pk, :await) AND gsi2sk <= :cutoff',
          ExpressionAttributeValues: marshall({ ':cutoff': recordedBefore, ':await': 'AWAIT#' }),
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) found.push(toSession(unmarshall(item)));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found.filter((s) => awaitsCompletion(s.state));
  }

  async completeSession(transactionId: number, completedAt: string, completedBy: NonNullable<SessionRecord['completedBy']>): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: sessionPk(transactionId), sk: SESSION_SK }),
          // byCompletionDay (gsi3): the revenue-assurance report finds completed sessions by UTC day.
          UpdateExpression: 'SET #state = :completed, completedAt = :completedAt, completedBy = :completedBy, gsi3pk = :gsi3pk, gsi3sk = :gsi3sk REMOVE gsi2pk, gsi2sk',
          ConditionExpression: COMPLETE.ConditionExpression,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall({
            ...COMPLETE.values,
            ':completed': 'completed',
            ':completedAt': completedAt,
            ':completedBy': completedBy,
            ':gsi3pk': completionDayKey(completedAt),
            ':gsi3sk': `${completedAt}#${String(transactionId).padStart(12, '0')}`,
          }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async openSessions(chargePointId: string, connectorId?: number): Promise<SessionRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'awaitingCompletion',
      KeyConditionExpression: 'gsi2pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': openKey(chargePointId) }),
    });
    // The index is eventually consistent: read each candidate again before anything acts on it.
    const found: SessionRecord[] = [];
    for (const item of items) {
      if (connectorId !== undefined && item.connectorId !== connectorId) continue;
      const session = await this.getSession(item.transactionId as number);
      if (session?.state === 'started') found.push(session);
    }
    return found;
  }

  async openSessionsCreatedBefore(createdBefore: string): Promise<SessionRecord[]> {
    const items = await scanAll(this.client, {
      TableName: this.tableName,
      IndexName: 'awaitingCompletion',
      FilterExpression: 'begins_with(gsi2pk, :open) AND gsi2sk <= :cutoff',
      // `~` sorts after every character of the sort key's tail: created at the cutoff counts.
      ExpressionAttributeValues: marshall({ ':open': 'OPEN#', ':cutoff': `${createdBefore}~` }),
    });
    return items.map(toSession).filter((s) => s.state === 'started');
  }

  async recordUnmatched(message: UnmatchedMessage): Promise<void> {
    const { chargePointId, receivedAt, payload } = message;
    if (message.kind === 'StopTransaction') {
      // The per-charge-point record of unknown stops (unknownStops) predates the daily listing.
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: `UNKNOWN_STOP#${chargePointId}`, sk: `${receivedAt}#${String(payload.transactionId)}`, chargePointId, receivedAt, payload }),
        }),
      );
    }
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({
          pk: unmatchedDayKey(receivedAt),
          sk: `${receivedAt}#${chargePointId}#${message.kind}#${message.messageId}#${String(message.transactionId)}`,
          ...message,
        }),
      }),
    );
  }

  /**
   * Unmatched messages received from `from` to `to` (inclusive, UTC ISO), oldest first, optionally
   * of one charge point; `cursor` continues a previous page.
   */
  async listUnmatched(query: { from: string; to: string; chargePointId?: string; limit: number; cursor?: string }): Promise<{ items: UnmatchedMessage[]; nextCursor?: string }> {
    const after = query.cursor ? (JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8')) as { pk: string; sk: string }) : undefined;
    const items: UnmatchedMessage[] = [];
    const lastDay = Date.parse(`${query.to.slice(0, 10)}T00:00:00Z`);
    const firstDay = Date.parse(`${(after ? after.pk.slice('UNMATCHED#'.length) : query.from).slice(0, 10)}T00:00:00Z`);
    let last: { pk: string; sk: string } | undefined;
    for (let day = firstDay; day <= lastDay; day += 86_400_000) {
      const pk = unmatchedDayKey(new Date(day).toISOString());
      let startKey: Record<string, any> | undefined = after && after.pk === pk ? marshall(after) : undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ...(query.chargePointId ? { FilterExpression: 'chargePointId = :cp' } : {}),
            ExpressionAttributeValues: marshall({ ':pk': pk, ':from': query.from, ':to': `${query.to}~`, ...(query.chargePointId ? { ':cp': query.chargePointId } : {}) }),
            ExclusiveStartKey: startKey,
            ConsistentRead: true,
          }),
        );
        for (const raw of page.Items ?? []) {
          const { pk: itemPk, sk: itemSk, ...message } = unmarshall(raw);
          items.push(message as UnmatchedMessage);
          last = { pk: itemPk as string, sk: itemSk as string };
          if (items.length === query.limit) {
            return { items, nextCursor: Buffer.from(JSON.stringify(last), 'utf8').toString('base64url') };
          }
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    return { items };
  }

  async unknownStops(chargePointId: string): Promise<Array<{ chargePointId: string; receivedAt: string; payload: Record<string, unknown> }>> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': `UNKNOWN_STOP#${chargePointId}` }),
    });
    return items.map(({ chargePointId: cp, receivedAt, payload }) => ({ chargePointId: cp, receivedAt, payload }));
  }

  async listSessions(chargePointId: string, limit: number): Promise<SessionRecord[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byChargePoint',
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: marshall({ ':pk': `CP#${chargePointId}` }),
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => toSession(unmarshall(item)));
  }
}
