import { ValidationError } from '../../shared/errors.ts';
import type { BillingProfile } from './billing-profile.ts';
import { timeBoundaries } from './boundaries.ts';
import { parseScaledToNumber } from '../../shared/decimal.ts';
import type { PricingPeriod, PricingWarning, Ratio } from './engine.ts';
import type { MeterValue, MeterValuesReq, StartTransactionReq, StatusNotificationReq, StopTransactionReq } from './ocpp.ts';
import { choosePricing, type PricingPlan } from './pricing-plan.ts';
import { plausibleSeries, type RegisterPoint } from './meter-series.ts';
import type { Tariff } from './tariff.ts';
import { assertTimeZone, instantOf } from '../../shared/time-zone.ts';

/** Everything pricing needs to know about one OCPP session. */
export interface SessionPricingInput {
  /** The tariff version snapshotted when the session started. */
  tariff: Tariff;
  /** The location's IANA time zone, for time-of-day and day-of-week restrictions. */
  timeZone: string;
  /** Snapshotted at session start; omitted means retail. */
  billingProfile?: BillingProfile;
  startTransaction: StartTransactionReq;
  meterValues: MeterValuesReq[];
  statusNotifications: StatusNotificationReq[];
  /** Omitted while the session is still running: it is then priced up to its last reading. */
  stopTransaction?: StopTransactionReq;
  /** The connector whose StatusNotifications count; defaults to startTransaction.connectorId. */
  connectorId?: number;
  /**
   * A reservation that preceded the session: made at `start_date_time`, ended when the session
   * started (StartTransaction). Priced by the tariff's RESERVATION elements (OCPI 2.2.1).
   */
  reservation?: { start_date_time: string };
  /** The charge point's rated power (registry `maxPowerKw`): readings rising faster are not billed (docs/meters.md). */
  maxPowerKw?: number;
}

export type PeriodState = 'CHARGING' | 'PARKING';

/** A charging period derived from OCPP data: charging (energy flows) or parking (plugged in, no power drawn). */
export interface ChargingPeriod extends PricingPeriod {
  state: PeriodState;
}

/** The session cut into charging periods at every instant that can change the price. */
export interface SessionPeriods {
  /** StartTransaction.timestamp. */
  startMs: number;
  /** StopTransaction.timestamp, or the last reading while the session runs. */
  stopMs: number;
  /** When the connector became Available again (or stopMs when that is unknown). */
  endMs: number;
  periods: ChargingPeriod[];
  /** Energy of the session, register readings made monotonic (never negative). */
  energyMilliWh: number;
  warnings: PricingWarning[];
}

const ENERGY_REGISTER = 'Energy.Active.Import.Register';
const CURRENT_IMPORT = 'Current.Import';
const SAMPLE_GAP_MS = 15 * 60_000;

/** Connector status as far as pricing cares. */
type Plug = 0 | 1 | 2;
const ACTIVE: Plug = 0;
/** SuspendedEV, SuspendedEVSE, Finishing: plugged in, no power drawn. */
const SUSPENDED: Plug = 1;
/** Available: nothing plugged in. */
const UNPLUGGED: Plug = 2;

function plugStateOf(status: string): Plug {
  if (status === 'SuspendedEV' || status === 'SuspendedEVSE' || status === 'Finishing') return SUSPENDED;
  if (status === 'Available') return UNPLUGGED;
  return ACTIVE;
}

interface Reading {
  at: number;
  milliWh: number;
  order: number;
}

interface CurrentReading {
  at: number;
  total: number | null;
  phaseSum: number;
  phases: number;
}

function instant(text: unknown, path: string): number {
  const at = typeof text === 'string' ? instantOf(text) : null;
  if (at === null) throw new ValidationError(`${path} must be an RFC 3339 date-time, got ${JSON.stringify(text)}`, path);
  return at;
}

/** Rounds a*b/c half up in exact integer arithmetic (a, b, c >= 0, c > 0). */
function mulDivRound(a: number, b: number, c: number): number {
  const product = a * b;
  if (product <= Number.MAX_SAFE_INTEGER) {
    const remainder = product % c;
    const quotient = (product - remainder) / c;
    return remainder * 2 >= c ? quotient + 1 : quotient;
  }
  const big = BigInt(a) * BigInt(b);
  const divisor = BigInt(c);
  return Number((big * 2n + divisor) / (divisor * 2n));
}

