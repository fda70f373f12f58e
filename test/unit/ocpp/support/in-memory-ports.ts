import type { OutgoingEvent } from '../../../../events/contract.ts';
import { firstFailure, lockEndsAt, type LockoutPolicy, type LoginFailures } from '../../../../functions/ocpp/domain/lockout.ts';
import {
  idTagKey,
  type ActiveSessionMarker,
  type ChargePointProfile,
  type ConnectorStatusRecord,
  type EntitlementRecord,
  type MeterSample,
  type PendingCall,
  type SessionRecord,
  type TariffVersionRef,
  type UnmatchedMessage,
} from '../../../../functions/ocpp/domain/model.ts';
import type {
  ConnectionPort,
  EntitlementPort,
  EventPort,
  OcppPorts,
  RegistryPort,
  SessionPort,
  StartKey,
  TariffPort,
} from '../../../../functions/ocpp/domain/ports.ts';
import type { ClockMeasurement } from '../../../../functions/ocpp/domain/clock-skew.ts';
import { priorStatesFor } from '../../../../functions/ocpp/domain/session-lifecycle.ts';
import { fixedClock } from '../../../../functions/shared/clock.ts';
import type { Log } from '../../../../functions/shared/log.ts';

/**
 * In-memory implementations of the OCPP domain's ports, for unit tests of its rules. Their
 * conditional writes behave like the DynamoDB adapters' (a stop only of a started session, a
 * completion only of a stopped one, a pending call settled once), and each keeps what was
 * written for the test to assert on. Records are copied in and out, as a store would.
 */

const copy = <T>(value: T): T => structuredClone(value);

export class InMemoryRegistry implements RegistryPort {
  readonly chargePoints = new Map<string, ChargePointProfile>();
  readonly connections = new Map<string, string>();
  readonly statuses: ConnectorStatusRecord[] = [];
  readonly current = new Map<string, ConnectorStatusRecord>();
  readonly notifications: Array<{ chargePointId: string; kind: string; payload: Record<string, unknown>; receivedAt: string; messageId: string }> = [];
  readonly heartbeats: Array<{ chargePointId: string; at: string }> = [];
  readonly calls = new Map<string, PendingCall>();
  readonly failures = new Map<string, LoginFailures>();

  addChargePoint(profile: Partial<ChargePointProfile> & { chargePointId: string }): void {
    this.chargePoints.set(profile.chargePointId, { passwordHash: 'none', timeZone: 'Europe/Berlin', updatedAt: '2026-01-01T00:00:00.000Z', ...profile });
  }

  async getChargePoint(chargePointId: string) {
    const profile = this.chargePoints.get(chargePointId);
    return profile ? copy(profile) : undefined;
  }
  async recordConnection(connectionId: string, chargePointId: string, connectedAt: string) {
    this.connections.set(connectionId, chargePointId);
    const profile = this.chargePoints.get(chargePointId)!;
    Object.assign(profile, { connectionId, lastSeenAt: connectedAt });
  }
  async chargePointForConnection(connectionId: string) {
    return this.connections.get(connectionId);
  }
  async removeConnection(connectionId: string, chargePointId: string | undefined) {
    this.connections.delete(connectionId);
    const profile = chargePointId === undefined ? undefined : this.chargePoints.get(chargePointId);
    if (profile?.connectionId === connectionId) delete profile.connectionId;
  }
  async recordBoot(chargePointId: string, boot: NonNullable<ChargePointProfile['boot']>) {
    const profile = this.chargePoints.get(chargePointId);
    // Like the adapter's condition (attribute_exists): no boot for a charge point that does not exist.
    if (!profile) throw new Error(`ConditionalCheckFailed: no charge point ${chargePointId}`);
    Object.assign(profile, { boot: copy(boot), lastSeenAt: boot.bootedAt });
  }
  async recordHeartbeat(chargePointId: string, at: string) {
    this.heartbeats.push({ chargePointId, at });
  }
  async recordClock(chargePointId: string, measurement: ClockMeasurement) {
    const profile = this.chargePoints.get(chargePointId);
    if (profile) profile.clock = { ...measurement };
  }
  async recordStatus(status: ConnectorStatusRecord) {
    this.statuses.push(copy(status));
    const key = `${status.chargePointId}#${status.connectorId}`;
    const current = this.current.get(key);
    if (current && current.timestamp > status.timestamp) return false;
    this.current.set(key, copy(status));
    return true;
  }
  async getConnectorStatus(chargePointId: string, connectorId: number) {
    const status = this.current.get(`${chargePointId}#${connectorId}`);
    return status ? copy(status) : undefined;
  }
  async statusTimeline(chargePointId: string, connectorId?: number, since?: string) {
    return this.statuses.filter((s) => s.chargePointId === chargePointId && (connectorId === undefined || s.connectorId === connectorId) && (since === undefined || s.timestamp >= since)).map(copy);
  }
  async recordNotification(chargePointId: string, kind: string, payload: Record<string, unknown>, receivedAt: string, messageId: string) {
    this.notifications.push({ chargePointId, kind, payload: copy(payload), receivedAt, messageId });
  }
  async putPendingCall(call: PendingCall) {
    this.calls.set(`${call.chargePointId}#${call.messageId}`, copy(call));
  }
  async getPendingCall(chargePointId: string, messageId: string) {
    const call = this.calls.get(`${chargePointId}#${messageId}`);
    return call ? copy(call) : undefined;
  }
  async settlePendingCall(chargePointId: string, messageId: string, outcome: Pick<PendingCall, 'state' | 'result' | 'error' | 'answeredAt'>) {
    const call = this.calls.get(`${chargePointId}#${messageId}`);
    if (call?.state !== 'pending') return false;
    Object.assign(call, copy(outcome));
    return true;
  }
  async loginFailures(chargePointId: string) {
    const counter = this.failures.get(chargePointId);
    return counter ? copy(counter) : undefined;
  }
  async recordLoginFailure(chargePointId: string, at: Date, policy: LockoutPolicy) {
    const now = Math.floor(at.getTime() / 1000);
    const running = this.failures.get(chargePointId);
    const counted = running && running.expiresAt > now ? { ...running, failures: running.failures + 1 } : firstFailure(at, policy);
    const lockEnd = lockEndsAt(counted.failures, at, policy);
    if (lockEnd !== undefined && lockEnd > counted.expiresAt) counted.expiresAt = lockEnd;
    this.failures.set(chargePointId, counted);
    return copy(counted);
  }
}

