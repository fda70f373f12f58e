import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { RPCClient } from 'ocpp-rpc';
import { strictClientOptions } from './strict-charge-point.ts';
import { seededRandom, type Random } from './random.ts';
import { mapWithConcurrency, summarizeLatencies, type LatencySummary } from './stats.ts';

/**
 * Load mode of `voltledger simulate` (and `voltledger bench load`): many OCPP 1.6J charge points
 * (real `ocpp-rpc` clients in strict mode) connected at once, sessions running on every one of them
 * concurrently on a time-compressed clock, MeterValues at a fixed simulated interval, and optionally
 * a reconnect storm: every charge point loses its connection at the same moment, keeps charging
 * offline (queueing its transaction messages and status notifications with their original
 * timestamps, authorizing drivers locally), and reconnects at the same moment, replaying the queue
 * in order. What each charge point had acknowledged is kept in a ledger, so the central system's
 * store can be checked against it afterwards (see load-invariants.ts).
 *
 * Like a real charge point, each one has one outbound queue and one CALL outstanding (OCPP-J).
 * Latency is measured per CALL, from sending it to its answer; waiting in the charge point's own
 * queue is reported apart.
 */
export interface LoadSimulationOptions {
  /** OCPP endpoint without the identity, e.g. `ws://127.0.0.1:8080/ocpp`. */
  url: string;
  chargePoints: Array<{ chargePointId: string; maxPowerKw: number }>;
  password: string;
  idTag: string;
  /** Real seconds the sessions run, after every charge point is connected and booted. */
  durationS: number;
  /** Simulated seconds per real second. */
  timeCompression: number;
  /** Simulated seconds between MeterValues of a running transaction (default 60). */
  meterIntervalS?: number;
  /** Simulated charging minutes per session, [min, max] (default [10, 40]). */
  sessionMinutes?: [number, number];
  /** Reconnect storm: `atS` real seconds into the run, every charge point drops; `offlineS` later all reconnect. */
  storm?: { atS: number; offlineS: number };
  /** Charge points connecting at once in the first connect (default 50; each costs the server one scrypt). */
  connectConcurrency?: number;
  /** Connectors per charge point; sessions alternate between them (default 2). */
  connectors?: number;
  /** How long a CALL waits for its answer before it is sent again (transaction messages) or given up (default 30 s). */
  callTimeoutMs?: number;
  /** How long the end of the run may take to deliver what is still queued (real seconds, default 120). */
  drainTimeoutS?: number;
  seed?: string | number;
  progress?: (line: string) => void;
}

/** What one charge point sent for one session, and what the central system acknowledged. */
export interface LedgerSession {
  chargePointId: string;
  connectorId: number;
  idTag: string;
  startedAt: string;
  meterStartWh: number;
  /** The driver was authorized locally because the charge point was offline (no Authorize sent). */
  authorizedOffline: boolean;
  /** Authorize answered something other than Accepted: no transaction was started. */
  authorizeRejected?: string;
  /** StartTransaction was queued while offline and delivered after the reconnect. */
  startQueuedOffline: boolean;
  /** transactionId from the first StartTransaction.conf; undefined until acknowledged. */
  transactionId?: number;
  /** idTagInfo.status of StartTransaction.conf. */
  startStatus?: string;
  /** Other transactionIds answered to a retry of the same StartTransaction (each one a duplicate). */
  conflictingTransactionIds: number[];
  meterValues: Array<{ timestamp: string; registerWh: number; acked: boolean }>;
  stop?: { timestamp: string; meterStopWh: number; acked: boolean };
  /** StatusNotification Available after the stop (the unplug that completes the session). */
  unplug?: { timestamp: string; acked: boolean };
}

export interface StormFigures {
  /** Real seconds from the run's start to the drop. */
  atS: number;
  offlineS: number;
  chargePoints: number;
  /** CALLs in flight when the connection dropped (sent, answer lost), by action; all re-sent. */
  inFlightAtDrop: Record<string, number>;
  /** Messages queued while offline, by action (transaction messages and StatusNotifications). */
  queuedOffline: Record<string, number>;
  /** Messages delivered after the reconnect that were queued (or in flight) before it. */
  replayed: number;
  /** Sessions started offline (local authorization, StartTransaction queued). */
  sessionsStartedOffline: number;
  reconnect: LatencySummary;
  reconnectFailures: number;
  /** From the reconnect to the moment every charge point was connected again, in seconds. */
  allReconnectedS: number;
  /** From the reconnect to the moment every message queued before it was acknowledged, in seconds. */
  backlogDrainedS: number;
  /** Messages per second acknowledged during the backlog drain. */
  drainRate: number;
}

