import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { buildChart } from './domain/chart.ts';
import { revenueByDay, toCsv, type RevenueRow } from './domain/export.ts';
import type { LedgerStore } from './domain/ports.ts';

/** Where export files go (an S3 bucket on AWS; a map in tests). */
export interface ObjectSink {
  put(key: string, body: string, contentType: string): Promise<void>;
}

export interface NightlyExportResult {
  date: string;
  rows: number;
  files: string[];
}

/** Object keys of a day's files: `revenue/2026/11/voltledger-revenue-2026-11-23.csv` (and `.json`). */
export const exportKeys = (date: string) => {
  const stem = `revenue/${date.slice(0, 4)}/${date.slice(5, 7)}/voltledger-revenue-${date}`;
  return { csv: `${stem}.csv`, json: `${stem}.json` };
};

/**
 * The nightly export: yesterday's (UTC) revenue by site, billing model and account, from the
 * ledger, as the same CSV and JSON `voltledger export` prints, written to the export bucket.
 * Rewriting a day gives the same files (the bucket is versioned, so nothing is lost either way).
 */
export function createNightlyExport(deps: { store: LedgerStore; sink: ObjectSink; clock: Clock; log: Log }) {
  return {
    async run(options: { date?: string } = {}): Promise<NightlyExportResult> {
      const date = options.date ?? new Date(deps.clock.now().getTime() - 86_400_000).toISOString().slice(0, 10);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(`${date}T00:00:00Z`))) throw new Error(`date must be yyyy-mm-dd, got "${date}"`);
      const chart = buildChart(await deps.store.getChartOverride());
      const rows: RevenueRow[] = revenueByDay(date, (await deps.store.entriesByDay(date)).map((p) => p.entry), chart);
      const keys = exportKeys(date);
      await deps.sink.put(keys.csv, toCsv(rows), 'text/csv; charset=utf-8');
      await deps.sink.put(keys.json, `${JSON.stringify({ date, rows }, null, 2)}\n`, 'application/json');
      deps.log.info('nightly export written', { date, rows: rows.length, files: [keys.csv, keys.json] });
      return { date, rows: rows.length, files: [keys.csv, keys.json] };
    },
  };
}
