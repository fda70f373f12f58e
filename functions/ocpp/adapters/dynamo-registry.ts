import { createHash } from 'node:crypto';
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, marshall, queryAll, unmarshall } from '../../shared/dynamo.ts';
import { firstFailure, lockEndsAt, type LockoutPolicy, type LoginFailures } from '../domain/lockout.ts';
import type { ClockMeasurement } from '../domain/clock-skew.ts';
import type { ChargePointProfile, ConnectorStatusRecord, PendingCall } from '../domain/model.ts';
import type { RegistryPort } from '../domain/ports.ts';

const cpPk = (chargePointId: string) => `CP#${chargePointId}`;
const connectorSk = (connectorId: number) => `CONNECTOR#${String(connectorId).padStart(3, '0')}`;
const timelinePrefix = (connectorId?: number) => (connectorId === undefined ? 'STATUS#' : `STATUS#${String(connectorId).padStart(3, '0')}#`);
/** API Gateway closes every connection after 2 hours; a mapping older than that is garbage (TTL). */
const CONNECTION_TTL_SECONDS = 3 * 3600;
/** The `$connect` failure counter of a charge point; expires (TTL `expiresAt`) when its window or lock ends. */
const LOGIN_FAILURES_SK = 'LOGIN_FAILURES';

function strip<T>(item: Record<string, any>, drop: string[]): T {
  const copy = { ...item };
  for (const key of drop) delete copy[key];
  return copy as T;
}