export interface LoadSimulationResult {
  chargePoints: number;
  connectedAtStart: number;
  connectS: number;
  bootS: number;
  durationS: number;
  timeCompression: number;
  meterIntervalS: number;
  /** Real seconds of the measured window (from the run's start until its sessions were told to end). */
  windowS: number;
  /** CALLs acknowledged in the measured window. */
  messagesInWindow: number;
  /** Acknowledged CALLs per second over the window. */
  messagesPerSecond: number;
  /** The same excluding the storm (from the drop until the backlog was drained). */
  messagesPerSecondOutsideStorm: number;
  /** Lowest acknowledged rate over any 10 s of the window outside the storm. */
  minimum10sRate: number;
  /** Every acknowledged CALL of the whole run, by action. */
  messagesByAction: Record<string, number>;
  messagesTotal: number;
  latency: Record<string, LatencySummary>;
  /** Authorize latency while the storm's backlog was drained (the busiest moment). */
  authorizeDuringStorm?: LatencySummary;
  /** Time messages waited in their charge point's queue before being sent. */
  queueWait: LatencySummary;
  errors: {
    callErrors: Record<string, number>;
    timeouts: number;
    /** Messages finally given up (CALLERROR after the retries, or no transactionId to send them with). */
    messagesGivenUp: Record<string, number>;
    /** Connections the central system closed (not the storm's). */
    unexpectedDisconnects: number;
    connectFailures: number;
    /** Messages still queued when the drain timed out. */
    undelivered: number;
  };
  storm?: StormFigures;
  sessions: LedgerSession[];
  /** Epoch ms when the run started (server-side records of this run are newer). */
  startedAtMs: number;
  /** Epoch ms of the measured window's start and end (to line up another process's figures with it). */
  windowStartedAtMs: number;
  windowEndedAtMs: number;
  /**
   * CPU time this process spent (`process.cpuUsage()`): during the measured window, and over the
   * whole run (connect to drain). Where the clients run alone that is the clients' share; where the
   * server shares the process it is both.
   */
  cpu: { window: CpuTime; run: CpuTime };
  seed: string;
  realDurationS: number;
}

/** CPU seconds over a stretch of wall-clock time; `cores` is CPU seconds per second (1 = one core busy). */
export interface CpuTime {
  userS: number;
  systemS: number;
  wallS: number;
  cores: number;
}

/** The CPU time between two `process.cpuUsage()` readings taken `wallS` apart. */
export function cpuTime(from: NodeJS.CpuUsage, to: NodeJS.CpuUsage, wallS: number): CpuTime {
  const userS = (to.user - from.user) / 1e6;
  const systemS = (to.system - from.system) / 1e6;
  return { userS, systemS, wallS, cores: wallS > 0 ? (userS + systemS) / wallS : Number.NaN };
}

const RETRYABLE = new Set(['InternalError', 'GenericError']);
/** TransactionMessageAttempts: how often a transaction message answered with a CALLERROR is tried. */
const ATTEMPTS = 3;
const QUEUEABLE = new Set(['StartTransaction', 'MeterValues', 'StopTransaction', 'StatusNotification']);

type Payload = Record<string, unknown>;
interface QueueItem {
  action: string;
  /** Built when sent: a queued MeterValues learns its transactionId only once StartTransaction is answered. */
  payload: () => Payload | undefined;
  enqueuedAt: number;
  /** Sent at least once without an answer (the connection dropped under it). */
  unanswered: boolean;
  /** Queued before the latest reconnect: delivering it is a replay. */
  replay: boolean;
  attempts: number;
  resolve: (result: any) => void;
  reject: (error: Error) => void;
}

class Stats {
  readonly latencies = new Map<string, number[]>();
  readonly acksPerAction: Record<string, number> = {};
  /** Acknowledgements per 100 ms slot since `origin`. */
  readonly ackSlots: number[] = [];
  readonly queueWaits: number[] = [];
  readonly callErrors: Record<string, number> = {};
  readonly givenUp: Record<string, number> = {};
  readonly inFlightAtDrop: Record<string, number> = {};
  readonly queuedOffline: Record<string, number> = {};
  readonly authorizeInStorm: number[] = [];
  timeouts = 0;
  unexpectedDisconnects = 0;
  connectFailures = 0;
  replayed = 0;
  /** Start of the measured window; acknowledgements before it (connect, boot) are not in the slots. */
  origin = Number.POSITIVE_INFINITY;
  stormWindow: [number, number] | undefined;

