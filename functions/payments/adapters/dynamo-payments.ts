import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, marshall, queryAll, unmarshall } from '../../shared/dynamo.ts';
import type { CarryItem, ReaderAuthorization, ReaderRecord, SessionPayment } from '../domain/model.ts';
import type { PaymentPolicy, PolicyScope } from '../domain/policy.ts';

const paymentKey = (sessionId: string) => ({ pk: `SESSION#${sessionId}`, sk: 'PAYMENT' });
const policyKey = (scope: PolicyScope, id: string) => ({ pk: `POLICY#${scope}#${id}`, sk: 'POLICY' });
const readerKey = (readerId: string) => ({ pk: `READER#${readerId}`, sk: 'READER' });
const connectorPk = (chargePointId: string, connectorId: number) => `CONNECTOR#${chargePointId}#${connectorId}`;
const carryPk = (key: string) => `CARRY#${key}`;
const PENDING_AUTH = 'READERAUTH#PENDING';

/** Thrown when a conditional write lost a race: the caller re-reads and tries again. */
export class StaleWriteError extends Error {
  constructor(what: string) {
    super(`${what} changed concurrently`);
    this.name = 'StaleWriteError';
  }
}

/**
 * The Payments table. A session's payment is one item written with optimistic concurrency on
 * `version`; carried small amounts are one item per source session, claimed by a conditional
 * update, so consuming them needs no transaction (dynalite has none, and none is needed).
 */
