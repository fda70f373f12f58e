import { validateRequest } from './validation.ts';

/**
 * Lenient reading of meter data (docs/meters.md, "Frames that break the schema"): real charge
 * points send sampled values the OCPP 1.6 schema does not allow (errata 3.84: `unit: "Hertz"` for
 * Frequency). Refusing the whole MeterValues or StopTransaction would lose the energy reading in the
 * same frame, and a refused StopTransaction is retried forever. So, for these two actions only, a
 * sampledValue that breaks the schema is dropped, the rest is kept, and the deviation is recorded;
 * every other action, and any other violation in these two, is still refused.
 */

/** The actions whose sampled values are read leniently. */
export const LENIENT_METER_ACTIONS: ReadonlySet<string> = new Set(['MeterValues', 'StopTransaction']);

/** One sampledValue dropped from a frame, and why. */
export interface DroppedSampledValue {
  /** e.g. `meterValue.0.sampledValue.2` or `transactionData.0.sampledValue.1`. */
  path: string;
  description: string;
  sampledValue: unknown;
}

export interface SalvagedPayload {
  payload: Record<string, unknown>;
  dropped: DroppedSampledValue[];
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Stands in for the meter value's own timestamp, which is no sampled value's fault: the whole frame is checked again at the end. */
const CHECK_TIMESTAMP = '2000-01-01T00:00:00Z';

/**
 * A sampledValue checked on its own, wrapped in the smallest valid MeterValues frame (the same
 * SampledValue schema as StopTransaction's). A bad or missing meter value timestamp must not make
 * its sampled values look bad (they would be dropped and a StopTransaction accepted without them).
 */
function checkSampledValue(sampledValue: unknown): { ok: true } | { ok: false; description: string } {
  const outcome = validateRequest('MeterValues', { connectorId: 0, meterValue: [{ timestamp: CHECK_TIMESTAMP, sampledValue: [sampledValue] }] });
  return outcome.ok ? { ok: true } : { ok: false, description: outcome.description.replace('meterValue.0.sampledValue.0', 'sampledValue') };
}

/**
 * For a MeterValues or StopTransaction payload the schema refused: the payload without the sampled
 * values that break it, when that is all that is wrong (the result passes the schema); otherwise
 * undefined (refuse the frame as before). Meter values left with no sampled value are dropped too;
 * a MeterValues frame with nothing valid left is refused.
 */
export function salvageSampledValues(action: string, payload: Record<string, unknown>): SalvagedPayload | undefined {
  if (!LENIENT_METER_ACTIONS.has(action)) return undefined;
  const field = action === 'MeterValues' ? 'meterValue' : 'transactionData';
  const list = payload[field];
  if (!Array.isArray(list)) return undefined;
  const dropped: DroppedSampledValue[] = [];
  const kept: unknown[] = [];
  list.forEach((meterValue, i) => {
    if (!isObject(meterValue) || !Array.isArray(meterValue.sampledValue)) {
      kept.push(meterValue);
      return;
    }
    const values: unknown[] = [];
    meterValue.sampledValue.forEach((sampledValue, j) => {
      const check = checkSampledValue(sampledValue);
      if (check.ok) values.push(sampledValue);
      else dropped.push({ path: `${field}.${i}.sampledValue.${j}`, description: check.description, sampledValue });
    });
    if (values.length > 0 || meterValue.sampledValue.length === 0) kept.push({ ...meterValue, sampledValue: values });
  });
  if (dropped.length === 0) return undefined;
  const cleaned: Record<string, unknown> = { ...payload, [field]: kept };
  if (action === 'MeterValues' && kept.length === 0) return undefined;
  if (action === 'StopTransaction' && kept.length === 0) delete cleaned[field];
  return validateRequest(action, cleaned).ok ? { payload: cleaned, dropped } : undefined;
}