  ack(action: string, latencyMs: number, waitedMs: number): void {
    const now = performance.now();
    (this.latencies.get(action) ?? this.latencies.set(action, []).get(action)!).push(latencyMs);
    this.acksPerAction[action] = (this.acksPerAction[action] ?? 0) + 1;
    this.queueWaits.push(waitedMs);
    const slot = Math.floor((now - this.origin) / 100);
    if (slot >= 0) this.ackSlots[slot] = (this.ackSlots[slot] ?? 0) + 1;
    if (action === 'Authorize' && this.stormWindow && now >= this.stormWindow[0] && (this.stormWindow[1] === 0 || now <= this.stormWindow[1])) {
      this.authorizeInStorm.push(latencyMs);
    }
  }
}

const bump = (counts: Record<string, number>, key: string, n = 1) => (counts[key] = (counts[key] ?? 0) + n);

/** The shared simulated clock: `timeCompression` simulated seconds per real second, anchored in the past. */
class SimClock {
  private readonly realStart = performance.now();
  constructor(
    private readonly simStartMs: number,
    readonly compression: number,
  ) {}
  nowMs(): number {
    return this.simStartMs + (performance.now() - this.realStart) * this.compression;
  }
  iso(simMs: number): string {
    return new Date(Math.floor(simMs)).toISOString();
  }
  /** Real milliseconds until a simulated instant. */
  realMsUntil(simMs: number): number {
    return (simMs - this.nowMs()) / this.compression;
  }
}

interface RunControl {
  /** Aborted when the run's sessions must end. */
  ending: AbortSignal;
}