export class DynamoPaymentStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(sessionId: string): Promise<SessionPayment | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(paymentKey(sessionId)), ConsistentRead: true }));
    if (!result.Item) return undefined;
    const { pk: _pk, sk: _sk, ...record } = unmarshall(result.Item);
    return record as SessionPayment;
  }

  /** Creates the record; false when one exists already. */
  async create(record: SessionPayment): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...paymentKey(record.sessionId), ...record }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Replaces the record if nobody wrote it since `expectedVersion`; returns the new record. @throws StaleWriteError */
  async save(record: SessionPayment, expectedVersion: number): Promise<SessionPayment> {
    const next = { ...record, version: expectedVersion + 1 };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...paymentKey(record.sessionId), ...next }),
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: marshall({ ':v': expectedVersion }),
        }),
      );
      return next;
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw new StaleWriteError(`payment of ${record.sessionId}`);
      throw error;
    }
  }

  /**
   * Read-modify-write with retries on a lost race: `change` returns the new record, or undefined
   * to leave it as it is.
   */
  async update(sessionId: string, change: (current: SessionPayment) => SessionPayment | undefined, attempts = 5): Promise<SessionPayment | undefined> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(sessionId);
      if (!current) return undefined;
      const next = change(current);
      if (!next) return current;
      try {
        return await this.save(next, current.version);
      } catch (error) {
        if (!(error instanceof StaleWriteError) || attempt >= attempts) throw error;
      }
    }
  }

  // --- carried small amounts --------------------------------------------------------------

  /** Carried amounts of a driver in a currency not yet consumed, plus those `sessionId` consumed already. */
  async carried(key: string, currency: string, sessionId: string): Promise<CarryItem[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :c)',
      ExpressionAttributeValues: marshall({ ':pk': carryPk(key), ':c': `${currency}#` }),
      ConsistentRead: true,
    });
    return items
      .map((i) => ({ fromSessionId: i.fromSessionId, currency: i.currency, amountMinor: i.amountMinor, ...(i.consumedBy ? { consumedBy: i.consumedBy } : {}) }))
      .filter((i) => (!i.consumedBy || i.consumedBy === sessionId) && i.fromSessionId !== sessionId);
  }

  /** Claims a carried amount for `sessionId`; false when another session took it first. */
  async claimCarried(key: string, item: CarryItem, sessionId: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: carryPk(key), sk: `${item.currency}#${item.fromSessionId}` }),
          UpdateExpression: 'SET consumedBy = :me',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(consumedBy) OR consumedBy = :me)',
          ExpressionAttributeValues: marshall({ ':me': sessionId }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Records a small amount to carry to the driver's next session (idempotent per session). */
  async carry(key: string, item: Omit<CarryItem, 'consumedBy'>, at: string): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: carryPk(key), sk: `${item.currency}#${item.fromSessionId}`, ...item, carriedAt: at }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  // --- policies ----------------------------------------------------------------------------

  async getPolicy(scope: PolicyScope, id: string): Promise<(PaymentPolicy & { updatedAt?: string }) | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(policyKey(scope, id)) }));
    return result.Item ? (JSON.parse(unmarshall(result.Item).policyJson) as PaymentPolicy) : undefined;
  }

  async putPolicy(scope: PolicyScope, id: string, policy: PaymentPolicy, at: string): Promise<void> {
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: marshall({ ...policyKey(scope, id), scope, scopeId: id, policyJson: JSON.stringify(policy), updatedAt: at }) }),
    );
  }

  async deletePolicy(scope: PolicyScope, id: string): Promise<void> {
    await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: marshall(policyKey(scope, id)) }));
  }

  // --- readers -----------------------------------------------------------------------------

  async getReader(readerId: string): Promise<ReaderRecord | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(readerKey(readerId)), ConsistentRead: true }));
    if (!result.Item) return undefined;
    const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, ...reader } = unmarshall(result.Item);
    return reader as ReaderRecord;
  }

  async putReader(reader: ReaderRecord): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall({ ...readerKey(reader.readerId), gsi1pk: 'READER', gsi1sk: reader.readerId, ...reader }) }));
  }

  async listReaders(): Promise<ReaderRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'listings',
      KeyConditionExpression: 'gsi1pk = :r',
      ExpressionAttributeValues: marshall({ ':r': 'READER' }),
    });
    return items.map(({ pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, ...reader }) => reader as ReaderRecord);
  }

  /** Stores a card authorized at a reader; idempotent per PaymentIntent. */
  async putReaderAuthorization(auth: ReaderAuthorization): Promise<ReaderAuthorization> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({
            pk: connectorPk(auth.chargePointId, auth.connectorId),
            sk: `READERAUTH#${auth.authorizedAt}#${auth.paymentIntentId}`,
            gsi1pk: PENDING_AUTH,
            gsi1sk: `${auth.expiresAt}#${auth.paymentIntentId}`,
            ...auth,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return auth;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return auth;
    }
  }

  /** Authorizations on a connector, newest first. */
  async readerAuthorizations(chargePointId: string, connectorId: number): Promise<ReaderAuthorization[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
        ExpressionAttributeValues: marshall({ ':pk': connectorPk(chargePointId, connectorId), ':a': 'READERAUTH#' }),
        ScanIndexForward: false,
        Limit: 20,
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map((i) => strip(unmarshall(i)) as ReaderAuthorization);
  }

  /** Matches an authorization to a session; false when another session (or a cancel) took it. */
  async claimReaderAuthorization(auth: ReaderAuthorization, sessionId: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: connectorPk(auth.chargePointId, auth.connectorId), sk: `READERAUTH#${auth.authorizedAt}#${auth.paymentIntentId}` }),
          UpdateExpression: 'SET claimedBySessionId = :s REMOVE gsi1pk, gsi1sk',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(canceledAt) AND (attribute_not_exists(claimedBySessionId) OR claimedBySessionId = :s)',
          ExpressionAttributeValues: marshall({ ':s': sessionId }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Marks an unmatched authorization cancelled, so no session can claim it any more; false when a
   * session claimed it first. It stays listed as pending until {@link markReaderAuthorizationReleased}
   * (after Stripe released the hold), so a failed release is retried by the next sweep.
   */
  async cancelReaderAuthorization(auth: ReaderAuthorization, at: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: connectorPk(auth.chargePointId, auth.connectorId), sk: `READERAUTH#${auth.authorizedAt}#${auth.paymentIntentId}` }),
          UpdateExpression: 'SET canceledAt = if_not_exists(canceledAt, :at)',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(claimedBySessionId)',
          ExpressionAttributeValues: marshall({ ':at': at }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** The hold of a cancelled authorization was released at Stripe: no longer pending. */
  async markReaderAuthorizationReleased(auth: ReaderAuthorization, at: string): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: connectorPk(auth.chargePointId, auth.connectorId), sk: `READERAUTH#${auth.authorizedAt}#${auth.paymentIntentId}` }),
        UpdateExpression: 'SET releasedAt = if_not_exists(releasedAt, :at) REMOVE gsi1pk, gsi1sk',
        ConditionExpression: 'attribute_exists(canceledAt)',
        ExpressionAttributeValues: marshall({ ':at': at }),
      }),
    );
  }

  async recordRemoteStart(auth: ReaderAuthorization, remoteStart: NonNullable<ReaderAuthorization['remoteStart']>): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: connectorPk(auth.chargePointId, auth.connectorId), sk: `READERAUTH#${auth.authorizedAt}#${auth.paymentIntentId}` }),
        UpdateExpression: 'SET remoteStart = :r',
        ExpressionAttributeValues: marshall({ ':r': remoteStart }),
      }),
    );
  }

  /** Unmatched authorizations whose window closed before `before`. */
  async expiredReaderAuthorizations(before: string): Promise<ReaderAuthorization[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'listings',
      KeyConditionExpression: 'gsi1pk = :p AND gsi1sk < :b',
      ExpressionAttributeValues: marshall({ ':p': PENDING_AUTH, ':b': before }),
    });
    return items.map((i) => strip(i) as ReaderAuthorization);
  }
}

function strip(item: Record<string, any>): Record<string, any> {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, ...rest } = item;
  return rest;
}
