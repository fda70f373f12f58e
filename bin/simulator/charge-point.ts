import { setTimeout as sleep } from 'node:timers/promises';
import { RPCClient } from 'ocpp-rpc';
import { strictClientOptions } from './strict-charge-point.ts';
import { planSession, type PlannedSample, type SessionPlan } from './charging.ts';
import type { Random } from './random.ts';
import type { SimulationStats } from './stats.ts';

/** Maps simulated time onto real time: `speed` simulated seconds pass per real second. */
export class SimulatedTimeline {
  private readonly realStartMs = performance.now();

  /**
   * @param simulatedStartMs epoch milliseconds of simulated offset 0
   * @param speed time compression (600 = ten simulated minutes per real second)
   */
  constructor(
    readonly simulatedStartMs: number,
    readonly speed: number,
  ) {}

  /** ISO timestamp of a simulated offset (seconds). */
  at(offsetS: number): string {
    return new Date(this.simulatedStartMs + offsetS * 1000).toISOString();
  }

  /**
   * Waits until the real moment that corresponds to a simulated offset. Against an absolute
   * schedule, not a relative sleep, so round-trip time is absorbed instead of accumulating.
   */
  async until(offsetS: number): Promise<void> {
    const due = this.realStartMs + (offsetS * 1000) / this.speed;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
  }
}

/** A charge point's whole day: its sessions, each placed on its own simulated timeline. */
export interface ChargePointPlan {
  sessions: Array<{ baseS: number; plan: SessionPlan }>;
  /** Simulated seconds from boot until the last unplug. */
  spanS: number;
}

/**
 * Plans `sessions` sessions one after another, alternating connectors, with a random gap (the
 * connector Available) between them. Pure: the same random stream gives the same plan.
 */
export function planChargePoint(random: Random, options: { sessions: number; connectors: number; maxPowerKw: number; sampleMinutes: number }): ChargePointPlan {
  const sessions: ChargePointPlan['sessions'] = [];
  // Boot, then the first car arrives a few minutes later.
  let cursor = random.int(2, 10) * 60;
  for (let i = 0; i < options.sessions; i++) {
    const plan = planSession(random, { connectorId: (i % options.connectors) + 1, chargePointMaxKw: options.maxPowerKw, sampleMinutes: options.sampleMinutes });
    sessions.push({ baseS: cursor, plan });
    cursor += plan.unplugAtS;
    if (i < options.sessions - 1) cursor += random.int(5, 40) * 60;
  }
  return { sessions, spanS: cursor };
}

/** What happened to one planned session, as the charge point saw it. */
export interface SessionOutcome {
  chargePointId: string;
  connectorId: number;
  idTag: string;
  status: 'completed' | 'failed';
  /** Why it failed: a rejected idTag, a CALLERROR after retries, a lost connection. */
  error?: string;
  transactionId?: number;
  startedAt?: string;
  stoppedAt?: string;
  meterStartWh: number;
  meterStopWh?: number;
  energyWh: number;
  /** MeterValues messages acknowledged by the central system. */
  meterValuesSent: number;
  /** Samples acknowledged: one per MeterValues plus the transactionData sample of StopTransaction. */
  samplesSent: number;
}

export interface SimulatedChargePointOptions {
  chargePointId: string;
  /** The OCPP endpoint without the identity, e.g. `ws://127.0.0.1:8080/ocpp`. */
  url: string;
  password: string;
  maxPowerKw: number;
  connectors?: number;
  stats: SimulationStats;
  callTimeoutMs?: number;
  /** Attempts for transaction messages that get an InternalError or time out (OCPP says retry them). */
  transactionMessageAttempts?: number;
}

/** Error codes the central system uses for "not processed, retry later". */
const RETRYABLE_CODES = new Set(['InternalError', 'GenericError']);
/** Heartbeats never faster than this in real time, whatever the speed: they carry no data. */
const MIN_HEARTBEAT_REAL_MS = 1000;