class WarningLog {
  readonly list: PricingWarning[] = [];
  private readonly seen = new Set<string>();
  add(code: string, message: string): void {
    if (this.seen.has(`${code}|${message}`)) return;
    this.seen.add(`${code}|${message}`);
    this.list.push({ code, message });
  }
}

function collectSamples(
  meterValues: readonly MeterValue[],
  path: string,
  readings: Reading[],
  currents: Map<number, CurrentReading>,
  warnings: WarningLog,
): void {
  meterValues.forEach((meterValue, valueIndex) => {
    const at = instant(meterValue.timestamp, `${path}[${valueIndex}].timestamp`);
    for (const sampled of meterValue.sampledValue ?? []) {
      const measurand = sampled.measurand ?? ENERGY_REGISTER;
      if (measurand !== ENERGY_REGISTER && measurand !== CURRENT_IMPORT) continue;
      if (sampled.format === 'SignedData') {
        warnings.add('UNREADABLE_SAMPLE', `${measurand} in SignedData format cannot be read and was ignored`);
        continue;
      }
      if (measurand === ENERGY_REGISTER) {
        if (sampled.phase !== undefined) continue; // the register total, not per-phase registers
        const unit = sampled.unit ?? 'Wh';
        const scale = unit === 'Wh' ? 3 : unit === 'kWh' ? 6 : -1;
        const milliWh = scale < 0 || typeof sampled.value !== 'string' ? null : parseScaledToNumber(sampled.value, scale);
        if (milliWh === null) {
          warnings.add('UNREADABLE_SAMPLE', `an energy register value ${JSON.stringify(sampled.value)} ${unit} at ${new Date(at).toISOString()} could not be read and was ignored`);
          continue;
        }
        readings.push({ at, milliWh, order: readings.length });
      } else {
        const unit = sampled.unit ?? 'A';
        const amps = unit === 'A' && typeof sampled.value === 'string' ? parseScaledToNumber(sampled.value, 4) : null;
        if (amps === null) {
          warnings.add('UNREADABLE_SAMPLE', `a Current.Import value ${JSON.stringify(sampled.value)} ${unit} could not be read and was ignored`);
          continue;
        }
        let current = currents.get(at);
        if (!current) {
          current = { at, total: null, phaseSum: 0, phases: 0 };
          currents.set(at, current);
        }
        if (sampled.phase === undefined) current.total = Math.abs(amps);
        else if (sampled.phase === 'L1' || sampled.phase === 'L2' || sampled.phase === 'L3') {
          current.phaseSum += Math.abs(amps);
          current.phases++;
        }
      }
    }
  });
}

interface Piece {
  a: number;
  b: number;
  ea: number;
  eb: number;
  charging: boolean;
  power: Ratio | null;
  current: Ratio | null;
}

const ZERO_RATIO: Ratio = { num: 0, den: 1 };

/**
 * Derives charging periods from a session's OCPP messages (method in docs/pricing.md):
 * - the energy register (Energy.Active.Import.Register, Wh or kWh) is read from MeterValues and
 *   StopTransaction.transactionData, sorted by time, de-duplicated, bounded by meterStart and
 *   meterStop, and made monotonic (a reading below an earlier one is flagged and held level);
 * - between two readings energy flows at a constant rate (linear interpolation), only during the
 *   time the connector status allows it (not SuspendedEV / SuspendedEVSE / Finishing / Available);
 * - time with energy flowing is charging (TIME); time plugged in without it is parking
 *   (PARKING_TIME), which runs on after StopTransaction until the connector is Available;
 * - periods are split at every instant that can change the price under `plan`: local times of
 *   day, midnights, DST transitions, duration thresholds and the instants the session's energy
 *   crosses min_kwh / max_kwh. Power and current are constant within a sampling interval, so
 *   their threshold crossings fall on readings, which are split points already.
 *
 * @throws ValidationError when a timestamp cannot be read or the stop precedes the start.
 */