export class InMemoryEntitlements implements EntitlementPort {
  readonly records = new Map<string, EntitlementRecord>();

  add(record: Partial<EntitlementRecord> & { idTag: string }): void {
    this.records.set(idTagKey(record.idTag), { status: 'Accepted', updatedAt: '2026-01-01T00:00:00.000Z', ...record });
  }

  async get(idTag: string) {
    const record = this.records.get(idTagKey(idTag));
    return record ? copy(record) : undefined;
  }
  async claimActiveSession(idTag: string, marker: ActiveSessionMarker, staleBefore: string) {
    const record = this.records.get(idTagKey(idTag));
    if (!record) return false;
    const active = record.activeSession;
    if (active && active.transactionId !== marker.transactionId && active.since >= staleBefore) return false;
    record.activeSession = copy(marker);
    return true;
  }
  async releaseActiveSession(idTag: string, transactionId: number, at: string) {
    const record = this.records.get(idTagKey(idTag));
    if (record?.activeSession?.transactionId !== transactionId) return;
    delete record.activeSession;
    record.updatedAt = at;
  }
}

export class InMemoryTariffs implements TariffPort {
  readonly versions = new Map<string, number>();

  async currentVersion(tariffId: string): Promise<TariffVersionRef | undefined> {
    const version = this.versions.get(tariffId);
    return version === undefined ? undefined : { tariffId, version };
  }
}

export class InMemorySessions implements SessionPort {
  readonly sessions = new Map<number, SessionRecord>();
  readonly samplesById = new Map<number, MeterSample[]>();
  readonly unknownStops: Array<{ chargePointId: string; payload: Record<string, unknown>; receivedAt: string }> = [];
  /** Every unmatched StopTransaction and MeterValues, in order. */
  readonly unmatched: UnmatchedMessage[] = [];
  /** Every write, in order, for tests that count them. */
  readonly writes: string[] = [];
  private readonly starts = new Map<string, number>();
  private counter = 0;

