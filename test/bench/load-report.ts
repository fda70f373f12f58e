import { textTable } from '../../bin/simulator/report.ts';
import type { InvariantReport } from './load-invariants.ts';
import type { LoadSimulationResult } from './load-simulation.ts';
import type { BenchResult } from './types.ts';

export const LOAD_GOALS = { messagesPerSecond: 500, authorizeP99Ms: 25 };

const fixed = (x: number | undefined, digits = 1) => (x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : '-');
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

/** The load run as three Markdown-ready results: throughput and latency, the storm, the invariants. */
export function loadBenchResults(run: LoadSimulationResult, invariants: InvariantReport | undefined, context: { loadAverage?: string } = {}): BenchResult[] {
  const authorize = run.latency.Authorize;
  const errors = sum(run.errors.callErrors) + run.errors.timeouts + sum(run.errors.messagesGivenUp) + run.errors.undelivered;
  const rows: BenchResult['rows'] = [
    { metric: 'charge points connected', value: `${run.connectedAtStart} / ${run.chargePoints}`, unit: '', goal: `${run.chargePoints}`, met: run.connectedAtStart === run.chargePoints },
    {
      metric: 'sustained rate (whole window, storm included)',
      value: fixed(run.messagesPerSecond, 0),
      unit: 'messages/s',
      goal: `>= ${LOAD_GOALS.messagesPerSecond}`,
      met: run.messagesPerSecond >= LOAD_GOALS.messagesPerSecond,
    },
    { metric: 'rate outside the storm', value: fixed(run.messagesPerSecondOutsideStorm, 0), unit: 'messages/s' },
    { metric: 'lowest 10 s outside the storm', value: fixed(run.minimum10sRate, 0), unit: 'messages/s' },
    { metric: 'messages acknowledged in the window', value: String(run.messagesInWindow), unit: 'messages' },
    { metric: 'window', value: fixed(run.windowS, 1), unit: 's' },
    {
      metric: 'Authorize p50 / p99',
      value: `${fixed(authorize?.p50Ms, 2)} / ${fixed(authorize?.p99Ms, 2)}`,
      unit: 'ms',
      goal: `p99 <= ${LOAD_GOALS.authorizeP99Ms} ms`,
      met: authorize !== undefined && authorize.p99Ms <= LOAD_GOALS.authorizeP99Ms,
    },
  ];
  for (const [action, l] of Object.entries(run.latency)) {
    if (action === 'Authorize') continue;
    rows.push({ metric: `${action} p50 / p99 (${l.count} calls)`, value: `${fixed(l.p50Ms, 2)} / ${fixed(l.p99Ms, 2)}`, unit: 'ms' });
  }
  rows.push(
    { metric: 'wait in the charge point\'s queue p50 / p99', value: `${fixed(run.queueWait.p50Ms, 1)} / ${fixed(run.queueWait.p99Ms, 1)}`, unit: 'ms' },
    { metric: 'CALLERRORs, timeouts, messages given up or undelivered', value: String(errors), unit: 'messages', goal: '0', met: errors === 0 },
    { metric: 'connections closed by the server', value: String(run.errors.unexpectedDisconnects), unit: '', goal: '0', met: run.errors.unexpectedDisconnects === 0 },
  );
  const perAction = Object.entries(run.messagesByAction)
    .sort(([, a], [, b]) => b - a)
    .map(([action, n]) => `${action} ${n}`)
    .join(', ');
  const results: BenchResult[] = [
    {
      name: `OCPP load: ${run.chargePoints} charge points, ${run.durationS} s`,
      rows,
      notes:
        `${run.chargePoints} ocpp-rpc clients (strict mode) connected in ${fixed(run.connectS, 1)} s and booted in ${fixed(run.bootS, 1)} s, then ran sessions back to back ` +
        `for ${run.durationS} s at ${run.timeCompression}x (MeterValues every ${run.meterIntervalS} simulated s, so every ${fixed(run.meterIntervalS / run.timeCompression, 2)} s per charging ` +
        `charge point), one CALL outstanding per charge point. ${run.sessions.length} sessions; all ${run.messagesTotal} CALLs acknowledged over the run: ${perAction}. ` +
        `The rate counts acknowledged CALLs in the window (from the end of the boot until the sessions were told to end). Latency is each CALL's round trip; ` +
        `the queue wait is how long a message waited behind its charge point's previous ones.` +
        (sum(run.errors.callErrors) ? ` CALLERRORs: ${list(run.errors.callErrors)}.` : '') +
        (sum(run.errors.messagesGivenUp) ? ` Given up: ${list(run.errors.messagesGivenUp)}.` : '') +
        (run.errors.undelivered ? ` ${run.errors.undelivered} messages were still queued when the drain timed out.` : '') +
        (context.loadAverage ? ` Load average (1 min) during the run: ${context.loadAverage}.` : '') +
        ` Seed ${run.seed}.`,
    },
  ];
  const storm = run.storm;
  if (storm) {
    const inFlight = sum(storm.inFlightAtDrop);
    results.push({
      name: 'OCPP load: reconnect storm',
      rows: [
        { metric: 'charge points dropped at once', value: String(storm.chargePoints), unit: '' },
        { metric: 'offline', value: fixed(storm.offlineS, 1), unit: 's' },
        { metric: 'CALLs in flight at the drop (answer lost, sent again)', value: String(inFlight), unit: 'messages' },
        { metric: 'messages queued offline', value: String(sum(storm.queuedOffline)), unit: 'messages' },
        { metric: 'sessions started offline (local authorization)', value: String(storm.sessionsStartedOffline), unit: 'sessions' },
        { metric: 'messages replayed after the reconnect', value: String(storm.replayed), unit: 'messages' },
        { metric: 'reconnect p50 / p99 / max', value: `${fixed(storm.reconnect.p50Ms, 0)} / ${fixed(storm.reconnect.p99Ms, 0)} / ${fixed(storm.reconnect.maxMs, 0)}`, unit: 'ms' },
        { metric: 'reconnect failures', value: String(storm.reconnectFailures), unit: '', goal: '0', met: storm.reconnectFailures === 0 },
        { metric: 'all reconnected after', value: fixed(storm.allReconnectedS, 1), unit: 's' },
        { metric: 'backlog delivered after', value: fixed(storm.backlogDrainedS, 1), unit: 's' },
        { metric: 'rate while the backlog drained', value: fixed(storm.drainRate, 0), unit: 'messages/s' },
        ...(run.authorizeDuringStorm && run.authorizeDuringStorm.count
          ? [{ metric: `Authorize p50 / p99 during the storm (${run.authorizeDuringStorm.count} calls)`, value: `${fixed(run.authorizeDuringStorm.p50Ms, 1)} / ${fixed(run.authorizeDuringStorm.p99Ms, 1)}`, unit: 'ms' }]
          : []),
      ],
      notes:
        `${storm.atS} s into the run every charge point's WebSocket was terminated in the same tick (no close handshake, as when a site's uplink fails). ` +
        `Offline, the charge points kept charging: transaction messages and StatusNotifications were queued with their original timestamps, drivers were ` +
        `authorized locally, and StartTransactions were queued (the MeterValues and StopTransaction behind them get the transactionId once it is answered). ` +
        `After ${storm.offlineS} s all reconnected at once and replayed their queues in order, one CALL outstanding each; a CALL whose answer was lost was sent again ` +
        `with the same content. In flight at the drop: ${list(storm.inFlightAtDrop)}. Queued offline: ${list(storm.queuedOffline)}.`,
    });
  }
  if (invariants) results.push(invariantResult(invariants));
  return results;
}

