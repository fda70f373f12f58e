/** Latency figures for one action, in milliseconds. */
export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/**
 * Nearest-rank percentile of an ascending list (the value below which `p` % of samples fall); no
 * interpolation, so the figure is always a latency that was actually measured.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Summarises raw latencies (any order). */
export function summarizeLatencies(latencies: readonly number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    meanMs: sorted.length ? sum / sorted.length : Number.NaN,
    maxMs: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** Counts what a simulation sent and what went wrong, shared by all its charge points. */
export class SimulationStats {
  private readonly latencies = new Map<string, number[]>();
  messagesSent = 0;
  /** CALLERRORs received, by OCPP error code. */
  readonly callErrors: Record<string, number> = {};
  timeouts = 0;
  connectionFailures = 0;

  recordCall(action: string, latencyMs: number): void {
    this.messagesSent += 1;
    let list = this.latencies.get(action);
    if (!list) this.latencies.set(action, (list = []));
    list.push(latencyMs);
  }

  recordCallError(code: string): void {
    this.messagesSent += 1;
    this.callErrors[code] = (this.callErrors[code] ?? 0) + 1;
  }

  recordTimeout(): void {
    this.messagesSent += 1;
    this.timeouts += 1;
  }

  get callErrorCount(): number {
    return Object.values(this.callErrors).reduce((a, b) => a + b, 0);
  }

  latencyByAction(): Record<string, LatencySummary> {
    return Object.fromEntries([...this.latencies.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([action, list]) => [action, summarizeLatencies(list)]));
  }
}

/** Runs `work` over `items` with at most `limit` running at once; results keep the input order. */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