/** Charge points, connections, connector status and pending calls in the Registry table. */
export class DynamoRegistry implements RegistryPort {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getChargePoint(chargePointId: string): Promise<ChargePointProfile | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: cpPk(chargePointId), sk: 'PROFILE' }), ConsistentRead: true }),
    );
    return result.Item ? strip<ChargePointProfile>(unmarshall(result.Item), ['pk', 'sk']) : undefined;
  }

  /**
   * Creates or updates a charge point's configuration. Fields not given keep their stored value;
   * boot data, connection and last-seen time are never touched here.
   */
  async upsertChargePoint(
    chargePointId: string,
    fields: Partial<Pick<ChargePointProfile, 'passwordHash' | 'timeZone' | 'tariffId' | 'siteId' | 'maxPowerKw'>>,
    updatedAt: string,
  ): Promise<ChargePointProfile> {
    const names: Record<string, string> = { '#chargePointId': 'chargePointId', '#updatedAt': 'updatedAt' };
    const values: Record<string, unknown> = { ':chargePointId': chargePointId, ':updatedAt': updatedAt };
    const sets = ['#chargePointId = :chargePointId', '#updatedAt = :updatedAt'];
    const configurable = ['passwordHash', 'timeZone', 'tariffId', 'siteId', 'maxPowerKw'] as const;
    for (const key of configurable) {
      const value = fields[key];
      if (value === undefined) continue;
      names[`#${key}`] = key;
      values[`:${key}`] = value;
      sets.push(`#${key} = :${key}`);
    }
    const result = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: cpPk(chargePointId), sk: 'PROFILE' }),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: marshall(values),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return strip<ChargePointProfile>(unmarshall(result.Attributes!), ['pk', 'sk']);
  }

  async recordConnection(connectionId: string, chargePointId: string, connectedAt: string): Promise<void> {
    const expiresAt = Math.floor(Date.parse(connectedAt) / 1000) + CONNECTION_TTL_SECONDS;
    await Promise.all([
      this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: `CONN#${connectionId}`, sk: 'CONN', chargePointId, connectedAt, expiresAt }),
        }),
      ),
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: cpPk(chargePointId), sk: 'PROFILE' }),
          UpdateExpression: 'SET connectionId = :c, connectedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: marshall({ ':c': connectionId, ':at': connectedAt }),
        }),
      ),
    ]);
  }

  async chargePointForConnection(connectionId: string): Promise<string | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: `CONN#${connectionId}`, sk: 'CONN' }), ConsistentRead: true }),
    );
    return result.Item ? (unmarshall(result.Item).chargePointId as string) : undefined;
  }

  async removeConnection(connectionId: string, chargePointId: string | undefined): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: marshall({ pk: `CONN#${connectionId}`, sk: 'CONN' }) }));
    if (!chargePointId) return;
    try {
      // Only if this is still the current connection: a reconnect may already have replaced it.
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: cpPk(chargePointId), sk: 'PROFILE' }),
          UpdateExpression: 'REMOVE connectionId',
          ConditionExpression: 'connectionId = :c',
          ExpressionAttributeValues: marshall({ ':c': connectionId }),
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async recordBoot(chargePointId: string, boot: NonNullable<ChargePointProfile['boot']>): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: cpPk(chargePointId), sk: 'PROFILE' }),
        UpdateExpression: 'SET boot = :boot, lastSeenAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: marshall({ ':boot': boot, ':at': boot.bootedAt }),
      }),
    );
  }

  async recordHeartbeat(chargePointId: string, at: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: cpPk(chargePointId), sk: 'PROFILE' }),
        UpdateExpression: 'SET lastSeenAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: marshall({ ':at': at }),
      }),
    );
  }

  async recordClock(chargePointId: string, measurement: ClockMeasurement): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: cpPk(chargePointId), sk: 'PROFILE' }),
        UpdateExpression: 'SET #clock = :clock',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#clock': 'clock' },
        ExpressionAttributeValues: marshall({ ':clock': measurement }),
      }),
    );
  }

  async recordStatus(status: ConnectorStatusRecord): Promise<boolean> {
    const digest = createHash('sha256').update(`${status.status}|${status.errorCode}|${status.info ?? ''}`).digest('base64url').slice(0, 8);
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({ pk: cpPk(status.chargePointId), sk: `${timelinePrefix(status.connectorId)}${status.timestamp}#${digest}`, ...status }),
      }),
    );
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: cpPk(status.chargePointId), sk: connectorSk(status.connectorId), ...status }),
          // A queued status sent late must not overwrite a newer one.
          ConditionExpression: 'attribute_not_exists(#ts) OR #ts <= :ts',
          ExpressionAttributeNames: { '#ts': 'timestamp' },
          ExpressionAttributeValues: marshall({ ':ts': status.timestamp }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async getConnectorStatus(chargePointId: string, connectorId: number): Promise<ConnectorStatusRecord | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: cpPk(chargePointId), sk: connectorSk(connectorId) }), ConsistentRead: true }),
    );
    return result.Item ? strip<ConnectorStatusRecord>(unmarshall(result.Item), ['pk', 'sk']) : undefined;
  }

  async connectorStatuses(chargePointId: string): Promise<ConnectorStatusRecord[]> {
    return (await this.query(chargePointId, 'CONNECTOR#')).map((item) => strip<ConnectorStatusRecord>(item, ['pk', 'sk']));
  }

  async statusTimeline(chargePointId: string, connectorId?: number, since?: string): Promise<ConnectorStatusRecord[]> {
    const items = await this.query(chargePointId, timelinePrefix(connectorId));
    return items
      .map((item) => strip<ConnectorStatusRecord>(item, ['pk', 'sk']))
      .filter((s) => since === undefined || s.timestamp >= since)
      .sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : 0));
  }

  async recordNotification(chargePointId: string, kind: string, payload: Record<string, unknown>, receivedAt: string, messageId: string): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({ pk: cpPk(chargePointId), sk: `NOTE#${receivedAt}#${messageId}`, kind, payload, receivedAt, messageId }),
      }),
    );
  }

  /** The latest notifications a charge point sent (firmware, diagnostics, DataTransfer, orphaned MeterValues), newest first. */
  async notifications(chargePointId: string, limit = 50): Promise<Array<{ kind: string; payload: Record<string, unknown>; receivedAt: string; messageId: string }>> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: marshall({ ':pk': cpPk(chargePointId), ':prefix': 'NOTE#' }),
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => {
      const { kind, payload, receivedAt, messageId } = unmarshall(item);
      return { kind, payload, receivedAt, messageId };
    });
  }


  async putPendingCall(call: PendingCall): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({ pk: cpPk(call.chargePointId), sk: `CALL#${call.messageId}`, ...call }),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getPendingCall(chargePointId: string, messageId: string): Promise<PendingCall | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: cpPk(chargePointId), sk: `CALL#${messageId}` }), ConsistentRead: true }),
    );
    return result.Item ? strip<PendingCall>(unmarshall(result.Item), ['pk', 'sk']) : undefined;
  }

  async settlePendingCall(chargePointId: string, messageId: string, outcome: Pick<PendingCall, 'state' | 'result' | 'error' | 'answeredAt'>): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: cpPk(chargePointId), sk: `CALL#${messageId}` }),
          UpdateExpression: 'SET #state = :state, answeredAt = :answeredAt, #result = :result, #error = :error',
          ConditionExpression: '#state = :pending',
          ExpressionAttributeNames: { '#state': 'state', '#result': 'result', '#error': 'error' },
          ExpressionAttributeValues: marshall({
            ':state': outcome.state,
            ':pending': 'pending',
            ':answeredAt': outcome.answeredAt,
            ':result': outcome.result ?? null,
            ':error': outcome.error ?? null,
          }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async loginFailures(chargePointId: string): Promise<LoginFailures | undefined> {
    const result = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: cpPk(chargePointId), sk: LOGIN_FAILURES_SK }), ConsistentRead: true }),
    );
    if (!result.Item) return undefined;
    const { failures, windowStartedAt, expiresAt } = unmarshall(result.Item);
    return { failures, windowStartedAt, expiresAt };
  }

  /**
   * Counts a wrong password atomically without transactions (dynalite has none): increment while
   * the window runs; otherwise start a new window, conditional on none having started meanwhile;
   * if another attempt won that race, increment its window. The failure reaching the limit then
   * pushes `expiresAt` out to a whole window from now, which is the lock.
   */
  async recordLoginFailure(chargePointId: string, at: Date, policy: LockoutPolicy): Promise<LoginFailures> {
    const key = marshall({ pk: cpPk(chargePointId), sk: LOGIN_FAILURES_SK });
    const now = Math.floor(at.getTime() / 1000);
    let counted: LoginFailures | undefined;
    for (let attempt = 0; attempt < 3 && !counted; attempt += 1) {
      try {
        const result = await this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET failures = failures + :one, lastFailureAt = :at',
            ConditionExpression: 'expiresAt > :now',
            ExpressionAttributeValues: marshall({ ':one': 1, ':now': now, ':at': at.toISOString() }),
            ReturnValues: 'ALL_NEW',
          }),
        );
        const { failures, windowStartedAt, expiresAt } = unmarshall(result.Attributes!);
        counted = { failures, windowStartedAt, expiresAt };
        break;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
      const fresh = firstFailure(at, policy);
      try {
        await this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall({ pk: cpPk(chargePointId), sk: LOGIN_FAILURES_SK, chargePointId, ...fresh, lastFailureAt: at.toISOString() }),
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
            ExpressionAttributeValues: marshall({ ':now': now }),
          }),
        );
        counted = fresh;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
      }
    }
    if (!counted) throw new Error(`could not count a login failure for ${chargePointId}: the counter kept changing`);
    const lockEnd = lockEndsAt(counted.failures, at, policy);
    if (lockEnd !== undefined && lockEnd > counted.expiresAt) {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET expiresAt = :end',
          ConditionExpression: 'failures >= :max AND expiresAt < :end',
          ExpressionAttributeValues: marshall({ ':end': lockEnd, ':max': policy.maxFailures }),
        }),
      ).catch((error) => {
        if (!isConditionalCheckFailed(error)) throw error;
      });
      counted = { ...counted, expiresAt: lockEnd };
    }
    return counted;
  }

  private query(chargePointId: string, prefix: string): Promise<Array<Record<string, any>>> {
    return queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: marshall({ ':pk': cpPk(chargePointId), ':prefix': prefix }),
      ConsistentRead: true,
    });
  }

}
