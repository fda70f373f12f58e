import type { MeterReading } from './ports.ts';
import { parseScaled } from '../../shared/decimal.ts';

const REGISTER = 'Energy.Active.Import.Register';

/**
 * The latest energy register reading (Wh, rounded down) among stored samples, or undefined when
 * none carries one: the running cost prices the session as if it stopped at that reading.
 * Only whole-charger readings count (no `phase`), in Wh or kWh, read as exact decimals.
 */
export function latestRegisterWh(samples: readonly MeterReading[]): { wh: number; at: string } | undefined {
  let best: { wh: number; at: string } | undefined;
  for (const sample of samples) {
    for (const value of sample.sampledValue) {
      if ((value.measurand ?? REGISTER) !== REGISTER || value.phase) continue;
      const unit = value.unit ?? 'Wh';
      if (unit !== 'Wh' && unit !== 'kWh') continue;
      // Nano-units, then whole Wh by integer division: rounded down, never up.
      const nano = parseScaled(value.value ?? '', 9);
      if (nano === null || nano < 0n) continue;
      const wh = Number(unit === 'kWh' ? nano / 1_000_000n : nano / 1_000_000_000n);
      if (!best || sample.timestamp > best.at) best = { wh, at: sample.timestamp };
    }
  }
  return best;
}
