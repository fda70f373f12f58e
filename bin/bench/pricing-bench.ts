import { performance } from 'node:perf_hooks';
import { parseTariff, priceSession, type MeterValuesReq, type SessionPricingInput, type Tariff } from '../../functions/pricing/domain/index.ts';
import type { BenchResult } from './types.ts';

/** A 24-element hourly time-of-use tariff (one ENERGY price per local hour), plus parking. */
export function hourlyTouTariff(): Tariff {
  const hh = (hour: number) => `${String(hour % 24).padStart(2, '0')}:00`;
  return parseTariff({
    country_code: 'DE',
    party_id: 'VLT',
    id: 'BENCH-TOU-24',
    currency: 'EUR',
    last_updated: '2024-01-01T00:00:00Z',
    elements: [
      ...Array.from({ length: 24 }, (_, hour) => ({
        price_components: [{ type: 'ENERGY', price: (25 + hour) / 100, vat: 19, step_size: 1 }],
        restrictions: { start_time: hh(hour), end_time: hh(hour + 1) },
      })),
      { price_components: [{ type: 'PARKING_TIME', price: 6, vat: 19, step_size: 60 }] },
    ],
  });
}

/** A session of `minutes` minutes at ~11 kW with one energy register sample per minute. */
export function minuteSampledSession(tariff: Tariff, startIso: string, minutes: number): SessionPricingInput {
  const start = Date.parse(startIso);
  const at = (minute: number) => new Date(start + minute * 60_000).toISOString();
  const meterStart = 1_234_567;
  const meterValue: MeterValuesReq['meterValue'] = [];
  for (let minute = 1; minute < minutes; minute++) {
    meterValue.push({
      timestamp: at(minute),
      sampledValue: [{ value: (meterStart + minute * 183 + (minute % 7)).toString(), context: 'Sample.Periodic', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }],
    });
  }
  return {
    tariff,
    timeZone: 'Europe/Berlin',
    billingProfile: { kind: 'retail', channel: 'card' },
    startTransaction: { connectorId: 1, idTag: 'BENCH', meterStart, timestamp: at(0) },
    meterValues: [{ connectorId: 1, transactionId: 42, meterValue }],
    statusNotifications: [
      { connectorId: 1, errorCode: 'NoError', status: 'Charging', timestamp: at(0) },
      { connectorId: 1, errorCode: 'NoError', status: 'Finishing', timestamp: at(minutes) },
      { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: at(minutes + 5) },
    ],
    stopTransaction: { meterStop: meterStart + minutes * 183, timestamp: at(minutes), transactionId: 42, reason: 'Local' },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Pricing throughput and latency on one core (this process, sequential calls):
 * - a 1-hour session with 1-minute samples under a 24-element hourly TOU tariff: sessions per
 *   second and p99 latency;
 * - a 24-hour session with 1-minute samples: p50 / p99 latency.
 * Sessions start at varying minutes of the day so they cross TOU boundaries.
 */
export async function runPricingBench(): Promise<BenchResult> {
  const tariff = hourlyTouTariff();
  const hourSessions = Array.from({ length: 64 }, (_, i) => minuteSampledSession(tariff, new Date(Date.UTC(2024, 2, 4, 0, 0) + i * 37 * 60_000).toISOString(), 60));
  const daySessions = Array.from({ length: 8 }, (_, i) => minuteSampledSession(tariff, new Date(Date.UTC(2024, 2, 4, 0, 0) + i * 173 * 60_000).toISOString(), 24 * 60));

  // Warm-up: JIT, time zone offset cache, tariff compilation.
  for (let i = 0; i < 3000; i++) priceSession(hourSessions[i % hourSessions.length]!);
  for (let i = 0; i < 50; i++) priceSession(daySessions[i % daySessions.length]!);

  const hourLatencies: number[] = [];
  const throughputStart = performance.now();
  let count = 0;
  while (performance.now() - throughputStart < 2000) {
    const t0 = performance.now();
    priceSession(hourSessions[count % hourSessions.length]!);
    hourLatencies.push(performance.now() - t0);
    count++;
  }
  const elapsedS = (performance.now() - throughputStart) / 1000;
  const perSecond = count / elapsedS;

  const dayLatencies: number[] = [];
  for (let i = 0; i < 400; i++) {
    const t0 = performance.now();
    priceSession(daySessions[i % daySessions.length]!);
    dayLatencies.push(performance.now() - t0);
  }
  hourLatencies.sort((a, b) => a - b);
  dayLatencies.sort((a, b) => a - b);
  const hourP99 = percentile(hourLatencies, 99);
  const dayP50 = percentile(dayLatencies, 50);
  const dayP99 = percentile(dayLatencies, 99);
  return {
    name: 'Pricing engine (priceSession, one core)',
    rows: [
      { metric: '1-hour sessions per second', value: perSecond.toFixed(0), unit: 'sessions/s', goal: '>= 5000', met: perSecond >= 5000 },
      { metric: '1-hour session p99 latency', value: (hourP99 * 1000).toFixed(0), unit: 'µs' },
      { metric: '24-hour session p50 latency', value: dayP50.toFixed(3), unit: 'ms', goal: '<= 2 ms', met: dayP50 <= 2 },
      { metric: '24-hour session p99 latency', value: dayP99.toFixed(3), unit: 'ms', goal: '<= 2 ms', met: dayP99 <= 2 },
    ],
    notes:
      `1-hour: 60 one-minute Energy.Active.Import.Register samples, 24-element hourly TOU tariff (Europe/Berlin), parking after stop; ` +
      `${count} sessions in ${elapsedS.toFixed(1)} s, sequential, including OCPP parsing, period derivation, pricing and output assembly. ` +
      `24-hour: 1440 samples, ${dayLatencies.length} runs. Warm (after JIT and cache warm-up); the tariff object is reused, as a snapshotted tariff is.`,
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) void runPricingBench().then((result) => console.log(JSON.stringify(result, null, 2)));
