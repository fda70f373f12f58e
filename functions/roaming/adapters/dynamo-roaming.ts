import { GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand, type DynamoDBClient, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, marshall, queryAll, unmarshall } from '../../shared/dynamo.ts';
import { idTagKey } from '../domain/tokens.ts';
import type { CdrRecord, DeliveryAttempt, RoamingPartner, SiteLocation } from '../domain/model.ts';
import type { RoamingStore, StoredToken } from '../domain/ports.ts';

const keys = {
  partner: (partnerId: string) => ({ pk: `PARTNER#${partnerId}`, sk: 'PARTNER' }),
  token: (idTag: string) => ({ pk: `TOKEN#${idTagKey(idTag)}`, sk: 'TOKEN' }),
  location: (siteId: string) => ({ pk: `LOCATION#${siteId}`, sk: 'LOCATION' }),
  cdr: (cdrId: string) => ({ pk: `CDR#${cdrId}`, sk: 'CDR' }),
  attempt: (cdrId: string, n: number) => ({ pk: `CDR#${cdrId}`, sk: `ATTEMPT#${String(n).padStart(6, '0')}` }),
};

const strip = <T>(item: Record<string, unknown>): T => {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as T;
};

/**
 * The Roaming table: partners, tokens (by idTag, as Authorize's cache is keyed), site locations,
 * CDRs (`CDR#<id>`, written once, never edited: only their delivery status moves) and each
 * delivery attempt beside its CDR.
 */
export class DynamoRoamingStore implements RoamingStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  private async get<T>(key: { pk: string; sk: string }): Promise<T | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(key), ConsistentRead: true }));
    return result.Item ? strip<T>(unmarshall(result.Item)) : undefined;
  }

  private async put(item: Record<string, unknown>): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall(item) }));
  }

  getPartner(partnerId: string) {
    return this.get<RoamingPartner>(keys.partner(partnerId));
  }

  putPartner(partner: RoamingPartner) {
    return this.put({ ...keys.partner(partner.partnerId), ...partner });
  }

  getToken(idTag: string) {
    return this.get<StoredToken>(keys.token(idTag));
  }

  putToken(token: StoredToken) {
    return this.put({ ...keys.token(token.token.uid), ...token });
  }

  getLocation(siteId: string) {
    return this.get<SiteLocation>(keys.location(siteId));
  }

  putLocation(location: SiteLocation) {
    return this.put({ ...keys.location(location.siteId), ...location });
  }

  getCdr(cdrId: string) {
    return this.get<CdrRecord>(keys.cdr(cdrId));
  }

  async createCdr(record: CdrRecord): Promise<CdrRecord> {
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: marshall({ ...keys.cdr(record.cdrId), ...record }), ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return record;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      return (await this.getCdr(record.cdrId))!;
    }
  }

  async replaceHeldCdr(record: CdrRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ ...keys.cdr(record.cdrId), ...record }),
          ConditionExpression: '#status = :held',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({ ':held': 'held' }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Claims the right to push a CDR until `until` (a lease, so two deliveries of one event never
   * push it twice at once, and a crashed one frees it when the lease ends). False when it is
   * accepted already or another delivery holds the lease.
   */
  async claimPush(cdrId: string, at: string, until: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(keys.cdr(cdrId)),
          UpdateExpression: 'SET pushLeaseUntil = :until',
          ConditionExpression: 'attribute_exists(pk) AND #status <> :accepted AND (attribute_not_exists(pushLeaseUntil) OR pushLeaseUntil < :at)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({ ':until': until, ':at': at, ':accepted': 'accepted' }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** Ends a push lease early (the delivery finished, whatever its outcome). */
  async releasePush(cdrId: string): Promise<void> {
    await this.client.send(new UpdateItemCommand({ TableName: this.tableName, Key: marshall(keys.cdr(cdrId)), UpdateExpression: 'REMOVE pushLeaseUntil' }));
  }

  async nextAttempt(cdrId: string, at: string): Promise<number> {
    const result = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(keys.cdr(cdrId)),
        UpdateExpression: 'ADD attempts :one SET lastAttemptAt = :at',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: marshall({ ':one': 1, ':at': at }),
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(unmarshall(result.Attributes ?? {}).attempts);
  }

  recordAttempt(cdrId: string, attempt: DeliveryAttempt) {
    return this.put({ ...keys.attempt(cdrId, attempt.attempt), ...attempt });
  }

  async attempts(cdrId: string): Promise<DeliveryAttempt[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: marshall({ ':pk': `CDR#${cdrId}`, ':prefix': 'ATTEMPT#' }),
      ConsistentRead: true,
    });
    return items.map((item) => strip<DeliveryAttempt>(item));
  }

  async setStatus(cdrId: string, status: Exclude<CdrRecord['status'], 'held'>, fields: Partial<Pick<CdrRecord, 'reason' | 'acceptedAt' | 'partnerLocation'>>): Promise<CdrRecord> {
    const values: Record<string, unknown> = { ':status': status, ':accepted': 'accepted' };
    const sets = ['#status = :status'];
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      sets.push(`${name} = :${name}`);
      values[`:${name}`] = value;
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(keys.cdr(cdrId)),
          UpdateExpression: `SET ${sets.join(', ')}`,
          // An accepted CDR stays accepted: a late failure report of a retried push changes nothing.
          ConditionExpression: 'attribute_exists(pk) AND #status <> :accepted',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall(values),
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    return (await this.getCdr(cdrId))!;
  }

  async markCredited(cdrId: string, creditCdrId: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(keys.cdr(cdrId)),
          UpdateExpression: 'SET creditedBy = :credit',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(creditedBy) OR creditedBy = :credit)',
          ExpressionAttributeValues: marshall({ ':credit': creditCdrId }),
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async listCdrs(partnerId: string): Promise<CdrRecord[]> {
    // A filtered Scan: the admin view of one partner's CDRs; a GSI by partner would serve a large volume.
    const found: CdrRecord[] = [];
    let startKey: ScanCommandInput['ExclusiveStartKey'];
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          FilterExpression: 'sk = :sk AND partnerId = :partner',
          ExpressionAttributeValues: marshall({ ':sk': 'CDR', ':partner': partnerId }),
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) found.push(strip<CdrRecord>(unmarshall(item)));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}
