import { textTable } from './report.ts';
import { ledgerSummary, type InvariantReport, type LedgerSummary } from './load-invariants.ts';
import type { CpuTime, LoadSimulationResult } from './load-simulation.ts';
import type { BenchResult } from '../bench/types.ts';

export const LOAD_GOALS = { messagesPerSecond: 500, authorizeP99Ms: 25 };

const fixed = (x: number | undefined, digits = 1) => (x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : '-');
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

/** The figures of a load run: the engine's result, or the same read back from `simulate --report json` (sessions as summaries). */
export type LoadFigures = Omit<LoadSimulationResult, 'sessions'> & { sessions: ArrayLike<unknown> };

export interface LoadReportContext {
  loadAverage?: string;
  /** Where the charge points ran (`bench load`): in the server's process, or in a process of their own. */
  clients?: 'in-process' | 'separate';
  /** The server's CPU over the clients' window and run, when the clients ran in another process. */
  serverCpu?: { window: CpuTime; run: CpuTime };
}

const cpuNote = (who: string, cpu: CpuTime) => `${who} ${fixed(cpu.userS, 1)} s user + ${fixed(cpu.systemS, 1)} s system (${fixed(cpu.cores, 2)} cores)`;

/** The load run as three Markdown-ready results: throughput and latency, the storm, the invariants. */
export function loadBenchResults(run: LoadFigures, invariants: InvariantReport | undefined, context: LoadReportContext = {}): BenchResult[] {
  const authorize = run.latency.Authorize;
  const clientCpu = run.cpu as LoadSimulationResult['cpu'] | undefined;
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
      met: authorize !== undefined && Number.isFinite(authorize.p99Ms) && authorize.p99Ms <= LOAD_GOALS.authorizeP99Ms,
    },
  ];
  if (clientCpu) {
    if (context.clients === 'separate' && context.serverCpu) {
      rows.push({ metric: 'CPU in the window: server / charge points', value: `${fixed(context.serverCpu.window.cores, 2)} / ${fixed(clientCpu.window.cores, 2)}`, unit: 'cores' });
    } else if (context.clients === 'in-process') {
      rows.push({ metric: 'CPU in the window (server and charge points in one process)', value: fixed(clientCpu.window.cores, 2), unit: 'cores' });
    } else {
      rows.push({ metric: 'CPU in the window (the charge points\' process)', value: fixed(clientCpu.window.cores, 2), unit: 'cores' });
    }
  }
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
  const mode = context.clients === 'separate' ? ', clients in a separate process' : context.clients === 'in-process' ? ', clients in the server\'s process' : '';
  const cpuNotes = !clientCpu
    ? ''
    : context.clients === 'separate' && context.serverCpu
      ? ` CPU (process.cpuUsage()) in the ${fixed(clientCpu.window.wallS, 1)} s window: ${cpuNote('server', context.serverCpu.window)}, ${cpuNote('charge points', clientCpu.window)}; ` +
        `over the whole run (connect to drain, ${fixed(clientCpu.run.wallS, 1)} s): ${cpuNote('server', context.serverCpu.run)}, ${cpuNote('charge points', clientCpu.run)}. ` +
        `The charge points ran in a child process (\`voltledger simulate\`), the server (local stack) in the bench's.`
      : ` CPU (process.cpuUsage()) in the ${fixed(clientCpu.window.wallS, 1)} s window: ${cpuNote(context.clients === 'in-process' ? 'server and charge points together' : 'the charge points\' process', clientCpu.window)}; ` +
        `over the whole run (connect to drain, ${fixed(clientCpu.run.wallS, 1)} s): ${fixed(clientCpu.run.cores, 2)} cores.` +
        (context.clients === 'in-process' ? ' Server and charge points shared one process and its event loop, so about one core at most (`--clients separate`, the default, splits them).' : '');
  const results: BenchResult[] = [
    {
      name: `OCPP load: ${run.chargePoints} charge points, ${run.durationS} s${mode}`,
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
        cpuNotes +
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
        ...(run.authorizeDuringStorm?.count
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

/** `simulate --report json` in load mode; `bench load` reads it back from its child process. */
export interface LoadJson extends Omit<LoadSimulationResult, 'sessions'> {
  sessionsSimulated: number;
  sessionsAcknowledged: number;
  /** Every session in brief (identity, transactionId, whether stop and unplug were acknowledged), without the samples. */
  ledger: LedgerSummary[];
  invariants: InvariantReport | null;
  /** The simulating process's CPU since it started (startup, provisioning and read-back included). */
  processCpu: CpuTime;
}

/** JSON for `--report json`: the figures, the checks and the sessions in brief (not their samples). */
export function loadJson(run: LoadSimulationResult, invariants: InvariantReport | undefined): LoadJson {
  const { sessions, ...figures } = run;
  const usage = process.cpuUsage();
  const uptimeS = process.uptime();
  return {
    ...figures,
    sessionsSimulated: sessions.length,
    sessionsAcknowledged: sessions.filter((s) => s.transactionId !== undefined).length,
    invariants: invariants ?? null,
    processCpu: { userS: usage.user / 1e6, systemS: usage.system / 1e6, wallS: uptimeS, cores: (usage.user + usage.system) / 1e6 / uptimeS },
    ledger: sessions.map(ledgerSummary),
  };
}
