import type { Random } from './random.ts';

/** A car model as the charging curve sees it. */
export interface Vehicle {
  model: string;
  batteryKwh: number;
  /** On-board charger limit for AC charging. */
  maxAcKw: number;
  /** Peak DC power the battery accepts. */
  maxDcKw: number;
}

/** A spread of common battery sizes and charging limits (round figures, not any one brand). */
export const VEHICLES: readonly Vehicle[] = [
  { model: 'compact-40', batteryKwh: 40, maxAcKw: 7.4, maxDcKw: 50 },
  { model: 'hatchback-58', batteryKwh: 58, maxAcKw: 11, maxDcKw: 120 },
  { model: 'suv-77', batteryKwh: 77, maxAcKw: 11, maxDcKw: 170 },
  { model: 'sedan-95', batteryKwh: 95, maxAcKw: 22, maxDcKw: 250 },
];

/** Above 43 kW a charge point is DC: IEC 61851 AC charging tops out at 43 kW (63 A, 3 phases). */
const MAX_AC_KW = 43;
/** Constant power up to this state of charge, then the battery management tapers it. */
const TAPER_FROM_SOC = 0.8;
/** The taper never goes below this share of peak power (balancing the last cells still draws some). */
const TAPER_FLOOR = 0.08;
/** Share of metered energy that ends up in the battery (charger and battery losses). */
const CHARGING_EFFICIENCY = 0.9;
/** Integration step: fine enough that the taper is followed smoothly within a sampling interval. */
const INTEGRATION_STEP_S = 10;
const AC_VOLTAGE_PER_PHASE = 230;
const AC_PHASES = 3;
/** A nominal pack voltage for the DC current figure (400 V class battery). */
const DC_PACK_VOLTAGE = 400;

export type ChargerKind = 'AC' | 'DC';

export function chargerKind(maxPowerKw: number): ChargerKind {
  return maxPowerKw > MAX_AC_KW ? 'DC' : 'AC';
}

/** The power the car draws at a state of charge (0..1), capped by the charge point and the car. */
export function chargingPowerKw(soc: number, chargePointMaxKw: number, vehicle: Vehicle): number {
  const kind = chargerKind(chargePointMaxKw);
  const peak = Math.min(chargePointMaxKw, kind === 'AC' ? vehicle.maxAcKw : vehicle.maxDcKw);
  if (soc >= 1) return 0;
  if (soc < TAPER_FROM_SOC) return peak;
  // Linear taper from peak at 80 % to zero at 100 %, with a floor: the usual CC-CV shape, simplified.
  return peak * Math.max(TAPER_FLOOR, (1 - soc) / (1 - TAPER_FROM_SOC));
}

/** One reading the charge point reports: what its meter and the car say at that moment. */
export interface PlannedSample {
  /** Simulated seconds since the car was plugged in. */
  offsetS: number;
  /** Energy delivered since StartTransaction, in Wh (whole Wh, as the register counts). */
  energyWh: number;
  powerW: number;
  currentA: number;
  socPercent: number;
  /** Connector status at the time: drawing power, or plugged in but the car has finished. */
  phase: 'Charging' | 'SuspendedEV';
}

/**
 * One charging session, worked out before it is played: every offset is in simulated seconds
 * since the car was plugged in (Preparing). Knowing the whole span in advance lets the simulator
 * start its clock in the past so that no timestamp lies in the future.
 */
export interface SessionPlan {
  vehicle: Vehicle;
  kind: ChargerKind;
  connectorId: number;
  startSoc: number;
  targetSoc: number;
  authorizeAtS: number;
  startAtS: number;
  /** When the car stopped drawing power (SuspendedEV), or the stop if the driver left earlier. */
  chargingEndsAtS: number;
  stopAtS: number;
  unplugAtS: number;
  /** Periodic samples, every sampling interval from StartTransaction until the stop. */
  samples: PlannedSample[];
  /** The reading at StopTransaction, sent as its transactionData. */
  finalSample: PlannedSample;
  /** meterStop - meterStart. */
  energyWh: number;
}