/** One simulated charge point with its own outbound queue. */
class LoadChargePoint {
  readonly id: string;
  private readonly client: RPCClient;
  private readonly queue: QueueItem[] = [];
  private online = false;
  private dropping = false;
  private closing = false;
  private draining = false;
  private readonly registers = new Map<number, number>();
  private lastAckedSimMs = 0;
  heartbeatIntervalS = 300;
  readonly sessions: LedgerSession[] = [];
  /** Resolves when everything queued before the latest reconnect was acknowledged. */
  private backlog: { remaining: number; done: () => void } | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly cp: { chargePointId: string; maxPowerKw: number },
    private readonly options: LoadSimulationOptions,
    private readonly stats: Stats,
    private readonly clock: SimClock,
    private readonly random: Random,
  ) {
    this.id = cp.chargePointId;
    // Reconnecting is this class's job, so the storm can drop and restore connections at one moment.
    this.client = new RPCClient(strictClientOptions({ url: options.url, identity: cp.chargePointId, password: options.password, callTimeoutMs: options.callTimeoutMs ?? 30_000 }));
    this.client.on('close', () => {
      const wasOnline = this.online;
      this.online = false;
      if (wasOnline && !this.dropping && !this.closing) {
        // The central system (or the network) closed it: reconnect as a charge point would.
        this.stats.unexpectedDisconnects += 1;
        void this.reconnect().catch(() => undefined);
      }
    });
    for (let c = 1; c <= (options.connectors ?? 2); c++) this.registers.set(c, random.int(100_000, 5_000_000));
  }

  /** Connects, retrying refused or failed attempts with a growing, jittered wait; throws on 401. */
  async connect(maxAttempts = 20): Promise<number> {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await withTimeout(this.client.connect(), 30_000, () => void this.client.close({ force: true }).catch(() => undefined));
        this.online = true;
        return performance.now() - started;
      } catch (error) {
        this.stats.connectFailures += 1;
        const code = (error as { code?: unknown }).code;
        if (code === 401 || attempt >= maxAttempts) {
          throw new Error(`connect ${this.id}: ${typeof code === 'number' ? `HTTP ${code}` : (error as Error).message}`, { cause: error });
        }
        await sleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)) * (0.5 + this.random.next()));
      }
    }
  }

  async boot(): Promise<void> {
    const boot = (await this.request('BootNotification', {
      chargePointVendor: 'VoltLedger',
      chargePointModel: 'LoadSim',
      chargePointSerialNumber: this.id,
      firmwareVersion: '1.0.0-load',
    })) as { status: string; interval: number };
    if (boot.status !== 'Accepted') throw new Error(`BootNotification ${boot.status}`);
    if (boot.interval > 0) this.heartbeatIntervalS = boot.interval;
    this.lastAckedSimMs = this.clock.nowMs();
    const at = this.clock.iso(this.clock.nowMs());
    for (let c = 0; c <= (this.options.connectors ?? 2); c++) void this.status(c, 'Available', at);
    await this.idle();
  }

  /** Network outage: the connection dies without a close handshake; in-flight calls lose their answers. */
  async drop(): Promise<void> {
    this.dropping = true;
    this.online = false;
    await this.client.close({ force: true }).catch(() => undefined);
    this.dropping = false;
    // What only makes sense online (an Authorize waiting its turn, a Heartbeat) is not kept.
    for (const item of this.queue.filter((i) => !QUEUEABLE.has(i.action))) {
      this.queue.splice(this.queue.indexOf(item), 1);
      item.reject(new Error('offline'));
    }
  }

  /** Reconnects, then replays the queue in order; resolves once everything queued before it is acknowledged. */
  async reconnect(): Promise<{ connectMs: number; backlog: Promise<void> }> {
    const connectMs = await this.connect(60);
    for (const item of this.queue) item.replay = true;
    const backlog = new Promise<void>((done) => {
      if (this.queue.length === 0) done();
      else this.backlog = { remaining: this.queue.length, done };
    });
    this.kick();
    return { connectMs, backlog };
  }

  /** Resolves when the queue is empty. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && !this.draining) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  pending(): number {
    return this.queue.length;
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const item of this.queue.splice(0)) item.reject(new Error('closed'));
    await this.client.close({ code: 1000, awaitPending: true }).catch(() => undefined);
  }

  /** Sessions back to back, alternating connectors, until the run ends. */
  async run(control: RunControl): Promise<void> {
    const connectors = this.options.connectors ?? 2;
    const heartbeat = setInterval(() => this.maybeHeartbeat(), 1000);
    heartbeat.unref();
    try {
      // Spread the first arrivals over ten simulated minutes, so the fleet does not move in lockstep.
      let next = this.clock.nowMs() + this.random.between(0, 600_000);
      for (let n = 0; !control.ending.aborted; n++) {
        if (!(await this.waitUntil(next, control))) break;
        await this.session((n % connectors) + 1, control);
        next = this.clock.nowMs() + this.random.int(1, 10) * 60_000;
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async session(connectorId: number, control: RunControl): Promise<void> {
    const meterIntervalMs = (this.options.meterIntervalS ?? 60) * 1000;
    const [minMinutes, maxMinutes] = this.options.sessionMinutes ?? [10, 40];
    const chargingMs = this.random.between(minMinutes, maxMinutes) * 60_000;
    const powerW = this.cp.maxPowerKw > 22 ? this.random.int(40, Math.min(150, this.cp.maxPowerKw)) * 1000 : this.random.pick([7400, 11000, 22000]);
    const idTag = this.options.idTag;
    let t = this.clock.nowMs();
    void this.status(connectorId, 'Preparing', this.clock.iso(t));

    const meterStartWh = this.registers.get(connectorId)!;
    const ledger: LedgerSession = {
      chargePointId: this.id,
      connectorId,
      idTag,
      startedAt: '',
      meterStartWh,
      authorizedOffline: !this.online,
      startQueuedOffline: false,
      conflictingTransactionIds: [],
      meterValues: [],
    };
    if (this.online) {
      try {
        const auth = (await this.request('Authorize', { idTag })) as { idTagInfo: { status: string } };
        if (auth.idTagInfo.status !== 'Accepted') {
          ledger.authorizeRejected = auth.idTagInfo.status;
          this.sessions.push(ledger);
          void this.status(connectorId, 'Available', this.clock.iso(this.clock.nowMs()));
          return;
        }
      } catch {
        // The connection dropped under the Authorize: the charge point authorizes from its cache.
        ledger.authorizedOffline = true;
      }
    }
    // The driver plugs in a few seconds after presenting the card.
    t = Math.max(this.clock.nowMs(), t + this.random.int(5, 30) * 1000);
    if (!(await this.waitUntil(t, control))) {
      void this.status(connectorId, 'Available', this.clock.iso(Math.max(t, this.clock.nowMs())));
      return;
    }
    ledger.startedAt = this.clock.iso(t);
    ledger.startQueuedOffline = !this.online;
    this.sessions.push(ledger);
    void this.enqueue('StartTransaction', () => ({ connectorId, idTag, meterStart: meterStartWh, timestamp: ledger.startedAt })).then(
      (answer: { transactionId: number; idTagInfo: { status: string } }) => {
        if (ledger.transactionId === undefined) {
          ledger.transactionId = answer.transactionId;
          ledger.startStatus = answer.idTagInfo.status;
        } else if (answer.transactionId !== ledger.transactionId) {
          ledger.conflictingTransactionIds.push(answer.transactionId);
        }
      },
      () => undefined,
    );
    void this.status(connectorId, 'Charging', this.clock.iso(t + 1000));

    const startMs = t;
    let register = meterStartWh;
    const energyAt = (simMs: number) => meterStartWh + Math.floor((powerW * Math.min(simMs - startMs, chargingMs)) / 3_600_000);
    let sampleAt = startMs + meterIntervalMs;
    while (sampleAt < startMs + chargingMs) {
      if (!(await this.waitUntil(sampleAt, control))) break;
      register = energyAt(sampleAt);
      const entry = { timestamp: this.clock.iso(sampleAt), registerWh: register, acked: false };
      ledger.meterValues.push(entry);
      const reading = this.sample(entry.timestamp, register, powerW, 'Sample.Periodic');
      void this.enqueue('MeterValues', () => (ledger.transactionId === undefined ? undefined : { connectorId, transactionId: ledger.transactionId, meterValue: [reading] })).then(
        () => (entry.acked = true),
        () => undefined,
      );
      sampleAt += meterIntervalMs;
    }
    // Stop now if the run ends early, else at the end of the charging time.
    let stopAt = startMs + chargingMs;
    if (control.ending.aborted || !(await this.waitUntil(stopAt, control))) stopAt = Math.max(this.clock.nowMs(), (ledger.meterValues.length ? Date.parse(ledger.meterValues.at(-1)!.timestamp) : startMs) + 1000);
    const meterStopWh = Math.max(register, energyAt(stopAt));
    this.registers.set(connectorId, meterStopWh);
    const stop = { timestamp: this.clock.iso(stopAt), meterStopWh, acked: false };
    ledger.stop = stop;
    const finalReading = this.sample(stop.timestamp, meterStopWh, 0, 'Transaction.End');
    void this.enqueue('StopTransaction', () =>
      ledger.transactionId === undefined ? undefined : { transactionId: ledger.transactionId, idTag, meterStop: meterStopWh, timestamp: stop.timestamp, reason: 'Local', transactionData: [finalReading] },
    ).then(
      () => (stop.acked = true),
      () => undefined,
    );
    void this.status(connectorId, 'Finishing', this.clock.iso(stopAt + 1000));

    // The car stays plugged in a few minutes (parking), unless the run is ending.
    let unplugAt = stopAt + this.random.int(1, 5) * 60_000;
    if (control.ending.aborted || !(await this.waitUntil(unplugAt, control))) unplugAt = Math.max(this.clock.nowMs(), stopAt + 2000);
    const unplug = { timestamp: this.clock.iso(unplugAt), acked: false };
    ledger.unplug = unplug;
    void this.status(connectorId, 'Available', unplug.timestamp).then(
      () => (unplug.acked = true),
      () => undefined,
    );
  }

  private sample(timestamp: string, registerWh: number, powerW: number, context: 'Sample.Periodic' | 'Transaction.End') {
    return {
      timestamp,
      sampledValue: [
        { value: String(registerWh), context, measurand: 'Energy.Active.Import.Register', location: 'Outlet', unit: 'Wh' },
        { value: String(powerW), context, measurand: 'Power.Active.Import', location: 'Outlet', unit: 'W' },
      ],
    };
  }

  private status(connectorId: number, status: string, timestamp: string): Promise<unknown> {
    return this.enqueue('StatusNotification', () => ({ connectorId, status, errorCode: 'NoError', timestamp })).catch(() => undefined);
  }

  /** A heartbeat when nothing was acknowledged for the heartbeat interval (simulated), as most charge points do. */
  private maybeHeartbeat(): void {
    if (!this.online || this.queue.length > 0 || this.closing) return;
    if (this.clock.nowMs() - this.lastAckedSimMs < this.heartbeatIntervalS * 1000) return;
    this.lastAckedSimMs = this.clock.nowMs();
    void this.request('Heartbeat', {}).catch(() => undefined);
  }

  /** Waits for a simulated instant; false when the run ended first. */
  private async waitUntil(simMs: number, control: RunControl): Promise<boolean> {
    const ms = this.clock.realMsUntil(simMs);
    if (control.ending.aborted) return false;
    if (ms <= 1) return true;
    try {
      await sleep(ms, undefined, { signal: control.ending });
      return true;
    } catch {
      return false;
    }
  }

  /** A message that is only sent online (BootNotification, Authorize, Heartbeat): rejected when offline. */
  private request(action: string, payload: Payload): Promise<any> {
    if (!this.online) return Promise.reject(new Error('offline'));
    return this.enqueue(action, () => payload);
  }

  private enqueue(action: string, payload: () => Payload | undefined): Promise<any> {
    return new Promise((resolve, reject) => {
      if (!this.online && QUEUEABLE.has(action)) bump(this.stats.queuedOffline, action);
      this.queue.push({ action, payload, enqueuedAt: performance.now(), unanswered: false, replay: false, attempts: 0, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.draining || !this.online) return;
    this.draining = true;
    void this.drain().finally(() => {
      this.draining = false;
      if (this.queue.length === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      else if (this.online) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.online && this.queue.length > 0) {
      const item = this.queue[0]!;
      const payload = item.payload();
      if (payload === undefined) {
        // Its StartTransaction was never acknowledged: nothing to attach it to.
        this.settle(item);
        bump(this.stats.givenUp, `${item.action} (no transactionId)`);
        item.reject(new Error('no transactionId'));
        continue;
      }
      const sentAt = performance.now();
      try {
        item.attempts += 1;
        const result = await this.client.call(item.action, payload);
        this.stats.ack(item.action, performance.now() - sentAt, sentAt - item.enqueuedAt);
        this.lastAckedSimMs = this.clock.nowMs();
        if (item.replay) this.stats.replayed += 1;
        this.settle(item);
        item.resolve(result);
      } catch (error) {
        const code = (error as { rpcErrorCode?: unknown }).rpcErrorCode;
        if (typeof code === 'string') {
          bump(this.stats.callErrors, code);
          if (!RETRYABLE.has(code) || item.attempts >= ATTEMPTS || !QUEUEABLE.has(item.action)) {
            this.settle(item);
            bump(this.stats.givenUp, `${item.action} (${code})`);
            item.reject(error as Error);
          } else {
            await sleep(200 * 2 ** (item.attempts - 1));
          }
        } else if ((error as Error).constructor.name === 'TimeoutError') {
          // No answer in time: the central system may or may not have it; OCPP says send it again.
          this.stats.timeouts += 1;
          if (!QUEUEABLE.has(item.action)) {
            this.settle(item);
            item.reject(error as Error);
          }
        } else {
          // The connection is gone (the storm, or the server closed it): keep the message for the reconnect.
          if (this.dropping || !this.online) {
            bump(this.stats.inFlightAtDrop, item.action);
            item.unanswered = true;
          }
          if (!QUEUEABLE.has(item.action)) {
            this.settle(item);
            item.reject(error as Error);
          }
          return;
        }
      }
    }
  }

  /** Removes the head item and counts it off the replay backlog. */
  private settle(item: QueueItem): void {
    this.queue.shift();
    if (item.replay && this.backlog) {
      this.backlog.remaining -= 1;
      if (this.backlog.remaining <= 0) {
        this.backlog.done();
        this.backlog = undefined;
      }
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`no connection within ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The soft limit on open file descriptors (Linux: /proc/self/limits); undefined where it cannot be read. */
export function descriptorLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

/** Fails early, saying what to do, when `needed` descriptors exceed the soft limit (each WebSocket is one). */
export function checkDescriptorLimit(needed: number, why: string): void {
  const limit = descriptorLimit();
  if (limit !== undefined && needed > limit) {
    throw new Error(`about ${needed} open files are needed (${why}), but the limit is ${limit}: raise it in this shell first, e.g. \`ulimit -n ${Math.ceil(needed / 1024) * 1024 + 1024}\``);
  }
}

/** Validates the options; the message says what to change. */
export function validateLoadOptions(options: Pick<LoadSimulationOptions, 'durationS' | 'timeCompression' | 'meterIntervalS' | 'storm' | 'sessionMinutes'>): string | undefined {
  if (!(options.durationS > 0)) return `the duration must be more than 0 s, got ${options.durationS}`;
  if (!(options.timeCompression > 0) || !Number.isFinite(options.timeCompression)) return `the time compression must be a positive number, got ${options.timeCompression}`;
  const interval = options.meterIntervalS ?? 60;
  if (!(interval >= 1) || interval > 3600) return `the meter interval must be 1 to 3600 simulated seconds, got ${interval}`;
  const [min, max] = options.sessionMinutes ?? [10, 40];
  if (!(min > 0) || !(max >= min)) return `session minutes must be 0 < min <= max, got ${min}-${max}`;
  if (options.storm) {
    const { atS, offlineS } = options.storm;
    if (!(atS > 0) || !(offlineS >= 0)) return `the storm needs a time after the start and an offline time of 0 or more, got at ${atS} s, offline ${offlineS} s`;
    if (atS + offlineS >= options.durationS) return `the storm (at ${atS} s, offline ${offlineS} s) must be over before the run ends (${options.durationS} s)`;
  }
  return undefined;
}

/** Runs the load: connect and boot every charge point, run sessions for `durationS` (with the storm), end them, drain. */
export async function runLoadSimulation(options: LoadSimulationOptions): Promise<LoadSimulationResult> {
  const invalid = validateLoadOptions(options);
  if (invalid) throw new Error(invalid);
  const progress = options.progress ?? (() => {});
  const seed = String(options.seed ?? Date.now());
  const startedAtMs = Date.now();
  const realStart = performance.now();
  const cpuAtStart = process.cpuUsage();
  const drainTimeoutS = options.drainTimeoutS ?? 120;
  // Anchor simulated time in the past, so that even after a slow start and a long drain no
  // timestamp lies in the future.
  const budgetS = 300 + options.durationS + drainTimeoutS;
  const clock = new SimClock(Date.now() - budgetS * options.timeCompression * 1000, options.timeCompression);
  const stats = new Stats();
  const fleet = options.chargePoints.map((cp) => new LoadChargePoint(cp, options, stats, clock, seededRandom(`${seed}:${cp.chargePointId}`)));

  progress(`connecting ${fleet.length} charge points`);
  const connectStarted = performance.now();
  const connected = await mapWithConcurrency(fleet, options.connectConcurrency ?? 50, async (cp) => {
    try {
      await cp.connect();
      return true;
    } catch (error) {
      progress(`${cp.id}: ${(error as Error).message}`);
      return false;
    }
  });
  const connectS = (performance.now() - connectStarted) / 1000;
  const online = fleet.filter((_, i) => connected[i]);
  if (online.length === 0) throw new Error(`no charge point could connect to ${options.url}`);
  progress(`booting ${online.length} charge points (${connectS.toFixed(1)} s to connect)`);
  const bootStarted = performance.now();
  await mapWithConcurrency(online, 100, (cp) => cp.boot().catch((error) => progress(`${cp.id}: ${(error as Error).message}`)));
  const bootS = (performance.now() - bootStarted) / 1000;

  // The measured window starts here.
  const ending = new AbortController();
  // Every charge point waits on it.
  setMaxListeners(0, ending.signal);
  const windowStart = performance.now();
  const windowStartedAtMs = Date.now();
  const cpuAtWindowStart = process.cpuUsage();
  stats.origin = windowStart;
  progress(`running sessions for ${options.durationS} s at ${options.timeCompression}x${options.storm ? `, storm at ${options.storm.atS} s for ${options.storm.offlineS} s` : ''}`);
  const runs = online.map((cp) => cp.run({ ending: ending.signal }));

  let storm: StormFigures | undefined;
  const stormRun = options.storm ? runStorm(online, options.storm, stats, progress) : undefined;

  const ticker = setInterval(() => {
    const elapsed = (performance.now() - windowStart) / 1000;
    const acks = Object.values(stats.acksPerAction).reduce((a, b) => a + b, 0);
    const queued = online.reduce((sum, cp) => sum + cp.pending(), 0);
    progress(`${elapsed.toFixed(0)} s: ${acks} messages acknowledged (${(acks / elapsed).toFixed(0)}/s), ${queued} queued`);
  }, 10_000);
  ticker.unref();

  await sleep(options.durationS * 1000);
  const windowEnd = performance.now();
  const windowEndedAtMs = Date.now();
  const cpuAtWindowEnd = process.cpuUsage();
  ending.abort();
  progress('ending sessions, delivering what is queued');
  if (stormRun) storm = await stormRun;
  await Promise.all(runs);
  const drainDeadline = sleep(drainTimeoutS * 1000).then(() => 'timeout' as const);
  const drained = await Promise.race([Promise.all(online.map((cp) => cp.idle())).then(() => 'drained' as const), drainDeadline]);
  clearInterval(ticker);
  const undelivered = drained === 'drained' ? 0 : online.reduce((sum, cp) => sum + cp.pending(), 0);
  progress(drained === 'drained' ? 'every queued message delivered; closing' : `${undelivered} messages still queued after ${drainTimeoutS} s; closing`);
  await Promise.all(fleet.map((cp) => cp.close()));
  const cpuAtEnd = process.cpuUsage();
  const realDurationS = (performance.now() - realStart) / 1000;

  // Throughput over the window, in 100 ms slots; the storm is from the drop until its backlog was delivered.
  const windowSlots = Math.ceil((windowEnd - windowStart) / 100);
  const slots = Array.from({ length: windowSlots }, (_, i) => stats.ackSlots[i] ?? 0);
  const messagesInWindow = slots.reduce((a, b) => a + b, 0);
  const windowS = (windowEnd - windowStart) / 1000;
  const stormSlots = stats.stormWindow
    ? [Math.floor((stats.stormWindow[0] - windowStart) / 100), stats.stormWindow[1] === 0 ? windowSlots : Math.ceil((stats.stormWindow[1] - windowStart) / 100)]
    : undefined;
  const inStorm = (from: number, to: number) => stormSlots !== undefined && from <= stormSlots[1]! && to >= stormSlots[0]!;
  let outsideSlots = 0;
  let outsideMessages = 0;
  slots.forEach((n, i) => {
    if (inStorm(i, i)) return;
    outsideSlots += 1;
    outsideMessages += n;
  });
  let minimum10sRate = Number.NaN;
  for (let i = 0; i + 100 <= windowSlots; i += 10) {
    if (inStorm(i, i + 99)) continue;
    const rate = slots.slice(i, i + 100).reduce((a, b) => a + b, 0) / 10;
    minimum10sRate = Number.isNaN(minimum10sRate) ? rate : Math.min(minimum10sRate, rate);
  }
  if (storm) storm.sessionsStartedOffline = fleet.reduce((n, cp) => n + cp.sessions.filter((s) => s.startQueuedOffline).length, 0);

  const messagesByAction = { ...stats.acksPerAction };
  return {
    chargePoints: fleet.length,
    connectedAtStart: online.length,
    connectS,
    bootS,
    durationS: options.durationS,
    timeCompression: options.timeCompression,
    meterIntervalS: options.meterIntervalS ?? 60,
    windowS,
    messagesInWindow,
    messagesPerSecond: messagesInWindow / windowS,
    messagesPerSecondOutsideStorm: outsideSlots ? outsideMessages / (outsideSlots / 10) : Number.NaN,
    minimum10sRate,
    messagesByAction,
    messagesTotal: Object.values(messagesByAction).reduce((a, b) => a + b, 0),
    latency: Object.fromEntries([...stats.latencies.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([action, list]) => [action, summarizeLatencies(list)])),
    ...(storm ? { authorizeDuringStorm: summarizeLatencies(stats.authorizeInStorm) } : {}),
    queueWait: summarizeLatencies(stats.queueWaits),
    errors: {
      callErrors: { ...stats.callErrors },
      timeouts: stats.timeouts,
      messagesGivenUp: { ...stats.givenUp },
      unexpectedDisconnects: stats.unexpectedDisconnects,
      connectFailures: stats.connectFailures,
      undelivered,
    },
    ...(storm ? { storm } : {}),
    sessions: fleet.flatMap((cp) => cp.sessions),
    startedAtMs,
    windowStartedAtMs,
    windowEndedAtMs,
    cpu: { window: cpuTime(cpuAtWindowStart, cpuAtWindowEnd, (windowEnd - windowStart) / 1000), run: cpuTime(cpuAtStart, cpuAtEnd, realDurationS) },
    seed,
    realDurationS,
  };
}

async function runStorm(fleet: LoadChargePoint[], storm: { atS: number; offlineS: number }, stats: Stats, progress: (line: string) => void): Promise<StormFigures> {
  await sleep(storm.atS * 1000);
  progress(`reconnect storm: ${fleet.length} charge points drop at once`);
  const dropAt = performance.now();
  stats.stormWindow = [dropAt, 0];
  // Every connection dies in the same tick, as when the site's uplink fails.
  await Promise.all(fleet.map((cp) => cp.drop()));
  await sleep(storm.offlineS * 1000);
  progress(`reconnect storm: ${fleet.length} charge points reconnect at once and replay their queues`);
  const reconnectAt = performance.now();
  let failures = 0;
  const connectTimes: number[] = [];
  let lastConnected = reconnectAt;
  const backlogs = await Promise.all(
    fleet.map(async (cp) => {
      try {
        const { connectMs, backlog } = await cp.reconnect();
        connectTimes.push(connectMs);
        lastConnected = Math.max(lastConnected, performance.now());
        // Wrapped: an async function returning a promise would wait for it.
        return { backlog };
      } catch (error) {
        failures += 1;
        progress(`${cp.id}: ${(error as Error).message}`);
        return { backlog: Promise.resolve() };
      }
    }),
  );
  const allReconnectedS = (lastConnected - reconnectAt) / 1000;
  const acksBefore = Object.values(stats.acksPerAction).reduce((a, b) => a + b, 0);
  await Promise.all(backlogs.map((b) => b.backlog));
  const drainedAt = performance.now();
  stats.stormWindow = [dropAt, drainedAt];
  const backlogDrainedS = (drainedAt - reconnectAt) / 1000;
  const acksAfter = Object.values(stats.acksPerAction).reduce((a, b) => a + b, 0);
  progress(`reconnect storm: all reconnected in ${allReconnectedS.toFixed(1)} s, backlog delivered in ${backlogDrainedS.toFixed(1)} s`);
  return {
    atS: storm.atS,
    offlineS: storm.offlineS,
    chargePoints: fleet.length,
    inFlightAtDrop: { ...stats.inFlightAtDrop },
    queuedOffline: { ...stats.queuedOffline },
    replayed: stats.replayed,
    sessionsStartedOffline: 0,
    reconnect: summarizeLatencies(connectTimes),
    reconnectFailures: failures,
    allReconnectedS,
    backlogDrainedS,
    drainRate: (acksAfter - acksBefore) / Math.max(0.001, (drainedAt - lastConnected) / 1000),
  };
}