export function sessionToChargingPeriods(input: SessionPricingInput, plan: PricingPlan = choosePricing(input.tariff, input.billingProfile).plan): SessionPeriods {
  assertTimeZone(input.timeZone);
  const warnings = new WarningLog();
  const start = input.startTransaction;
  const stop = input.stopTransaction;
  const connectorId = input.connectorId ?? start.connectorId;
  const startMs = instant(start.timestamp, 'startTransaction.timestamp');
  if (!Number.isInteger(start.meterStart) || start.meterStart < 0) throw new ValidationError('startTransaction.meterStart must be a whole number of Wh >= 0', 'startTransaction.meterStart');
  const meterStart = start.meterStart * 1000;
  let stopMs: number | null = null;
  if (stop) {
    stopMs = instant(stop.timestamp, 'stopTransaction.timestamp');
    if (stopMs < startMs) throw new ValidationError('stopTransaction.timestamp is before startTransaction.timestamp', 'stopTransaction.timestamp');
    if (!Number.isInteger(stop.meterStop) || stop.meterStop < 0) throw new ValidationError('stopTransaction.meterStop must be a whole number of Wh >= 0', 'stopTransaction.meterStop');
  }

  // 1. Register readings.
  const readings: Reading[] = [];
  const currents = new Map<number, CurrentReading>();
  input.meterValues.forEach((message, index) => {
    if (message.connectorId !== connectorId) return;
    if (stop && message.transactionId !== undefined && message.transactionId !== stop.transactionId) return;
    collectSamples(message.meterValue ?? [], `meterValues[${index}].meterValue`, readings, currents, warnings);
  });
  if (stop?.transactionData) collectSamples(stop.transactionData, 'stopTransaction.transactionData', readings, currents, warnings);

  for (let i = 1; i < readings.length; i++) {
    if (readings[i]!.at < readings[i - 1]!.at) {
      warnings.add('SAMPLES_OUT_OF_ORDER', 'meter readings arrived out of order; they were sorted by timestamp');
      break;
    }
  }
  readings.sort((x, y) => x.at - y.at || x.order - y.order);

  const endOfReadings = stopMs ?? (readings.length ? Math.max(startMs, readings[readings.length - 1]!.at) : startMs);
  const interior: RegisterPoint[] = [];
  let duplicates = 0;
  let outside = 0;
  for (let i = 0; i < readings.length; i++) {
    const reading = readings[i]!;
    const previous = i > 0 ? readings[i - 1] : undefined;
    if (previous && previous.at === reading.at) {
      if (previous.milliWh === reading.milliWh) duplicates++;
      else warnings.add('CONFLICTING_SAMPLES', `two different register readings at ${new Date(reading.at).toISOString()}; the first one received was used`);
      continue;
    }
    if (reading.at < startMs || reading.at > endOfReadings) {
      outside++;
      continue;
    }
    if (reading.at === startMs || (stopMs !== null && reading.at === stopMs)) {
      const authoritative = reading.at === startMs ? meterStart : stop!.meterStop * 1000;
      if (reading.milliWh !== authoritative) {
        warnings.add('CONFLICTING_SAMPLES', `a reading at ${reading.at === startMs ? 'the start' : 'the stop'} differs from ${reading.at === startMs ? 'meterStart' : 'meterStop'}, which was used`);
      }
      continue;
    }
    interior.push({ at: reading.at, milliWh: reading.milliWh });
  }
  if (duplicates) warnings.add('DUPLICATE_SAMPLES', `${duplicates} duplicate meter reading${duplicates === 1 ? ' was' : 's were'} ignored`);
  if (outside) warnings.add('SAMPLES_OUTSIDE_TRANSACTION', `${outside} meter reading${outside === 1 ? '' : 's'} outside the transaction's start and stop ${outside === 1 ? 'was' : 'were'} ignored`);
  if (stop) {
    if (readings.length === 0) warnings.add('NO_METER_VALUES', 'no energy register readings: the energy between meterStart and meterStop is spread evenly over the transaction');
  } else {
    warnings.add('SESSION_NOT_STOPPED', 'no StopTransaction: priced up to the last meter reading');
  }

  // 2. The plausible billing register (functions/pricing/domain/meter-series.ts, docs/meters.md):
  //    never negative, never faster than the connector's power, resets and rollovers counted, glitches dropped.
  const series = plausibleSeries({
    start: { at: startMs, milliWh: meterStart },
    readings: interior,
    ...(stop ? { stop: { at: stopMs!, milliWh: stop.meterStop * 1000 } } : {}),
    ...(input.maxPowerKw !== undefined ? { maxPowerKw: input.maxPowerKw } : {}),
  });
  for (const warning of series.warnings) warnings.add(warning.code, warning.message);
  const points = series.points;
  const received = [startMs, ...interior.map((point) => point.at), ...(stop ? [stopMs!] : [])];
  let longestGap = 0;
  for (let i = 1; i < received.length; i++) longestGap = Math.max(longestGap, received[i]! - received[i - 1]!);
  if (longestGap > SAMPLE_GAP_MS && received.length > 2) {
    warnings.add('SAMPLE_GAP', `meter readings are missing for up to ${Math.round(longestGap / 60_000)} min; energy across the gap is interpolated linearly`);
  }

  // 3. Connector status timeline.
  const statuses: Array<{ at: number; plug: Plug; status: string; order: number }> = [];
  input.statusNotifications.forEach((notification, index) => {
    if (notification.connectorId !== connectorId) return;
    if (notification.timestamp === undefined) {
      warnings.add('STATUS_WITHOUT_TIMESTAMP', 'a StatusNotification without timestamp cannot be placed in time and was ignored');
      return;
    }
    statuses.push({ at: instant(notification.timestamp, `statusNotifications[${index}].timestamp`), plug: plugStateOf(notification.status), status: notification.status, order: index });
  });
  statuses.sort((x, y) => x.at - y.at || x.order - y.order);
  let initial = ACTIVE;
  for (const status of statuses) if (status.at <= startMs && status.plug !== UNPLUGGED) initial = status.plug;
  const changes = statuses.filter((status) => status.at > startMs && (stopMs === null || status.at < stopMs));

  let endMs = endOfReadings;
  if (stop) {
    const unplugged = statuses.find((status) => status.plug === UNPLUGGED && status.at >= stopMs!);
    if (unplugged) endMs = unplugged.at;
    else if (stop.reason !== 'EVDisconnected') {
      warnings.add('NO_UNPLUG_STATUS', 'no StatusNotification Available after StopTransaction: parking after the stop is not counted');
    }
  }

  // 4. Pieces: stretches of constant power (charging) or of no power (parking).
  const pieces: Piece[] = [];
  const pushParking = (a: number, b: number, energy: number) => {
    if (b <= a) return;
    const last = pieces[pieces.length - 1];
    if (last && !last.charging && last.b === a) last.b = b;
    else pieces.push({ a, b, ea: energy, eb: energy, charging: false, power: ZERO_RATIO, current: ZERO_RATIO });
  };
  const currentList = [...currents.values()].sort((x, y) => x.at - y.at);
  let currentIndex = 0;
  let changeIndex = 0;
  let plug = initial;
  let suspendedWithEnergy = false;
  for (let i = 0; i + 1 < points.length; i++) {
    const from = points[i]!;
    const to = points[i + 1]!;
    const delta = to.milliWh - from.milliWh;
    // Current of the interval: the last Current.Import reading within (from, to].
    let current: Ratio | null = null;
    while (currentIndex < currentList.length && currentList[currentIndex]!.at <= to.at) {
      const reading = currentList[currentIndex]!;
      if (reading.at > from.at) {
        const amps = reading.total ?? (reading.phases > 0 ? reading.phaseSum : null);
        current = amps === null ? null : { num: amps, den: 1 };
      }
      currentIndex++;
    }
    // Sub-segments of the interval between status changes.
    const cuts: Array<{ a: number; b: number; plug: Plug }> = [];
    let cursor = from.at;
    while (changeIndex < changes.length && changes[changeIndex]!.at < to.at) {
      const change = changes[changeIndex]!;
      if (change.at > cursor) cuts.push({ a: cursor, b: change.at, plug });
      cursor = Math.max(cursor, change.at);
      plug = change.plug;
      changeIndex++;
    }
    cuts.push({ a: cursor, b: to.at, plug });

    if (delta <= 0) {
      for (const cut of cuts) if (cut.plug !== UNPLUGGED) pushParking(cut.a, cut.b, from.milliWh);
      continue;
    }
    let activeMs = 0;
    for (const cut of cuts) if (cut.plug === ACTIVE) activeMs += cut.b - cut.a;
    // Energy rose although no status allowed it: the statuses are wrong or late; the meter wins.
    const allDrawing = activeMs === 0;
    if (allDrawing) {
      if (to.at > from.at) suspendedWithEnergy = true;
      activeMs = to.at - from.at;
    }
    const power: Ratio | null = activeMs > 0 ? { num: delta * 36_000, den: activeMs } : null;
    let doneMs = 0;
    let energy = from.milliWh;
    for (const cut of cuts) {
      if (!allDrawing && cut.plug !== ACTIVE) {
        if (cut.plug !== UNPLUGGED) pushParking(cut.a, cut.b, energy);
        continue;
      }
      doneMs += cut.b - cut.a;
      const next = activeMs === 0 ? to.milliWh : from.milliWh + mulDivRound(delta, doneMs, activeMs);
      pieces.push({ a: cut.a, b: cut.b, ea: energy, eb: next, charging: true, power, current });
      energy = next;
    }
  }
  if (suspendedWithEnergy) {
    warnings.add('ENERGY_WHILE_SUSPENDED', 'the register rose while the connector reported no power draw (SuspendedEV/SuspendedEVSE/Finishing/Available); that energy was billed as charging');
  }
  const finalEnergy = points[points.length - 1]!.milliWh;
  if (stop) pushParking(stopMs!, endMs, finalEnergy);

  // 5. Split at every instant that can change the price.
  const periods: ChargingPeriod[] = [];
  const times = pieces.length ? timeBoundaries(plan, input.timeZone, startMs, startMs, endMs) : [];
  const thresholds = plan.energyThresholdsMilliWh.map((threshold) => meterStart + threshold);
  let timeIndex = 0;
  const emit = (piece: Piece, a: number, b: number, ea: number, eb: number) => {
    const current = piece.charging ? piece.current : ZERO_RATIO;
    periods.push({
      state: piece.charging ? 'CHARGING' : 'PARKING',
      startMs: a,
      endMs: b,
      energyMilliWh: eb - ea,
      timeMs: piece.charging ? b - a : 0,
      parkingMs: piece.charging ? 0 : b - a,
      energyBeforeMilliWh: ea - meterStart,
      powerForMin: piece.power,
      powerForMax: piece.power,
      currentForMin: current,
      currentForMax: current,
    });
  };
  for (const piece of pieces) {
    while (timeIndex < times.length && times[timeIndex]! <= piece.a) timeIndex++;
    const splits: Array<{ at: number; milliWh: number }> = [];
    for (let k = timeIndex; k < times.length && times[k]! < piece.b; k++) {
      const at = times[k]!;
      splits.push({ at, milliWh: piece.charging ? piece.ea + mulDivRound(piece.eb - piece.ea, at - piece.a, piece.b - piece.a) : piece.ea });
    }
    if (piece.charging) {
      for (const threshold of thresholds) {
        if (threshold <= piece.ea || threshold >= piece.eb) continue;
        splits.push({ at: piece.a + mulDivRound(threshold - piece.ea, piece.b - piece.a, piece.eb - piece.ea), milliWh: threshold });
      }
      splits.sort((x, y) => x.at - y.at || x.milliWh - y.milliWh);
    }
    let a = piece.a;
    let ea = piece.ea;
    for (const split of splits) {
      let at = split.at;
      const milliWh = Math.min(piece.eb, Math.max(ea, split.milliWh));
      if (at <= a) {
        if (a > piece.a) {
          // The same millisecond as the previous cut: the higher energy marks the boundary.
          if (milliWh > ea) {
            periods[periods.length - 1]!.energyMilliWh += milliWh - ea;
            ea = milliWh;
          }
          continue;
        }
        at = a + 1; // a threshold crossed within the first millisecond: keep that millisecond apart
      }
      if (at >= piece.b) continue;
      emit(piece, a, at, ea, milliWh);
      a = at;
      ea = milliWh;
    }
    emit(piece, a, piece.b, ea, piece.eb);
  }

  return { startMs, stopMs: stopMs ?? endOfReadings, endMs, periods, energyMilliWh: finalEnergy - meterStart, warnings: warnings.list };
}
