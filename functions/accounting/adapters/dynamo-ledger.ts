import { BatchGetItemCommand, type BatchGetItemCommandOutput, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { batchPut, isConditionalCheckFailed, marshall, queryAll, unmarshall } from '../../shared/dynamo.ts';
import type { ChartOverride } from '../domain/chart.ts';
import { ConflictingEntryError } from '../domain/errors.ts';
import { entryRefs, sameMoney, utcDay, type JournalEntry } from '../domain/journal.ts';
import type { LedgerFact, LedgerStore, PostedEntry, StoredClosure, SyncRecord } from '../domain/ports.ts';
import { summarizeClosures, type Closure } from '../domain/posting-rules.ts';

const entryPk = (entryId: string) => `ENTRY#${entryId}`;
const factPk = (eventId: string) => `FACT#${eventId}`;
const closurePk = (sessionId: string) => `CLOSURE#${sessionId}`;
const pad = (n: number) => String(n).padStart(3, '0');

/**
 * The ledger in the Ledger table.
 *
 * - `ENTRY#<id>`/`ENTRY`: the entry with all its lines, written once with `attribute_not_exists`,
 *   so an entry is atomic (one item) and idempotent on its id. It is the ledger's truth.
 * - `ENTRY#<id>`/`LINE#nnn` (byAccount index) and `REF#<ref>`/`ENTRY#<id>` (by session, charge,
 *   refund, dispute, payout, balance transaction): derived copies for queries, written after the
 *   entry with plain idempotent puts; a retry of the event rewrites them, so a crash in between
 *   leaves nothing missing once the event is redelivered.
 * - `FACT#<eventId>`/`FACT` and `REF#<ref>`/`FACT#<eventId>`: the events the entries cite.
 * - `CLOSURE#<sessionId>`/`CLOSURE`: a string set of closing events (ADD is atomic and commutative).
 * - `SYNC#<entryId>`/`SYNC`, `CONFIG`/`CHART`, `RECON#<scope>`/`<runAt>`.
 *
 * dynalite, the local DynamoDB, has no TransactWriteItems; one item per entry needs none.
 */
export class DynamoLedgerStore implements LedgerStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async recordFact(fact: LedgerFact): Promise<void> {
    const day = utcDay(fact.date);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: factPk(fact.eventId), sk: 'FACT', type: 'fact', fact, gsi1pk: `FACTS#${day}`, gsi1sk: `${fact.date}#${fact.eventId}` }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    await batchPut(this.client, this.tableName, fact.refs.map((ref) => ({ pk: `REF#${ref}`, sk: `FACT#${fact.eventId}`, type: 'factRef', fact })));
  }

  async factsByRef(ref: string): Promise<LedgerFact[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: marshall({ ':pk': `REF#${ref}`, ':prefix': 'FACT#' }),
      ConsistentRead: true,
    });
    return items.map((i) => i.fact as LedgerFact);
  }

  async factsByDay(day: string): Promise<LedgerFact[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'byDay',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': `FACTS#${day}` }),
    });
    return items.map((i) => i.fact as LedgerFact);
  }

  async postEntry(entry: JournalEntry, postedAt: string): Promise<PostedEntry & { created: boolean }> {
    const day = utcDay(entry.date);
    let posted: PostedEntry = { entry, postedAt };
    let created = true;
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: marshall({ pk: entryPk(entry.entryId), sk: 'ENTRY', type: 'entry', entry, postedAt, gsi1pk: `ENTRIES#${day}`, gsi1sk: `${entry.date}#${entry.entryId}` }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const stored = (await this.getEntry(entry.entryId))!;
      if (!sameMoney(stored.entry, entry)) {
        throw new ConflictingEntryError(`entry ${entry.entryId} is already stored with different amounts; the stored entry stands (post a reversing entry to correct it)`);
      }
      posted = stored;
      created = false;
    }
    const e = posted.entry;
    await batchPut(this.client, this.tableName, [
      ...e.lines.map((line, n) => ({
        pk: entryPk(e.entryId),
        sk: `LINE#${pad(n)}`,
        type: 'line',
        entry: e,
        postedAt: posted.postedAt,
        gsi2pk: `ACCOUNT#${line.account}`,
        gsi2sk: `${e.date}#${e.entryId}#${pad(n)}`,
      })),
      ...entryRefs(e).map((ref) => ({ pk: `REF#${ref}`, sk: `ENTRY#${e.entryId}`, type: 'entryRef', entry: e, postedAt: posted.postedAt })),
    ]);
    return { ...posted, created };
  }

  async getEntry(entryId: string): Promise<PostedEntry | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: entryPk(entryId), sk: 'ENTRY' }), ConsistentRead: true }));
    if (!result.Item) return undefined;
    const item = unmarshall(result.Item);
    return { entry: item.entry, postedAt: item.postedAt };
  }

  async entriesByDay(day: string): Promise<PostedEntry[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'byDay',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': `ENTRIES#${day}` }),
    });
    return items.map((i) => ({ entry: i.entry, postedAt: i.postedAt }));
  }

  async entriesByRef(ref: string): Promise<PostedEntry[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: marshall({ ':pk': `REF#${ref}`, ':prefix': 'ENTRY#' }),
      ConsistentRead: true,
    });
    return items.map((i) => ({ entry: i.entry, postedAt: i.postedAt })).sort((a, b) => a.entry.date.localeCompare(b.entry.date));
  }

  async entriesByAccount(account: string, fromDay: string, toDay: string): Promise<PostedEntry[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'byAccount',
      KeyConditionExpression: 'gsi2pk = :pk AND gsi2sk BETWEEN :from AND :to',
      ExpressionAttributeValues: marshall({ ':pk': `ACCOUNT#${account}`, ':from': fromDay, ':to': `${toDay}~` }),
    });
    const seen = new Map<string, PostedEntry>();
    for (const i of items) seen.set(i.entry.entryId, { entry: i.entry, postedAt: i.postedAt });
    return [...seen.values()];
  }

  async closeSession(closure: Closure): Promise<{ closure: StoredClosure; created: boolean }> {
    const result = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: closurePk(closure.sessionId), sk: 'CLOSURE' }),
        UpdateExpression: 'ADD closedBy :source SET #type = :type, sessionId = :sessionId',
        ExpressionAttributeNames: { '#type': 'type' },
        ExpressionAttributeValues: { ...marshall({ ':type': 'closure', ':sessionId': closure.sessionId }), ':source': { SS: [JSON.stringify(closure)] } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const before = result.Attributes ? (unmarshall(result.Attributes).closedBy as Set<string> | undefined) : undefined;
    const all = [...(before ?? [])].map((s) => JSON.parse(s) as Closure);
    if (!all.some((c) => c.sourceId === closure.sourceId)) all.push(closure);
    return { closure: summarizeClosures(all)!, created: !before || before.size === 0 };
  }

  async closures(sessionIds: string[]): Promise<Map<string, StoredClosure>> {
    const out = new Map<string, StoredClosure>();
    const unique = [...new Set(sessionIds)];
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Array<Record<string, any>> | undefined = unique.slice(i, i + 100).map((id) => marshall({ pk: closurePk(id), sk: 'CLOSURE' }));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
        const result: BatchGetItemCommandOutput = await this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }));
        for (const raw of result.Responses?.[this.tableName] ?? []) {
          const item = unmarshall(raw);
          const summary = summarizeClosures([...((item.closedBy as Set<string>) ?? [])].map((s) => JSON.parse(s) as Closure));
          if (summary) out.set(item.sessionId, summary);
        }
        keys = result.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return out;
  }

  async getSync(entryId: string): Promise<SyncRecord | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: `SYNC#${entryId}`, sk: 'SYNC' }), ConsistentRead: true }));
    return result.Item ? (unmarshall(result.Item).record as SyncRecord) : undefined;
  }

  async putSync(record: SyncRecord): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.tableName,
        Item: marshall({
          pk: `SYNC#${record.entryId}`,
          sk: 'SYNC',
          type: 'sync',
          record,
          // Only dead letters carry the index keys, so listing them reads nothing else.
          ...(record.status === 'dead' ? { gsi1pk: 'SYNC#DEAD', gsi1sk: `${record.deadAt}#${record.entryId}` } : {}),
        }),
      }),
    );
  }

  async deadLetters(): Promise<SyncRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'byDay',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': 'SYNC#DEAD' }),
    });
    return items.map((i) => i.record as SyncRecord).filter((r) => r.status === 'dead');
  }

  async getChartOverride(): Promise<ChartOverride | undefined> {
    const result = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: 'CONFIG', sk: 'CHART' }), ConsistentRead: true }));
    return result.Item ? (unmarshall(result.Item).override as ChartOverride) : undefined;
  }

  async putChartOverride(override: ChartOverride): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall({ pk: 'CONFIG', sk: 'CHART', type: 'config', override }) }));
  }

  async saveReport(scope: string, runAt: string, report: unknown): Promise<void> {
    // A report can exceed what one attribute map handles comfortably; JSON keeps it whole.
    await this.client.send(
      new PutItemCommand({ TableName: this.tableName, Item: marshall({ pk: `RECON#${scope}`, sk: runAt, type: 'reconciliation', scope, runAt, reportJson: JSON.stringify(report), gsi1pk: 'RECONS', gsi1sk: `${runAt}#${scope}` }) }),
    );
  }

  async reports(scope: string, limit = 10): Promise<Array<{ scope: string; runAt: string; report: any }>> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: marshall({ ':pk': `RECON#${scope}` }),
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((raw) => {
      const item = unmarshall(raw);
      return { scope: item.scope, runAt: item.runAt, report: JSON.parse(item.reportJson) };
    });
  }
}
