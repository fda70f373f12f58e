import { DEMO } from '../../lib/local/seed.ts';
import { planChargePoint, SimulatedChargePoint, SimulatedTimeline, type SessionOutcome } from './charge-point.ts';
import { provisionChargePoints, type SimulatorChargePoint } from './provisioning.ts';
import { seededRandom } from './random.ts';
import { mapWithConcurrency, SimulationStats, type LatencySummary } from './stats.ts';

export interface SimulationOptions {
  /** OCPP endpoint without the identity, e.g. `ws://127.0.0.1:8080/ocpp`. */
  url: string;
  chargePoints: number;
  sessionsPerChargePoint: number;
  /** Simulated seconds per real second (600: ten simulated minutes per second). */
  speed: number;
  /** Simulated minutes between MeterValues. */
  sampleMinutes: number;
  idTag: string;
  password: string;
  /** With a token, SIM-0001... and the idTag are provisioned through the admin API first. */
  adminUrl?: string;
  adminToken?: string;
  /** Charge points running at once (default: all). */
  concurrency?: number;
  connectorsPerChargePoint?: number;
  /** Seed of the random plans; the same seed replays the same cars and sessions. */
  seed?: string | number;
  callTimeoutMs?: number;
  /** Called after every session (for progress bars). */
  onSession?: (outcome: SessionOutcome, stats: SimulationStats) => void;
}

export interface SimulationSummary {
  chargePoints: number;
  sessionsPlanned: number;
  /** Sessions that got a transactionId. */
  sessionsStarted: number;
  /** Sessions played to the unplug with every message acknowledged. */
  sessionsCompleted: number;
  sessionsFailed: number;
  energyWh: number;
  messagesSent: number;
  errors: {
    callErrors: number;
    callErrorsByCode: Record<string, number>;
    timeouts: number;
    connectionFailures: number;
  };
  latency: Record<string, LatencySummary>;
  /** Simulated time covered by the busiest charge point, in seconds. */
  simulatedSpanS: number;
  realDurationMs: number;
  seed: string;
  sessions: SessionOutcome[];
}

/** Raised for options the simulator cannot run with; the message says what to change. */
export class SimulationOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationOptionsError';
  }
}

