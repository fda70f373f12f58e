import type { OutgoingEvent } from '../../../events/contract.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Log } from '../../shared/log.ts';
import type {
  ActiveSessionMarker,
  ChargePointProfile,
  ConnectorStatusRecord,
  EntitlementRecord,
  MeterSample,
  PendingCall,
  SessionRecord,
  TariffVersionRef,
  UnmatchedMessage,
} from './model.ts';
import type { ClockMeasurement } from './clock-skew.ts';
import type { LoginFailurePort } from './lockout.ts';

/** Charge points, connections, connector status, pending calls and `$connect` failure counters (the Registry table in AWS). */
export interface RegistryPort extends LoginFailurePort {
  getChargePoint(chargePointId: string): Promise<ChargePointProfile | undefined>;
  recordConnection(connectionId: string, chargePointId: string, connectedAt: string): Promise<void>;
  /** Resolves a connection to its charge point; undefined once disconnected. */
  chargePointForConnection(connectionId: string): Promise<string | undefined>;
  removeConnection(connectionId: string, chargePointId: string | undefined): Promise<void>;
  recordBoot(chargePointId: string, boot: NonNullable<ChargePointProfile['boot']>): Promise<void>;
  recordHeartbeat(chargePointId: string, at: string): Promise<void>;
  /** Stores the charge point's latest clock measurement (docs/clocks.md) on its record. */
  recordClock(chargePointId: string, measurement: ClockMeasurement): Promise<void>;
  /**
   * Appends the status to the connector's timeline and makes it current unless a newer status is
   * already stored (charge points send queued messages late). Returns whether it became current.
   */
  recordStatus(status: ConnectorStatusRecord): Promise<boolean>;
  getConnectorStatus(chargePointId: string, connectorId: number): Promise<ConnectorStatusRecord | undefined>;
  statusTimeline(chargePointId: string, connectorId?: number, since?: string): Promise<ConnectorStatusRecord[]>;
  recordNotification(chargePointId: string, kind: string, payload: Record<string, unknown>, receivedAt: string, messageId: string): Promise<void>;
  putPendingCall(call: PendingCall): Promise<void>;
  getPendingCall(chargePointId: string, messageId: string): Promise<PendingCall | undefined>;
  /** Settles a pending call once; false when it was unknown or already settled. */
  settlePendingCall(chargePointId: string, messageId: string, outcome: Pick<PendingCall, 'state' | 'result' | 'error' | 'answeredAt'>): Promise<boolean>;
}

export interface EntitlementPort {
  get(idTag: string): Promise<EntitlementRecord | undefined>;
  /**
   * Marks the idTag as charging in `marker.transactionId` unless it is charging in another
   * transaction that started after `staleBefore`; false when it is.
   */
  claimActiveSession(idTag: string, marker: ActiveSessionMarker, staleBefore: string): Promise<boolean>;
  /** Clears the marker if it still names this transaction. */
  releaseActiveSession(idTag: string, transactionId: number, at: string): Promise<void>;
}

export interface TariffPort {
  /** The version of a tariff in force now, for the session snapshot; undefined when none exists. */
  currentVersion(tariffId: string): Promise<TariffVersionRef | undefined>;
}

export interface StartKey {
  chargePointId: string;
  connectorId: number;
  idTag: string;
  timestamp: string;
  /**
   * 0 (or absent) for the first session with this key; n for the n-th later session whose dead clock
   * repeated the same timestamp (clock-transactions.ts resolveStart).
   */
  generation?: number;
}

export interface SessionPort {
  /** The transactionId already allocated to this StartTransaction, if it was seen before. */
  findStart(key: StartKey): Promise<number | undefined>;
  /** Allocates the next transactionId atomically (a conditional counter). */
  allocateTransactionId(): Promise<number>;
  /** Binds a start key to a transactionId; returns the id that won when another binding got there first. */
  claimStart(key: StartKey, transactionId: number): Promise<number>;
  /** Writes the session unless it exists; returns the stored session either way. */
  createSession(session: SessionRecord): Promise<SessionRecord>;
  getSession(transactionId: number): Promise<SessionRecord | undefined>;
  /** Stores samples; samples are keyed by timestamp and content, so a duplicate overwrites itself. */
  addSamples(transactionId: number, samples: MeterSample[]): Promise<void>;
  samples(transactionId: number): Promise<MeterSample[]>;
  /**
   * Moves a started session to stopped. Returns the stored session; `changed` is false when it was
   * already stopped (or completed), which makes StopTransaction idempotent.
   */
  stopSession(
    session: SessionRecord,
    stop: Required<Pick<SessionRecord, 'stoppedAt' | 'stopRecordedAt' | 'meterStopWh' | 'energyWh'>> & Pick<SessionRecord, 'stopReason' | 'stopIdTag' | 'closedWithoutStop' | 'clock'> & Partial<Pick<SessionRecord, 'startedAt'>> & { flags: string[] },
  ): Promise<{ session: SessionRecord; changed: boolean }>;
  /** Started sessions (no stop yet) of a charge point, on one connector or on all of them. */
  openSessions(chargePointId: string, connectorId?: number): Promise<SessionRecord[]>;
  /** Started sessions of every charge point stored (server clock, `createdAt`) at or before `createdBefore`. */
  openSessionsCreatedBefore(createdBefore: string): Promise<SessionRecord[]>;
  /** Stopped sessions on a connector waiting for the car to be unplugged. */
  awaitingCompletion(chargePointId: string, connectorId: number): Promise<SessionRecord[]>;
  /**
   * Every stopped session whose stop was recorded (server clock) at or before `recordedBefore`,
   * for the idle-limit sweep. The server's clock, not the charge point's stop timestamp: a
   * StopTransaction queued offline arrives late and must still get the whole window for its unplug.
   */
  awaitingCompletionBefore(recordedBefore: string): Promise<SessionRecord[]>;
  /** Marks a stopped session completed; false when it already was. */
  completeSession(transactionId: number, completedAt: string, completedBy: NonNullable<SessionRecord['completedBy']>): Promise<boolean>;
  /** Records a StopTransaction or MeterValues that could not be put on a session, for review. */
  recordUnmatched(message: UnmatchedMessage): Promise<void>;
  listSessions(chargePointId: string, limit: number): Promise<SessionRecord[]>;
}

export interface EventPort {
  /** Publishes events; throws when any is not accepted. */
  publish(events: OutgoingEvent[]): Promise<void>;
}

/** Sends frames to a charge point over its WebSocket connection. */
export interface ConnectionPort {
  /** Throws ChargePointOfflineError when the connection is gone. */
  send(connectionId: string, frame: string): Promise<void>;
}

/** Everything the OCPP domain needs from outside it; each domain module takes only the ports it uses. */
export interface OcppPorts {
  registry: RegistryPort;
  entitlements: EntitlementPort;
  tariffs: TariffPort;
  sessions: SessionPort;
  events: EventPort;
  connections: ConnectionPort;
  clock: Clock;
  log: Log;
}
