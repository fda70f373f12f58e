import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../../functions/accounting/domain/journal.ts';
import type { LedgerStore, PostedEntry } from '../../../functions/accounting/domain/ports.ts';
import { S3ObjectSink, type S3Module } from '../../../functions/accounting/adapters/s3-sink.ts';
import { createNightlyExport, exportKeys } from '../../../functions/accounting/nightly-export.ts';
import { silentLog } from '../../../functions/shared/log.ts';

const entry = (entryId: string, date: string, amountMinor: number): JournalEntry =>
  ({
    entryId,
    date,
    currency: 'EUR',
    kind: 'session_priced',
    description: 'test',
    source: { eventId: `e-${entryId}`, detailType: 'SessionPriced' },
    refs: { siteId: 'berlin', billingModel: 'retail' },
    lines: [
      { account: 'driver_receivable', side: 'debit', amountMinor },
      { account: 'revenue_retail_energy', side: 'credit', amountMinor },
    ],
  }) as unknown as JournalEntry;

describe('nightly export', () => {
  it("writes yesterday's revenue as the CSV and JSON `voltledger export` prints, under revenue/YYYY/MM/", async () => {
    const asked: string[] = [];
    const store = {
      getChartOverride: async () => undefined,
      entriesByDay: async (day: string): Promise<PostedEntry[]> => {
        asked.push(day);
        return [entry('a', '2026-11-22T10:00:00.000Z', 1200), entry('b', '2026-11-22T18:00:00.000Z', 300)].map((e) => ({ entry: e, postedAt: e.date }) as PostedEntry);
      },
    } as unknown as LedgerStore;
    const files = new Map<string, { body: string; contentType: string }>();
    const nightly = createNightlyExport({ store, sink: { put: async (key, body, contentType) => void files.set(key, { body, contentType }) }, clock: { now: () => new Date('2026-11-23T03:00:00Z') }, log: silentLog });

    const result = await nightly.run();
    expect(asked).toEqual(['2026-11-22']);
    expect(result).toEqual({ date: '2026-11-22', rows: 1, files: ['revenue/2026/11/voltledger-revenue-2026-11-22.csv', 'revenue/2026/11/voltledger-revenue-2026-11-22.json'] });
    const csv = files.get(exportKeys('2026-11-22').csv)!;
    expect(csv.contentType).toBe('text/csv; charset=utf-8');
    expect(csv.body.split('\r\n')[1]).toBe('2026-11-22,EUR,berlin,retail,4000,Charging revenue - energy (retail),15.00,1500,2');
    const json = JSON.parse(files.get(exportKeys('2026-11-22').json)!.body);
    expect(json).toMatchObject({ date: '2026-11-22', rows: [{ amountMinor: 1500, entries: 2 }] });
  });

  it('re-exports a given day, and refuses a date that is not one', async () => {
    const store = { getChartOverride: async () => undefined, entriesByDay: async () => [] } as unknown as LedgerStore;
    const keys: string[] = [];
    const nightly = createNightlyExport({ store, sink: { put: async (key) => void keys.push(key) }, clock: { now: () => new Date('2026-11-23T03:00:00Z') }, log: silentLog });
    expect((await nightly.run({ date: '2026-02-01' })).rows).toBe(0);
    expect(keys).toEqual(['revenue/2026/02/voltledger-revenue-2026-02-01.csv', 'revenue/2026/02/voltledger-revenue-2026-02-01.json']);
    await expect(nightly.run({ date: '2026-2-1' })).rejects.toThrow(/yyyy-mm-dd/);
  });

  it('S3 sink: one client, PutObject into the configured bucket with the content type', async () => {
    const sent: unknown[] = [];
    let clients = 0;
    const sdk: S3Module = {
      S3Client: class {
        constructor() {
          clients++;
        }
        async send(command: unknown) {
          sent.push(command);
          return {};
        }
      },
      PutObjectCommand: class {
        constructor(readonly input: unknown) {}
      },
    };
    const sink = new S3ObjectSink('exports-bucket', () => sdk);
    await sink.put('revenue/a.csv', 'x', 'text/csv');
    await sink.put('revenue/a.json', '{}', 'application/json');
    expect(clients).toBe(1);
    expect(sent.map((c) => (c as { input: unknown }).input)).toEqual([
      { Bucket: 'exports-bucket', Key: 'revenue/a.csv', Body: 'x', ContentType: 'text/csv' },
      { Bucket: 'exports-bucket', Key: 'revenue/a.json', Body: '{}', ContentType: 'application/json' },
    ]);
  });
});