export interface PlanOptions {
  connectorId: number;
  chargePointMaxKw: number;
  sampleMinutes: number;
  /** Pick this car instead of a random one. */
  vehicle?: Vehicle;
}

/**
 * Plans a realistic session: the driver plugs in, taps a card, the car charges at constant power
 * to ~80 % then tapers, stops drawing at its target (or the driver leaves first), sits idle for a
 * while, the driver stops the transaction and unplugs.
 */
export function planSession(random: Random, options: PlanOptions): SessionPlan {
  const vehicle = options.vehicle ?? random.pick(VEHICLES);
  const kind = chargerKind(options.chargePointMaxKw);
  const startSoc = random.between(0.1, 0.5);
  // DC drivers usually leave around 80 %; AC drivers (home, work, overnight) charge fuller.
  const targetSoc = kind === 'DC' ? random.between(0.78, 0.9) : random.between(0.8, 0.97);
  // People do not wait forever: a cap on charging time, longer for AC (parked at work or overnight).
  const maxChargingS = kind === 'DC' ? random.int(35, 70) * 60 : random.int(3 * 60, 7 * 60) * 60;
  const idleS = kind === 'DC' ? random.int(2, 12) * 60 : random.int(10, 45) * 60;

  const authorizeAtS = random.int(15, 90);
  const startAtS = authorizeAtS + random.int(3, 10);
  // Whole multiples of the integration step, so every boundary falls on a step.
  const sampleS = Math.max(INTEGRATION_STEP_S, Math.round((options.sampleMinutes * 60) / INTEGRATION_STEP_S) * INTEGRATION_STEP_S);

  const batteryWh = vehicle.batteryKwh * 1000;
  let soc = startSoc;
  let deliveredWh = 0;
  let t = 0;
  let chargingEndsAtS: number | undefined;
  const samples: PlannedSample[] = [];
  const reading = (offset: number, power: number, phase: PlannedSample['phase']): PlannedSample => ({
    offsetS: startAtS + offset,
    energyWh: Math.floor(deliveredWh),
    powerW: Math.round(power * 1000),
    currentA: round1(currentFor(power * 1000, kind)),
    socPercent: Math.min(100, Math.round(soc * 100)),
    phase,
  });

  // Charging: integrate in small steps, record a sample at every sampling boundary.
  while (chargingEndsAtS === undefined) {
    const powerKw = chargingPowerKw(soc, options.chargePointMaxKw, vehicle);
    const step = INTEGRATION_STEP_S;
    const wh = (powerKw * 1000 * step) / 3600;
    deliveredWh += wh;
    soc = Math.min(1, soc + (wh * CHARGING_EFFICIENCY) / batteryWh);
    t += step;
    const done = soc >= targetSoc || t >= maxChargingS;
    if (done) chargingEndsAtS = startAtS + t;
    if (t % sampleS === 0) samples.push(reading(t, done ? 0 : chargingPowerKw(soc, options.chargePointMaxKw, vehicle), done ? 'SuspendedEV' : 'Charging'));
  }
  const chargingS = t;

  // Idle tail: still plugged in, no energy flowing; samples keep coming with power 0.
  const stopOffset = chargingS + idleS + random.int(1, 59);
  for (let s = Math.floor(chargingS / sampleS) * sampleS + sampleS; s < stopOffset; s += sampleS) {
    samples.push(reading(s, 0, 'SuspendedEV'));
  }
  const finalSample = reading(stopOffset, 0, 'SuspendedEV');
  const stopAtS = startAtS + stopOffset;
  // Finishing after the stop, then the cable comes out a minute or two later.
  const unplugAtS = stopAtS + random.int(30, 180);

  return {
    vehicle,
    kind,
    connectorId: options.connectorId,
    startSoc,
    targetSoc,
    authorizeAtS,
    startAtS,
    chargingEndsAtS: chargingEndsAtS,
    stopAtS,
    unplugAtS,
    samples,
    finalSample,
    energyWh: finalSample.energyWh,
  };
}

function currentFor(powerW: number, kind: ChargerKind): number {
  return kind === 'AC' ? powerW / (AC_VOLTAGE_PER_PHASE * AC_PHASES) : powerW / DC_PACK_VOLTAGE;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