  async findStart(key: StartKey) {
    return this.starts.get(JSON.stringify(key));
  }
  async allocateTransactionId() {
    this.counter += 1;
    return this.counter;
  }
  async claimStart(key: StartKey, transactionId: number) {
    const k = JSON.stringify(key);
    if (!this.starts.has(k)) this.starts.set(k, transactionId);
    return this.starts.get(k)!;
  }
  async createSession(session: SessionRecord) {
    this.writes.push(`create ${session.transactionId}`);
    if (!this.sessions.has(session.transactionId)) this.sessions.set(session.transactionId, copy(session));
    return copy(this.sessions.get(session.transactionId)!);
  }
  async getSession(transactionId: number) {
    const session = this.sessions.get(transactionId);
    return session ? copy(session) : undefined;
  }
  async addSamples(transactionId: number, samples: MeterSample[]) {
    const stored = this.samplesById.get(transactionId) ?? [];
    for (const sample of samples) {
      // Keyed by timestamp and content, as in the adapter: a duplicate overwrites itself.
      if (!stored.some((s) => JSON.stringify(s) === JSON.stringify(sample))) stored.push(copy(sample));
    }
    this.samplesById.set(transactionId, stored);
  }
  async samples(transactionId: number) {
    return copy(this.samplesById.get(transactionId) ?? []);
  }
  async stopSession(current: SessionRecord, stop: Parameters<SessionPort['stopSession']>[1]) {
    this.writes.push(`stop ${current.transactionId}`);
    const stored = this.sessions.get(current.transactionId)!;
    if (!(priorStatesFor('stop') as string[]).includes(stored.state)) return { session: copy(stored), changed: false };
    const { flags, ...fields } = stop;
    Object.assign(stored, copy(fields), { state: 'stopped', flags: [...stored.flags, ...flags] });
    return { session: copy(stored), changed: true };
  }
  async awaitingCompletion(chargePointId: string, connectorId: number) {
    return [...this.sessions.values()].filter((s) => s.state === 'stopped' && s.chargePointId === chargePointId && s.connectorId === connectorId).map(copy);
  }
  async awaitingCompletionBefore(recordedBefore: string) {
    return [...this.sessions.values()].filter((s) => s.state === 'stopped' && s.stopRecordedAt! <= recordedBefore).map(copy);
  }
  async completeSession(transactionId: number, completedAt: string, completedBy: NonNullable<SessionRecord['completedBy']>) {
    this.writes.push(`complete ${transactionId}`);
    const stored = this.sessions.get(transactionId);
    if (!stored || !(priorStatesFor('complete') as string[]).includes(stored.state)) return false;
    Object.assign(stored, { state: 'completed', completedAt, completedBy });
    return true;
  }
  async openSessions(chargePointId: string, connectorId?: number) {
    return [...this.sessions.values()].filter((s) => s.state === 'started' && s.chargePointId === chargePointId && (connectorId === undefined || s.connectorId === connectorId)).map(copy);
  }
  async openSessionsCreatedBefore(createdBefore: string) {
    return [...this.sessions.values()].filter((s) => s.state === 'started' && s.createdAt <= createdBefore).map(copy);
  }
  async recordUnmatched(message: UnmatchedMessage) {
    if (message.kind === 'StopTransaction') {
      this.writes.push(`unknown-stop ${String(message.transactionId)}`);
      this.unknownStops.push({ chargePointId: message.chargePointId, payload: copy(message.payload), receivedAt: message.receivedAt });
    } else {
      this.writes.push(`unmatched-meter-values ${String(message.transactionId)}`);
    }
    this.unmatched.push(copy(message));
  }
  async listSessions(chargePointId: string, limit: number) {
    return [...this.sessions.values()].filter((s) => s.chargePointId === chargePointId).slice(0, limit).map(copy);
  }
}

export class RecordingEvents implements EventPort {
  readonly published: OutgoingEvent[] = [];

  async publish(events: OutgoingEvent[]) {
    this.published.push(...events);
  }

  /** The published events' detail types, in order. */
  names(): string[] {
    return this.published.map((e) => e.contract.detailType);
  }

  /** The data of the published events of one type. */
  data<T = Record<string, unknown>>(detailType: string): T[] {
    return this.published.filter((e) => e.contract.detailType === detailType).map((e) => e.detail.data as T);
  }
}

export class RecordingConnections implements ConnectionPort {
  readonly sent: Array<{ connectionId: string; frame: string }> = [];
  /** Set to make the next sends fail with it. */
  failWith: Error | undefined;

  async send(connectionId: string, frame: string) {
    if (this.failWith) throw this.failWith;
    this.sent.push({ connectionId, frame });
  }
}

export class RecordingLog implements Log {
  readonly entries: Array<{ level: string; message: string; extra?: Record<string, unknown> }> = [];
  debug(message: string, extra?: Record<string, unknown>) {
    this.entries.push({ level: 'debug', message, ...(extra ? { extra } : {}) });
  }
  info(message: string, extra?: Record<string, unknown>) {
    this.entries.push({ level: 'info', message, ...(extra ? { extra } : {}) });
  }
  warn(message: string, extra?: Record<string, unknown>) {
    this.entries.push({ level: 'warn', message, ...(extra ? { extra } : {}) });
  }
  error(message: string, extra?: Record<string, unknown>) {
    this.entries.push({ level: 'error', message, ...(extra ? { extra } : {}) });
  }
}

/** A full set of in-memory ports on a fixed clock, concrete types kept for the assertions. */
export function inMemoryPorts(now = '2026-11-23T10:00:00.000Z') {
  const ports = {
    registry: new InMemoryRegistry(),
    entitlements: new InMemoryEntitlements(),
    tariffs: new InMemoryTariffs(),
    sessions: new InMemorySessions(),
    events: new RecordingEvents(),
    connections: new RecordingConnections(),
    clock: fixedClock(now),
    log: new RecordingLog(),
  } satisfies OcppPorts;
  return ports;
}

export type InMemoryPorts = ReturnType<typeof inMemoryPorts>;