export function invariantResult(report: InvariantReport): BenchResult {
  return {
    name: 'OCPP load: invariants (read back through the admin API)',
    rows: report.checks.map((c) => ({
      metric: c.name,
      value: String(c.value),
      unit: 'sessions',
      ...(c.expected !== undefined ? { goal: String(c.expected), met: c.ok } : {}),
    })),
    notes:
      `Every session a charge point saw acknowledged was read back (${report.sessionsRead} sessions, ${fixed(report.readBackS, 1)} s, waiting for asynchronous pricing) and compared ` +
      `with what the charge point sent: start (transactionId, connector, time, meter), every acknowledged MeterValues reading, the stop, the completion by the unplug ` +
      `and the price; each charge point's stored sessions of this run were listed to find any the charge points never started.` +
      (report.checks.some((c) => c.ok === false)
        ? ` Failed: ${report.checks
            .filter((c) => c.ok === false)
            .map((c) => `${c.name}: ${c.examples.join('; ')}`)
            .join(' | ')}`
        : ''),
  };
}

/** The plain-text summary `voltledger simulate` prints in load mode. */
export function formatLoadText(run: LoadSimulationResult, invariants: InvariantReport | undefined): string {
  const sections: string[] = [];
  for (const result of loadBenchResults(run, invariants)) {
    sections.push(
      result.name,
      textTable(
        [['', 'value', 'unit', 'goal', 'met'], ...result.rows.map((r) => [r.metric, r.value, r.unit, r.goal ?? '', r.met === undefined ? '' : r.met ? 'yes' : 'NO'])],
        new Set([1]),
      ),
      '',
    );
    const failing = result.name.includes('invariants') ? invariants?.checks.filter((c) => c.ok === false && c.examples.length) ?? [] : [];
    for (const c of failing) sections.push(`${c.name}:`, ...c.examples.map((e) => `  ${e}`), '');
  }
  if (!invariants) sections.push('Invariants not checked: pass --admin-token (or set ADMIN_TOKEN) to read the sessions back through the admin API.');
  return sections.join('\n').trimEnd();
}

/** JSON for `--report json`: the figures and the checks, without the per-session ledger. */
export function loadJson(run: LoadSimulationResult, invariants: InvariantReport | undefined): unknown {
  const { sessions, ...figures } = run;
  return {
    ...figures,
    sessionsSimulated: sessions.length,
    sessionsAcknowledged: sessions.filter((s) => s.transactionId !== undefined).length,
    invariants: invariants ?? null,
  };
}