/**
 * Drives `chargePoints` simulated charge points through `sessionsPerChargePoint` sessions each
 * against an OCPP 1.6J endpoint, and reports what was sent and what went wrong. Each charge point's
 * simulated clock starts `span` before now, so its last message is stamped no later than now.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationSummary> {
  validate(options);
  const seed = String(options.seed ?? Date.now());
  const startedAt = performance.now();

  const chargePoints = await resolveChargePoints(options);
  const stats = new SimulationStats();
  const connectors = options.connectorsPerChargePoint ?? 2;
  let simulatedSpanS = 0;

  const perChargePoint = await mapWithConcurrency(chargePoints, options.concurrency ?? chargePoints.length, async (cp) => {
    const random = seededRandom(`${seed}:${cp.chargePointId}`);
    const plan = planChargePoint(random, { sessions: options.sessionsPerChargePoint, connectors, maxPowerKw: cp.maxPowerKw, sampleMinutes: options.sampleMinutes });
    simulatedSpanS = Math.max(simulatedSpanS, plan.spanS);
    // A minute of slack so the last unplug is still a minute in the past when it is sent.
    const timeline = new SimulatedTimeline(Date.now() - plan.spanS * 1000 - 60_000, options.speed);
    const chargePoint = new SimulatedChargePoint({
      chargePointId: cp.chargePointId,
      url: options.url,
      password: options.password,
      maxPowerKw: cp.maxPowerKw,
      connectors,
      stats,
      ...(options.callTimeoutMs ? { callTimeoutMs: options.callTimeoutMs } : {}),
    });
    const outcomes: SessionOutcome[] = [];
    const failAll = (error: unknown, from: number) => {
      for (const { plan: session } of plan.sessions.slice(from)) {
        const outcome: SessionOutcome = {
          chargePointId: cp.chargePointId,
          connectorId: session.connectorId,
          idTag: options.idTag,
          status: 'failed',
          error: error instanceof Error ? error.message : String(error),
          meterStartWh: 0,
          energyWh: 0,
          meterValuesSent: 0,
          samplesSent: 0,
        };
        outcomes.push(outcome);
        options.onSession?.(outcome, stats);
      }
    };
    try {
      await chargePoint.connect();
      await chargePoint.boot(timeline, random);
    } catch (error) {
      failAll(error, 0);
      await chargePoint.close();
      return outcomes;
    }
    for (const { baseS, plan: session } of plan.sessions) {
      const outcome = await chargePoint.runSession(session, baseS, timeline, options.idTag);
      outcomes.push(outcome);
      options.onSession?.(outcome, stats);
    }
    await chargePoint.close();
    return outcomes;
  });

  const sessions = perChargePoint.flat();
  return {
    chargePoints: chargePoints.length,
    sessionsPlanned: chargePoints.length * options.sessionsPerChargePoint,
    sessionsStarted: sessions.filter((s) => s.transactionId !== undefined).length,
    sessionsCompleted: sessions.filter((s) => s.status === 'completed').length,
    sessionsFailed: sessions.filter((s) => s.status === 'failed').length,
    energyWh: sessions.reduce((sum, s) => sum + (s.status === 'completed' ? s.energyWh : 0), 0),
    messagesSent: stats.messagesSent,
    errors: {
      callErrors: stats.callErrorCount,
      callErrorsByCode: { ...stats.callErrors },
      timeouts: stats.timeouts,
      connectionFailures: stats.connectionFailures,
    },
    latency: stats.latencyByAction(),
    simulatedSpanS,
    realDurationMs: performance.now() - startedAt,
    seed,
    sessions,
  };
}

async function resolveChargePoints(options: SimulationOptions): Promise<SimulatorChargePoint[]> {
  if (options.adminToken) {
    if (!options.adminUrl) throw new SimulationOptionsError('an admin token needs an admin URL (--admin-url)');
    return provisionChargePoints({
      adminUrl: options.adminUrl,
      adminToken: options.adminToken,
      count: options.chargePoints,
      password: options.password,
      idTag: options.idTag,
    });
  }
  if (options.chargePoints > DEMO.chargePoints.length) {
    throw new SimulationOptionsError(
      `without an admin token only the ${DEMO.chargePoints.length} demo charge points exist; ` +
        `pass --admin-token (or set ADMIN_TOKEN) to provision ${options.chargePoints} simulated charge points`,
    );
  }
  return DEMO.chargePoints.slice(0, options.chargePoints).map((cp) => ({ chargePointId: cp.chargePointId, maxPowerKw: cp.maxPowerKw }));
}

function validate(options: SimulationOptions): void {
  const positiveInt = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new SimulationOptionsError(`${name} must be a whole number of 1 or more, got ${value}`);
  };
  positiveInt('charge points', options.chargePoints);
  positiveInt('sessions per charge point', options.sessionsPerChargePoint);
  if (options.concurrency !== undefined) positiveInt('concurrency', options.concurrency);
  if (!(options.speed > 0) || !Number.isFinite(options.speed)) throw new SimulationOptionsError(`speed must be a positive number, got ${options.speed}`);
  if (!(options.sampleMinutes > 0) || options.sampleMinutes > 60) throw new SimulationOptionsError(`sample minutes must be more than 0 and at most 60, got ${options.sampleMinutes}`);
  if (options.password.length < 16 || options.password.length > 40) throw new SimulationOptionsError('the password must be 16 to 40 characters (OCPP Security Profile 1)');
  if (!options.idTag || options.idTag.length > 20) throw new SimulationOptionsError('the idTag must be 1 to 20 characters (OCPP CiString20)');
  if (!/^wss?:\/\//.test(options.url)) throw new SimulationOptionsError(`the URL must start with ws:// or wss://, got ${options.url}`);
}
