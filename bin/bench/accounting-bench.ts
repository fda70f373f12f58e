import { performance } from 'node:perf_hooks';
import { silentLog } from '../../functions/shared/log.ts';
import { startLocalStack } from '../../lib/local/stack.ts';
import { summarizeLatencies } from '../simulator/stats.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { connectStrictChargePoint, energySample } from '../simulator/strict-charge-point.ts';
import type { BenchResult } from './types.ts';

export interface AccountingBenchOptions {
  /** Sessions run one after another on one connector (default 100). */
  sessions?: number;
  progress?: (line: string) => void;
}

const GOAL_MS = 1000;

/**
 * StopTransaction to journal entry at the accounting receiver, on an in-memory local stack: a real
 * OCPP client (ocpp-rpc, strict) runs a session on CP-001, sends StopTransaction and, at once, the
 * StatusNotification Available that completes the session (idle time after the stop is billable,
 * so pricing waits for the unplug). The clock runs from sending StopTransaction until the local
 * accounting receiver holds the session's `SessionPriced` entry: OCPP handler, SessionStopped and
 * SessionCompleted on the bus, pricing, SessionPriced, the ledger consumer, JournalEntryPosted,
 * the accounting sync and a signed HTTP POST to the receiver.
 */
export async function runAccountingBench(options: AccountingBenchOptions = {}): Promise<BenchResult> {
  const sessions = options.sessions ?? 100;
  const stack = await startLocalStack({ port: 0, sweepIntervalMs: 0, log: silentLog });
  const cp = await connectStrictChargePoint(stack.ocppUrl, 'CP-001', { password: DEMO.password });
  try {
    await cp.call('BootNotification', { chargePointVendor: 'VoltLedger', chargePointModel: 'Bench' });
    const latencies: number[] = [];
    const stopAnswers: number[] = [];
    // Simulated session times in the past, one hour apart, so nothing overlaps.
    const base = Date.parse('2026-06-01T00:00:00Z');
    for (let i = 0; i < sessions; i++) {
      const at = (minutes: number) => new Date(base + i * 3_600_000 + minutes * 60_000).toISOString();
      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing', timestamp: at(0) });
      const start = await cp.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 1000, timestamp: at(0) });
      const transactionId = start.transactionId as number;
      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: at(0) });
      await cp.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(at(10), 2800), energySample(at(20), 4600)] });
      const entryId = `SessionPriced:sess_${transactionId}`;
      const started = performance.now();
      await cp.call('StopTransaction', { transactionId, meterStop: 5000, timestamp: at(25), reason: 'EVDisconnected' });
      stopAnswers.push(performance.now() - started);
      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: at(26) });
      for (;;) {
        if (stack.accounting.receiver.received().some((r) => r.idempotencyKey === entryId)) break;
        if (performance.now() - started > 10_000) throw new Error(`${entryId} did not reach the accounting receiver within 10 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
      latencies.push(performance.now() - started);
      if ((i + 1) % 25 === 0) options.progress?.(`accounting: ${i + 1}/${sessions} sessions`);
    }
    const entry = summarizeLatencies(latencies);
    const stop = summarizeLatencies(stopAnswers);
    const ms = (n: number) => n.toFixed(1);
    return {
      name: 'Accounting: StopTransaction to journal entry at the receiver (local stack)',
      rows: [
        { metric: 'StopTransaction -> entry at the receiver, p50', value: ms(entry.p50Ms), unit: 'ms', goal: `<= ${GOAL_MS} ms`, met: entry.p50Ms <= GOAL_MS },
        { metric: 'StopTransaction -> entry at the receiver, p99', value: ms(entry.p99Ms), unit: 'ms', goal: `<= ${GOAL_MS} ms`, met: entry.p99Ms <= GOAL_MS },
        { metric: 'StopTransaction -> entry at the receiver, max', value: ms(entry.maxMs), unit: 'ms' },
        { metric: 'StopTransaction.conf, p50', value: ms(stop.p50Ms), unit: 'ms' },
      ],
      notes:
        `${sessions} sessions one after another on CP-001 (retail, DEMO-TOU tariff), StopTransaction followed at once by StatusNotification Available; ` +
        'the receiver polled every millisecond. In-memory dynalite and local bus in one process: the five hops (stop, completion, pricing, ledger, sync) each go through the local EventBridge over HTTP.',
    };
  } finally {
    await cp.close({ force: true });
    await stack.close();
  }
}
