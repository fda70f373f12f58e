import { BatchGetItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, marshall, queryAll, unmarshall } from '../../shared/dynamo.ts';
import type { FleetAccrual } from '../domain/statement.ts';
import type { ClaimOutcome, FleetStore, StatementRecord } from '../domain/ports.ts';

const accountPk = (accountId: string) => `ACCOUNT#${accountId}`;
const accrualKey = (accountId: string, sessionId: string) => ({ pk: accountPk(accountId), sk: `ACCRUAL#${sessionId}` });
const statementKey = (accountId: string, period: string) => ({ pk: accountPk(accountId), sk: `STATEMENT#${period}` });

function strip<T>(item: Record<string, unknown>): T {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...rest } = item;
  if (rest.claimedSessionIds instanceof Set) rest.claimedSessionIds = [...rest.claimedSessionIds].sort();
  return rest as T;
}

/**
 * The Fleet table: one ACCRUAL item per fleet session (`ACCOUNT#<id>` / `ACCRUAL#<sessionId>`),
 * carrying the sparse `unbilled` index keys until a statement claims it, and one STATEMENT item per
 * account and period. Every write that guards money is a single-item conditional write (dynalite has
 * no transactions): accrue once, claim once, freeze once, issue once.
 */
export class DynamoFleetStore implements FleetStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async putAccrual(accrual: FleetAccrual): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({
            ...accrualKey(accrual.accountId, accrual.sessionId),
            gsi1pk: `UNBILLED#${accrual.accountId}`,
            gsi1sk: `${accrual.naturalPeriod}#${accrual.sessionId}`,
            ...accrual,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async getAccrual(accountId: string, sessionId: string): Promise<FleetAccrual | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(accrualKey(accountId, sessionId)), ConsistentRead: true }));
    return result.Item ? strip<FleetAccrual>(unmarshall(result.Item)) : undefined;
  }

  async unbilledAccruals(accountId: string, upToPeriod: string): Promise<FleetAccrual[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'unbilled',
      KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk <= :upTo',
      ExpressionAttributeValues: marshall({ ':pk': `UNBILLED#${accountId}`, ':upTo': `${upToPeriod}#\uffff` }),
    });
    // The index is eventually consistent: an item claimed a moment ago may still show; claims are conditional anyway.
    return items.map((item) => strip<FleetAccrual>(item)).filter((a) => !a.statementId);
  }

  async getAccruals(accountId: string, sessionIds: readonly string[]): Promise<FleetAccrual[]> {
    const found: FleetAccrual[] = [];
    for (let i = 0; i < sessionIds.length; i += 100) {
      let keys = sessionIds.slice(i, i + 100).map((id) => marshall(accrualKey(accountId, id)));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 8) throw new Error(`BatchGetItem left ${keys.length} accruals unprocessed`);
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
        const result = await this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
        for (const item of result.Responses?.[this.tableName] ?? []) found.push(strip<FleetAccrual>(unmarshall(item)));
        keys = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof keys;
      }
    }
    return found;
  }

  async claimAccrual(accountId: string, sessionId: string, statementId: string): Promise<ClaimOutcome> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(accrualKey(accountId, sessionId)),
          UpdateExpression: 'SET statementId = :s REMOVE gsi1pk, gsi1sk',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(statementId)',
          ExpressionAttributeValues: marshall({ ':s': statementId }),
        }),
      );
      return 'claimed';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.getAccrual(accountId, sessionId);
      return current?.statementId === statementId ? 'claimed' : 'other';
    }
  }

  async getStatement(accountId: string, period: string): Promise<StatementRecord | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(statementKey(accountId, period)), ConsistentRead: true }));
    return result.Item ? strip<StatementRecord>(unmarshall(result.Item)) : undefined;
  }

  async listStatements(accountId: string): Promise<StatementRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: marshall({ ':pk': accountPk(accountId), ':prefix': 'STATEMENT#' }),
      ConsistentRead: true,
    });
    return items.map((item) => strip<StatementRecord>(item));
  }

  async createStatement(record: StatementRecord): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...statementKey(record.accountId, record.period), ...record }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async acquireLease(accountId: string, period: string, owner: string, now: string, until: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(statementKey(accountId, period)),
          UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner)',
          ExpressionAttributeValues: marshall({ ':owner': owner, ':until': until, ':now': now }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async releaseLease(accountId: string, period: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(statementKey(accountId, period)),
          UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: marshall({ ':owner': owner }),
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async recordClaimIntent(accountId: string, period: string, sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(statementKey(accountId, period)),
        UpdateExpression: 'ADD claimedSessionIds :ids',
        ExpressionAttributeValues: { ':ids': { SS: [...new Set(sessionIds)] } },
      }),
    );
  }

  async freeze(accountId: string, period: string, owner: string, fields: Pick<StatementRecord, 'frozenAt' | 'settingsJson' | 'totals' | 'sessionIds'>): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(statementKey(accountId, period)),
          UpdateExpression: 'SET #status = :frozen, frozenAt = :at, settingsJson = :settings, totals = :totals, sessionIds = :ids',
          ConditionExpression: '#status = :draft AND leaseOwner = :owner',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':frozen': 'frozen',
            ':draft': 'draft',
            ':owner': owner,
            ':at': fields.frozenAt,
            ':settings': fields.settingsJson,
            ':totals': fields.totals,
            ':ids': fields.sessionIds,
          }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async updateInvoice(accountId: string, period: string, invoice: NonNullable<StatementRecord['invoice']>): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(statementKey(accountId, period)),
        UpdateExpression: 'SET invoice = :invoice',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: marshall({ ':invoice': invoice }),
      }),
    );
  }

  async markIssued(accountId: string, period: string, issuedAt: string): Promise<string> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(statementKey(accountId, period)),
          UpdateExpression: 'SET #status = :issued, issuedAt = :at',
          ConditionExpression: '#status = :frozen',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({ ':issued': 'issued', ':frozen': 'frozen', ':at': issuedAt }),
        }),
      );
      return issuedAt;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const current = await this.getStatement(accountId, period);
      if (current?.status !== 'issued' || !current.issuedAt) throw new Error(`statement ${accountId} ${period} could not be marked issued (status ${current?.status})`);
      return current.issuedAt;
    }
  }
}
