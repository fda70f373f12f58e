/** What one benchmark reports; `voltledger bench` prints these as Markdown for BENCHMARKS.md. */
export interface BenchResult {
  name: string;
  /** Rows of measured figures, e.g. { metric: 'p99 latency', value: '1.9', unit: 'ms', goal: '<= 25 ms' }. */
  rows: Array<{ metric: string; value: string; unit: string; goal?: string; met?: boolean }>;
  /** Free text: workload, sample counts, caveats. */
  notes?: string;
}