/** Raised when a call finally failed; `code` is the OCPP error code, `Timeout` or `Connection`. */
export class SimulatedCallError extends Error {
  constructor(
    readonly action: string,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${action}: ${code}: ${message}`, options);
    this.name = 'SimulatedCallError';
  }
}

/**
 * One OCPP 1.6J charge point: a real `ocpp-rpc` client in strict mode (every request and answer
 * is checked against the official JSON schemas), with metered connectors whose energy registers
 * only ever grow, driven through sessions planned by {@link planSession}.
 */
export class SimulatedChargePoint {
  readonly chargePointId: string;
  private readonly client: RPCClient;
  private readonly stats: SimulationStats;
  private readonly connectors: number;
  private readonly attempts: number;
  /** Energy register per connector in Wh; starts at a plausible lifetime reading. */
  private readonly registers = new Map<number, number>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatInFlight = false;
  private closing = false;
  private opened = false;
  private connectionLost: string | undefined;
  heartbeatIntervalS = 0;

  constructor(private readonly options: SimulatedChargePointOptions) {
    this.chargePointId = options.chargePointId;
    this.stats = options.stats;
    this.connectors = options.connectors ?? 2;
    this.attempts = options.transactionMessageAttempts ?? 3;
    // A charge point that lost its connection would queue and reconnect; the simulator reports
    // the loss instead, so a flaky server shows up in the figures rather than being papered over.
    this.client = new RPCClient(strictClientOptions({ url: options.url, identity: options.chargePointId, password: options.password, callTimeoutMs: options.callTimeoutMs ?? 30_000 }));
    this.client.on('close', () => {
      // A refused connect also ends in 'close'; connect() has counted that one already.
      if (this.opened && !this.closing) {
        this.connectionLost = 'connection closed by the central system';
        this.stats.connectionFailures += 1;
      }
    });
  }

  /** Sets the register of a connector (otherwise a random lifetime reading is used). */
  setRegister(connectorId: number, wh: number): void {
    this.registers.set(connectorId, wh);
  }

  /** Opens the WebSocket (Basic auth, subprotocol ocpp1.6); counts a connection failure when refused. */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
      this.opened = true;
    } catch (error) {
      this.stats.connectionFailures += 1;
      const code = (error as { code?: unknown }).code;
      const reason = typeof code === 'number' ? `HTTP ${code}` : typeof code === 'string' ? code : errorMessage(error);
      throw new SimulatedCallError('connect', 'Connection', `${reason} from ${this.options.url}/${this.chargePointId}`, { cause: error });
    }
  }

  /**
   * BootNotification, then StatusNotification Available for the charge point (connector 0) and
   * each connector, then heartbeats at the interval the server gave, scaled by `timeline.speed`.
   */
  async boot(timeline: SimulatedTimeline, random: Random): Promise<void> {
    for (let c = 1; c <= this.connectors; c++) {
      if (!this.registers.has(c)) this.registers.set(c, random.int(50_000, 5_000_000));
    }
    const boot = (await this.call('BootNotification', {
      chargePointVendor: 'VoltLedger',
      chargePointModel: 'SimulatedCP',
      chargePointSerialNumber: this.chargePointId,
      firmwareVersion: '1.0.0-sim',
    })) as { status: string; interval: number };
    if (boot.status !== 'Accepted') throw new SimulatedCallError('BootNotification', 'Rejected', `boot ${boot.status}`);
    for (let c = 0; c <= this.connectors; c++) {
      await this.status(c, 'Available', timeline.at(0));
    }
    this.heartbeatIntervalS = boot.interval;
    if (boot.interval > 0) {
      const everyMs = Math.max(MIN_HEARTBEAT_REAL_MS, (boot.interval * 1000) / timeline.speed);
      this.heartbeatTimer = setInterval(() => void this.heartbeat(), everyMs);
      this.heartbeatTimer.unref();
    }
  }

  /** Plays one planned session; never throws: a failure is reported in the outcome. */
  async runSession(plan: SessionPlan, baseS: number, timeline: SimulatedTimeline, idTag: string): Promise<SessionOutcome> {
    const connectorId = plan.connectorId;
    const meterStartWh = this.registers.get(connectorId) ?? 0;
    const outcome: SessionOutcome = {
      chargePointId: this.chargePointId,
      connectorId,
      idTag,
      status: 'failed',
      meterStartWh,
      energyWh: 0,
      meterValuesSent: 0,
      samplesSent: 0,
    };
    const at = (offsetS: number) => timeline.at(baseS + offsetS);
    const wait = (offsetS: number) => timeline.until(baseS + offsetS);
    let transactionOpen = false;
    try {
      await wait(0);
      await this.status(connectorId, 'Preparing', at(0));

      await wait(plan.authorizeAtS);
      const auth = (await this.call('Authorize', { idTag })) as { idTagInfo: { status: string } };
      if (auth.idTagInfo.status !== 'Accepted') {
        // The driver gives up and unplugs.
        await this.status(connectorId, 'Available', at(plan.authorizeAtS + 30));
        outcome.error = `Authorize: idTag ${idTag} is ${auth.idTagInfo.status}`;
        return outcome;
      }

      await wait(plan.startAtS);
      const startedAt = at(plan.startAtS);
      const start = (await this.call(
        'StartTransaction',
        { connectorId, idTag, meterStart: meterStartWh, timestamp: startedAt },
        { retry: true },
      )) as { transactionId: number; idTagInfo: { status: string } };
      transactionOpen = true;
      outcome.transactionId = start.transactionId;
      outcome.startedAt = startedAt;
      if (start.idTagInfo.status !== 'Accepted') {
        // OCPP 1.6 §5.16: a transaction started with an idTag the central system rejects is stopped.
        await this.call('StopTransaction', { transactionId: start.transactionId, meterStop: meterStartWh, timestamp: at(plan.startAtS + 1), reason: 'DeAuthorized' }, { retry: true });
        transactionOpen = false;
        outcome.meterStopWh = meterStartWh;
        outcome.stoppedAt = at(plan.startAtS + 1);
        await this.status(connectorId, 'Finishing', at(plan.startAtS + 2));
        await this.status(connectorId, 'Available', at(plan.startAtS + 60));
        outcome.error = `StartTransaction: idTag ${idTag} is ${start.idTagInfo.status}`;
        return outcome;
      }
      await this.status(connectorId, 'Charging', startedAt);

      let suspendedSent = false;
      for (const sample of plan.samples) {
        if (!suspendedSent && sample.offsetS >= plan.chargingEndsAtS) {
          await wait(plan.chargingEndsAtS);
          await this.status(connectorId, 'SuspendedEV', at(plan.chargingEndsAtS));
          suspendedSent = true;
        }
        await wait(sample.offsetS);
        await this.call(
          'MeterValues',
          { connectorId, transactionId: start.transactionId, meterValue: [this.meterValue(sample, meterStartWh, at(sample.offsetS), 'Sample.Periodic')] },
          { retry: true },
        );
        outcome.meterValuesSent += 1;
        outcome.samplesSent += 1;
      }
      if (!suspendedSent) {
        await wait(plan.chargingEndsAtS);
        await this.status(connectorId, 'SuspendedEV', at(plan.chargingEndsAtS));
      }

      await wait(plan.stopAtS);
      const meterStopWh = meterStartWh + plan.energyWh;
      const stoppedAt = at(plan.stopAtS);
      await this.call(
        'StopTransaction',
        {
          transactionId: start.transactionId,
          idTag,
          meterStop: meterStopWh,
          timestamp: stoppedAt,
          reason: 'Local',
          transactionData: [this.meterValue(plan.finalSample, meterStartWh, stoppedAt, 'Transaction.End')],
        },
        { retry: true },
      );
      transactionOpen = false;
      this.registers.set(connectorId, meterStopWh);
      outcome.samplesSent += 1;
      outcome.meterStopWh = meterStopWh;
      outcome.energyWh = plan.energyWh;
      outcome.stoppedAt = stoppedAt;
      await this.status(connectorId, 'Finishing', at(plan.stopAtS + 1));

      await wait(plan.unplugAtS);
      await this.status(connectorId, 'Available', at(plan.unplugAtS));
      outcome.status = 'completed';
      return outcome;
    } catch (error) {
      outcome.error = errorMessage(error);
      if (transactionOpen && outcome.transactionId !== undefined && !this.connectionLost) {
        // Leave no transaction dangling: stop it where the meter stands (best effort, once).
        await this.call('StopTransaction', { transactionId: outcome.transactionId, meterStop: meterStartWh, timestamp: at(plan.stopAtS), reason: 'Other' }).catch(() => undefined);
      }
      return outcome;
    }
  }

  /** Stops heartbeats and closes the connection after in-flight calls are answered. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.client.close({ awaitPending: true }).catch(() => undefined);
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeatInFlight || this.closing || this.connectionLost) return;
    this.heartbeatInFlight = true;
    try {
      await this.call('Heartbeat', {});
    } catch {
      // Counted by call(); a missed heartbeat is not a failed session.
    } finally {
      this.heartbeatInFlight = false;
    }
  }

  private status(connectorId: number, status: string, timestamp: string): Promise<unknown> {
    return this.call('StatusNotification', { connectorId, status, errorCode: 'NoError', timestamp });
  }

  private meterValue(sample: PlannedSample, meterStartWh: number, timestamp: string, context: 'Sample.Periodic' | 'Transaction.End') {
    const common = { context, format: 'Raw' };
    return {
      timestamp,
      sampledValue: [
        { ...common, value: String(meterStartWh + sample.energyWh), measurand: 'Energy.Active.Import.Register', location: 'Outlet', unit: 'Wh' },
        { ...common, value: String(sample.powerW), measurand: 'Power.Active.Import', location: 'Outlet', unit: 'W' },
        { ...common, value: sample.currentA.toFixed(1), measurand: 'Current.Import', location: 'Outlet', unit: 'A' },
        { ...common, value: String(sample.socPercent), measurand: 'SoC', location: 'EV', unit: 'Percent' },
      ],
    };
  }

  /** One CALL with its latency recorded; transaction messages are retried as OCPP requires. */
  private async call(action: string, payload: Record<string, unknown>, options: { retry?: boolean } = {}): Promise<unknown> {
    const attempts = options.retry ? this.attempts : 1;
    for (let attempt = 1; ; attempt++) {
      if (this.connectionLost) throw new SimulatedCallError(action, 'Connection', this.connectionLost);
      const started = performance.now();
      try {
        const result = await this.client.call(action, payload);
        this.stats.recordCall(action, performance.now() - started);
        return result;
      } catch (error) {
        const code = rpcErrorCode(error);
        let retryable = false;
        if (code) {
          this.stats.recordCallError(code);
          retryable = RETRYABLE_CODES.has(code);
        } else if (isTimeout(error)) {
          this.stats.recordTimeout();
          retryable = true;
        } else {
          throw new SimulatedCallError(action, 'Connection', this.connectionLost ?? errorMessage(error), { cause: error });
        }
        if (!retryable || attempt >= attempts) {
          throw new SimulatedCallError(action, code ?? 'Timeout', errorMessage(error), { cause: error });
        }
        await sleep(100 * 2 ** (attempt - 1));
      }
    }
  }
}

function rpcErrorCode(error: unknown): string | undefined {
  const code = (error as { rpcErrorCode?: unknown } | null)?.rpcErrorCode;
  return typeof code === 'string' ? code : undefined;
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.constructor.name === 'TimeoutError';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
