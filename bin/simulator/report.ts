import type { SimulationSummary } from './simulation.ts';

/** A plain-text table: first row is the header, columns padded to their widest cell. */
export function textTable(rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, col) => (rightAligned.has(col) ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const ms = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(1));

/** The end-of-run summary the `simulate` command prints. */
export function formatSummary(summary: SimulationSummary): string {
  const { errors } = summary;
  const byCode = Object.entries(errors.callErrorsByCode).map(([code, n]) => `${code} ${n}`).join(', ');
  const overview = textTable(
    [
      ['', 'value'],
      ['charge points', String(summary.chargePoints)],
      ['sessions planned', String(summary.sessionsPlanned)],
      ['sessions started', String(summary.sessionsStarted)],
      ['sessions completed', String(summary.sessionsCompleted)],
      ['sessions failed', String(summary.sessionsFailed)],
      ['energy delivered', `${(summary.energyWh / 1000).toFixed(3)} kWh`],
      ['messages sent', String(summary.messagesSent)],
      ['CALLERRORs', errors.callErrors ? `${errors.callErrors} (${byCode})` : '0'],
      ['timeouts', String(errors.timeouts)],
      ['connection failures', String(errors.connectionFailures)],
      ['simulated time', `${(summary.simulatedSpanS / 3600).toFixed(1)} h per charge point (longest)`],
      ['real time', `${(summary.realDurationMs / 1000).toFixed(1)} s`],
      ['seed', summary.seed],
    ],
    new Set([1]),
  );
  const latencyRows = Object.entries(summary.latency).map(([action, l]) => [action, String(l.count), ms(l.p50Ms), ms(l.p99Ms), ms(l.meanMs), ms(l.maxMs)]);
  const latency = textTable([['action', 'calls', 'p50 ms', 'p99 ms', 'mean ms', 'max ms'], ...latencyRows], new Set([1, 2, 3, 4, 5]));
  const failures = summary.sessions
    .filter((s) => s.status === 'failed')
    .slice(0, 10)
    .map((s) => `  ${s.chargePointId} connector ${s.connectorId}${s.transactionId !== undefined ? ` tx ${s.transactionId}` : ''}: ${s.error ?? 'failed'}`);
  const more = summary.sessionsFailed > failures.length ? [`  ... and ${summary.sessionsFailed - failures.length} more`] : [];
  return [overview, '', 'Round-trip latency per action (includes waiting behind the charge point\'s previous call)', latency, ...(failures.length ? ['', 'Failed sessions', ...failures, ...more] : [])].join('\n');
}
