import { randomUUID } from 'node:crypto';
import type { Clock } from '../shared/clock.ts';
import { ChargePointOfflineError, NotFoundError, ValidationError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { decideAuthorization, type ConcurrencyPolicy } from './domain/authorization.ts';
import {
  callErrorFrame,
  callFrame,
  callResultFrame,
  type Frame,
  OcppCallError,
  parseFrame,
  type OcppErrorCode,
  UNKNOWN_MESSAGE_ID,
} from './domain/framing.ts';
import {
  normalizeTimestamp,
  sessionIdFor,
  UNPLUGGED_STATUS,
  type IdTagInfo,
  type MeterSample,
  type PendingCall,
  type SessionRecord,
} from './domain/model.ts';
import { DEFAULT_LOCKOUT_POLICY, lockoutState, type LockoutPolicy } from './domain/lockout.ts';
import type { Ocpp16CentralSystemAction, Ocpp16ChargePointMessages } from './domain/ocpp16-messages.generated.ts';
import { parseBasicAuth, verifyPassword } from './domain/passwords.ts';
import type { ConnectionPort, EntitlementPort, EventPort, RegistryPort, SessionPort, TariffPort } from './domain/ports.ts';
import { isKnownAction, validateRequest, validateResponse } from './domain/validation.ts';
import { transition, type CompletedBy, type LifecycleDecision } from './domain/session-lifecycle.ts';
import { paidByCard } from '../../events/billing.ts';

export interface CentralSystemConfig {
  /** Heartbeat interval given in BootNotification.conf; under API Gateway's 10-minute idle timeout. */
  heartbeatIntervalSeconds: number;
  /** A stopped session whose connector never reports Available is completed this long after the stop. */
  idleCompletionLimitSeconds: number;
  /** Answer ConcurrentTx when an idTag already charges in another transaction (off by default). */
  singleSessionPerIdTag?: boolean;
  /** How long a session may hold its idTag without a StopTransaction before the hold is ignored. */
  activeSessionMaxAgeSeconds?: number;
  /** `$connect` brute-force lockout per charge point identity (default 10 wrong passwords per 5 minutes). */
  connectLockout?: LockoutPolicy;
}

export interface CentralSystemDeps {
  registry: RegistryPort;
  entitlements: EntitlementPort;
  tariffs: TariffPort;
  sessions: SessionPort;
  events: EventPort;
  connections: ConnectionPort;
  clock: Clock;
  config: CentralSystemConfig;
  log: Log;
  /** Told of every answer to a charge point's CALL (metrics); must not throw or block. */
  observer?: CallObserver;
}

/**
 * Sees each CALL the central system answers: its action (undefined for a frame too malformed to
 * have one) and, for a CALLERROR, its error code. The OCPP message Lambda counts CALLERRORs and
 * times Authorize with it.
 */
export interface CallObserver {
  answered(action: string | undefined, errorCode: string | undefined): void;
}

/** The session event builders (and with them zod), loaded on the first publish: see session-event-builders.ts. */
type SessionEventBuilders = typeof import('./session-event-builders.ts');
let sessionEventBuilders: Promise<SessionEventBuilders> | undefined;
const eventBuilders = () => (sessionEventBuilders ??= import('./session-event-builders.ts'));

/** What `$connect` decided: accept with the subprotocol header, or refuse with an HTTP status. */
export interface ConnectDecision {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Actions a charge point sends that VoltLedger answers (OCPP 1.6 core + firmware management). */
type HandledAction =
  | 'BootNotification'
  | 'Heartbeat'
  | 'StatusNotification'
  | 'Authorize'
  | 'StartTransaction'
  | 'MeterValues'
  | 'StopTransaction'
  | 'DataTransfer'
  | 'FirmwareStatusNotification'
  | 'DiagnosticsStatusNotification';

/** Answers one action's CALL (its payload already validated against the action's schema) with the action's CALLRESULT payload. */
type ActionHandler<A extends HandledAction> = (
  chargePointId: string,
  request: Ocpp16ChargePointMessages[A]['request'],
  messageId: string,
) => Promise<Ocpp16ChargePointMessages[A]['response']>;

type ActionHandlers = { [A in HandledAction]: ActionHandler<A> };

/** Actions the central system may send to a charge point through the command path. */
export const COMMAND_ACTIONS = [
  'RemoteStopTransaction',
  'RemoteStartTransaction',
  'ChangeAvailability',
  'TriggerMessage',
  'Reset',
  'UnlockConnector',
  'GetConfiguration',
  'ChangeConfiguration',
  'ClearCache',
  'DataTransfer',
] as const satisfies readonly Ocpp16CentralSystemAction[];
export type CommandAction = (typeof COMMAND_ACTIONS)[number];

const OCPP_SUBPROTOCOL = 'ocpp1.6';

/**
 * The OCPP 1.6J central system: decides `$connect`, answers every CALL a charge point sends, matches
 * answers to the calls it sent, and drives the session lifecycle (started -> stopped -> completed),
 * each step decided by the state machine in domain/session-lifecycle.ts.
 * It stores before it answers and publishes before it answers, so a charge point that retries
 * after a failure can never lose data, and every write is idempotent so the retry changes nothing.
 */
export function createCentralSystem(deps: CentralSystemDeps) {
  const { registry, entitlements, tariffs, sessions, events, connections, clock, config, log, observer } = deps;
  const concurrency: ConcurrencyPolicy = {
    rejectConcurrent: config.singleSessionPerIdTag ?? false,
    activeSessionMaxAgeMs: (config.activeSessionMaxAgeSeconds ?? 24 * 3600) * 1000,
  };
  const lockoutPolicy = config.connectLockout ?? DEFAULT_LOCKOUT_POLICY;

  // Immutable facts worth remembering in a warm container: a connection id is never reused, and a
  // transaction belongs to one charge point forever.
  const connectionOwner = new Map<string, string>();
  const transactionOwner = new Map<number, string>();
  /**
   * Whether a transaction's MeterValues matter to payments (a running cost against a card hold):
   * only sessions a card pays for (billing profile retail or member). Unknown (a cold process that
   * has not read the session) counts as yes, so nothing a hold needs is ever skipped.
   */
  const runningCostWanted = new Map<number, boolean>();
  const paysByCard = (session: SessionRecord) => paidByCard(session.billingProfile);
  const remember = <K, V>(map: Map<K, V>, key: K, value: V) => {
    if (map.size >= 50_000) map.clear();
    map.set(key, value);
  };

  async function authorize(idTag: string, policy: ConcurrencyPolicy = concurrency): Promise<IdTagInfo> {
    return decideAuthorization(await entitlements.get(idTag), clock.now(), policy);
  }

  /** Whether the transaction is this charge point's; one read the first time, none after. */
  async function ownsTransaction(chargePointId: string, transactionId: number): Promise<boolean> {
    const owner = transactionOwner.get(transactionId);
    if (owner !== undefined) return owner === chargePointId;
    return (await ownSession(chargePointId, transactionId)) !== undefined;
  }

  async function ownSession(chargePointId: string, transactionId: number | undefined): Promise<SessionRecord | undefined> {
    if (transactionId === undefined) return undefined;
    const owner = transactionOwner.get(transactionId);
    if (owner !== undefined && owner !== chargePointId) return undefined;
    const session = await sessions.getSession(transactionId);
    if (!session) return undefined;
    remember(transactionOwner, transactionId, session.chargePointId);
    remember(runningCostWanted, transactionId, paysByCard(session));
    return session.chargePointId === chargePointId ? session : undefined;
  }

  /**
   * Completes a stopped session when the lifecycle says the decision moves it: publish first, then
   * mark it (the machine's `publish-then-write`), so a crash in between leaves the session awaiting
   * completion and the retry publishes the same event id again (harmless). False when the decision
   * is no move, or the conditional write found the session no longer stopped.
   */
  async function complete(session: SessionRecord, decision: LifecycleDecision): Promise<boolean> {
    if (decision.outcome !== 'moved' || decision.write !== 'complete') return false;
    const { completedAt, completedBy } = decision.completion as { completedAt: string; completedBy: CompletedBy };
    await events.publish([(await eventBuilders()).completedEvent(session, completedAt, completedBy)]);
    return sessions.completeSession(session.transactionId, completedAt, completedBy);
  }

  const handlers: ActionHandlers = {
    async BootNotification(chargePointId, req) {
      const now = clock.now().toISOString();
      await registry.recordBoot(chargePointId, {
        vendor: req.chargePointVendor,
        model: req.chargePointModel,
        ...(req.chargePointSerialNumber ? { serialNumber: req.chargePointSerialNumber } : {}),
        ...(req.firmwareVersion ? { firmwareVersion: req.firmwareVersion } : {}),
        bootedAt: now,
      });
      // Only known charge points get this far ($connect checked the identity and password).
      return { status: 'Accepted', currentTime: now, interval: config.heartbeatIntervalSeconds };
    },

    async Heartbeat(chargePointId) {
      const now = clock.now().toISOString();
      await registry.recordHeartbeat(chargePointId, now);
      return { currentTime: now };
    },

    async StatusNotification(chargePointId, req) {
      const timestamp = normalizeTimestamp(req.timestamp ?? clock.now().toISOString());
      await registry.recordStatus({
        chargePointId,
        connectorId: req.connectorId,
        status: req.status,
        errorCode: req.errorCode,
        timestamp,
        ...(req.info ? { info: req.info } : {}),
        ...(req.vendorId ? { vendorId: req.vendorId } : {}),
        ...(req.vendorErrorCode ? { vendorErrorCode: req.vendorErrorCode } : {}),
        receivedAt: clock.now().toISOString(),
      });
      if (req.status === UNPLUGGED_STATUS && req.connectorId > 0) {
        for (const session of await sessions.awaitingCompletion(chargePointId, req.connectorId)) {
          // The lifecycle ignores a status older than the stop: it says nothing about this session's end.
          await complete(session, transition(session, { kind: 'ConnectorAvailable', source: 'status-notification', statusAt: timestamp }));
        }
      }
      return {};
    },

    async Authorize(_chargePointId, req) {
      return { idTagInfo: await authorize(req.idTag) };
    },

    async StartTransaction(chargePointId, req) {
      if (req.connectorId < 1) {
        throw new OcppCallError('PropertyConstraintViolation', 'connectorId must be 1 or more for a transaction');
      }
      const key = { chargePointId, connectorId: req.connectorId, idTag: req.idTag, timestamp: normalizeTimestamp(req.timestamp) };
      const knownTransactionId = await sessions.findStart(key);
      let session: SessionRecord | undefined;
      if (knownTransactionId !== undefined) session = await sessions.getSession(knownTransactionId);
      // absent -> started (create, then publish); any stored session: a retry, SessionStarted again.
      if (transition(session, { kind: 'StartTransaction' }).outcome === 'moved' || !session) {
        // A charge point may have authorized locally while offline: re-check the idTag now.
        const [entitlement, chargePoint] = await Promise.all([entitlements.get(req.idTag), registry.getChargePoint(chargePointId)]);
        if (!chargePoint) throw new OcppCallError('SecurityError', 'unknown charge point');
        // The single-session check happens below, atomically, once the transactionId is known.
        const idTagInfo = decideAuthorization(entitlement, clock.now());
        const billing = entitlement?.billing ?? null;
        const tariffId = entitlement?.tariffId ?? chargePoint.tariffId;
        const tariff = tariffId ? ((await tariffs.currentVersion(tariffId)) ?? null) : null;
        const transactionId = knownTransactionId ?? (await sessions.claimStart(key, await sessions.allocateTransactionId()));
        if (concurrency.rejectConcurrent && idTagInfo.status === 'Accepted') {
          const now = clock.now();
          const claimed = await entitlements.claimActiveSession(
            req.idTag,
            { transactionId, chargePointId, since: now.toISOString() },
            new Date(now.getTime() - concurrency.activeSessionMaxAgeMs).toISOString(),
          );
          if (!claimed) idTagInfo.status = 'ConcurrentTx';
        }
        session = await sessions.createSession({
          sessionId: sessionIdFor(transactionId),
          transactionId,
          chargePointId,
          connectorId: req.connectorId,
          idTag: req.idTag,
          ...(idTagInfo.parentIdTag ? { parentIdTag: idTagInfo.parentIdTag } : {}),
          authorizationStatus: idTagInfo.status,
          startedAt: key.timestamp,
          meterStartWh: req.meterStart,
          ...(req.reservationId !== undefined ? { reservationId: req.reservationId } : {}),
          timeZone: chargePoint.timeZone,
          ...(chargePoint.siteId ? { siteId: chargePoint.siteId } : {}),
          tariff,
          billingProfile: billing,
          state: 'started',
          flags: tariff ? [] : ['no-tariff'],
          createdAt: clock.now().toISOString(),
        });
      }
      remember(transactionOwner, session.transactionId, chargePointId);
      remember(runningCostWanted, session.transactionId, paysByCard(session));
      await events.publish([(await eventBuilders()).startedEvent(session)]);
      const idTagInfo: IdTagInfo = { status: session.authorizationStatus };
      if (session.parentIdTag) idTagInfo.parentIdTag = session.parentIdTag;
      return { transactionId: session.transactionId, idTagInfo };
    },

    async MeterValues(chargePointId, req, messageId) {
      const receivedAt = clock.now().toISOString();
      if (req.transactionId === undefined) {
        await registry.recordNotification(chargePointId, 'MeterValues', req, receivedAt, messageId);
        return {};
      }
      if (!(await ownsTransaction(chargePointId, req.transactionId))) {
        // OCPP requires an answer; keep the data for review without touching anyone's session.
        await registry.recordNotification(chargePointId, 'MeterValues.unknownTransaction', req, receivedAt, messageId);
        return {};
      }
      const samples = toSamples(req.meterValue, 'MeterValues');
      await sessions.addSamples(req.transactionId, samples);
      if (samples.length > 0 && runningCostWanted.get(req.transactionId) !== false) {
        // Payments keeps a running cost from this (card sessions only); published after the
        // samples are stored so a consumer that reads them finds them.
        const sampledAt = samples.map((s) => s.timestamp).sort().at(-1)!;
        const { meterValuesEvent } = await eventBuilders();
        await events.publish([meterValuesEvent({ transactionId: req.transactionId, chargePointId, connectorId: req.connectorId, sampledAt, samples: samples.length, messageId })]);
      }
      return {};
    },

    async StopTransaction(chargePointId, req) {
      // The idTag stopping this session is, of course, charging here: no ConcurrentTx for it.
      const idTagInfo = req.idTag ? await authorize(req.idTag, { ...concurrency, rejectConcurrent: false }) : undefined;
      const answer = idTagInfo ? { idTagInfo } : {};
      const session = await ownSession(chargePointId, req.transactionId);
      const decision = transition(session, { kind: 'StopTransaction' });
      if (decision.outcome === 'refused' || !session) {
        // absent: no session of this charge point has this transaction; answered, and kept for review.
        await sessions.recordUnknownStop(chargePointId, req, clock.now().toISOString());
        return answer;
      }
      // started -> stopped, or a retry of a stored stop (whose answer was lost): samples and the
      // idTag release are idempotent, and the stored stop is published again either way.
      if (req.transactionData?.length) {
        await sessions.addSamples(session.transactionId, toSamples(req.transactionData, 'StopTransaction'));
      }
      const stoppedAt = normalizeTimestamp(req.timestamp);
      const flags: string[] = [];
      let energyWh = req.meterStop - session.meterStartWh;
      if (energyWh < 0) {
        flags.push('meter-stop-below-start');
        energyWh = 0;
      }
      let stopped = session;
      let checkConnector = decision.checkConnector;
      if (decision.outcome === 'moved') {
        const written = await sessions.stopSession(session, {
          stoppedAt,
          stopRecordedAt: clock.now().toISOString(),
          meterStopWh: req.meterStop,
          energyWh,
          ...(req.reason ? { stopReason: req.reason } : {}),
          ...(req.idTag ? { stopIdTag: req.idTag } : {}),
          flags,
        });
        stopped = written.session;
        if (!written.changed) {
          // A concurrent retry stored its stop first: this one is a replay of that.
          const replayed = transition(stopped, { kind: 'StopTransaction' });
          checkConnector = replayed.outcome !== 'refused' && replayed.checkConnector;
        }
      }
      if (concurrency.rejectConcurrent) {
        await entitlements.releaseActiveSession(stopped.idTag, stopped.transactionId, clock.now().toISOString());
      }
      await events.publish([(await eventBuilders()).stoppedEvent(stopped)]);
      if (checkConnector) {
        // The car may have been unplugged before this (queued) StopTransaction arrived.
        const connector = await registry.getConnectorStatus(chargePointId, stopped.connectorId);
        if (connector && connector.status === UNPLUGGED_STATUS) {
          await complete(stopped, transition(stopped, { kind: 'ConnectorAvailable', source: 'stop-transaction', statusAt: connector.timestamp }));
        }
      }
      return answer;
    },

    async DataTransfer(chargePointId, req, messageId) {
      await registry.recordNotification(chargePointId, 'DataTransfer', req, clock.now().toISOString(), messageId);
      // No vendor extension is handled: OCPP's answer for that is UnknownVendorId.
      return { status: 'UnknownVendorId' };
    },

    async FirmwareStatusNotification(chargePointId, req, messageId) {
      await registry.recordNotification(chargePointId, 'FirmwareStatusNotification', req, clock.now().toISOString(), messageId);
      return {};
    },

    async DiagnosticsStatusNotification(chargePointId, req, messageId) {
      await registry.recordNotification(chargePointId, 'DiagnosticsStatusNotification', req, clock.now().toISOString(), messageId);
      return {};
    },
  };

  /** Own keys only: "__proto__" or "toString" is no action of ours. */
  const isHandled = (action: string): action is HandledAction => Object.hasOwn(handlers, action);

  /** Runs the action's handler; the map's type ties the request and the response to `action`. */
  function handle<A extends HandledAction>(action: A, chargePointId: string, request: Ocpp16ChargePointMessages[A]['request'], messageId: string): Promise<Ocpp16ChargePointMessages[A]['response']> {
    const handler: ActionHandler<A> = handlers[action];
    return handler(chargePointId, request, messageId);
  }

  /** The answer frame to a CALL, and its error code when it is a CALLERROR. */
  async function answerCall(chargePointId: string, messageId: string, action: string, payload: Record<string, unknown>): Promise<{ frame: string; errorCode?: OcppErrorCode }> {
    const error = (errorCode: OcppErrorCode, description: string, details?: Record<string, unknown>) => ({ frame: callErrorFrame(messageId, errorCode, description, details), errorCode });
    if (!isHandled(action)) {
      return isKnownAction(action) ? error('NotSupported', `${action} is not supported by this central system`) : error('NotImplemented', `unknown action ${action}`);
    }
    const valid = validateRequest(action, payload);
    if (!valid.ok) return error(valid.errorCode, valid.description, { path: valid.path });
    // The action's own schema accepted the payload: it is that action's request.
    const request = payload as Ocpp16ChargePointMessages[typeof action]['request'];
    try {
      const response = await handle(action, chargePointId, request, messageId);
      return { frame: callResultFrame(messageId, response) };
    } catch (caught) {
      if (caught instanceof OcppCallError) return error(caught.errorCode, caught.message, caught.details);
      // Nothing was acknowledged: the charge point retries transaction messages on a CALLERROR.
      log.error('OCPP call failed', { chargePointId, action, messageId, error: caught });
      return error('InternalError', 'the central system could not process this message; retry later');
    }
  }

  async function settleAnswer(chargePointId: string, frame: Extract<Frame, { kind: 'callResult' | 'callError' }>): Promise<void> {
    const pending = await registry.getPendingCall(chargePointId, frame.messageId);
    if (pending?.state !== 'pending') {
      // OCPP-J: an answer to no outstanding call is dropped, never answered.
      log.warn('answer to an unknown call dropped', { chargePointId, messageId: frame.messageId });
      return;
    }
    const answeredAt = clock.now().toISOString();
    if (frame.kind === 'callError') {
      await registry.settlePendingCall(chargePointId, frame.messageId, {
        state: 'error',
        error: { code: frame.errorCode, description: frame.errorDescription, details: frame.errorDetails },
        answeredAt,
      });
      return;
    }
    const valid = validateResponse(pending.action, frame.payload);
    await registry.settlePendingCall(
      chargePointId,
      frame.messageId,
      valid.ok
        ? { state: 'accepted', result: frame.payload, answeredAt }
        : { state: 'error', error: { code: valid.errorCode, description: `invalid ${pending.action}.conf: ${valid.description}`, details: { result: frame.payload } }, answeredAt },
    );
  }

  return {
    /** `$connect`: identity from the query parameter, Basic auth, subprotocol negotiation. */
    async connect(input: {
      connectionId: string;
      chargePointId: string | undefined;
      authorization: string | undefined;
      subprotocols: string | undefined;
      /** When API Gateway accepted the connection; the clock's now when the event carries none. */
      connectedAt?: string;
    }): Promise<ConnectDecision> {
      const offered = (input.subprotocols ?? '').split(',').map((p) => p.trim().toLowerCase());
      if (!offered.includes(OCPP_SUBPROTOCOL)) {
        return { statusCode: 400, body: `this endpoint speaks ${OCPP_SUBPROTOCOL}; offer it in Sec-WebSocket-Protocol` };
      }
      const refuse: ConnectDecision = { statusCode: 401, headers: { 'WWW-Authenticate': 'Basic realm="VoltLedger OCPP", charset="UTF-8"' } };
      const chargePointId = input.chargePointId;
      const credentials = parseBasicAuth(input.authorization);
      if (!chargePointId || !credentials) {
        log.warn('connect refused: no identity or no Basic auth', { chargePointId: chargePointId ?? null, basicAuth: input.authorization ? 'malformed' : 'missing' });
        return refuse;
      }
      if (credentials.username !== chargePointId) {
        log.warn('connect refused: Basic auth username differs from the identity', { chargePointId });
        return refuse;
      }
      // The counter is read beside the profile, so the lockout adds no round trip to a connect.
      const [chargePoint, failures] = await Promise.all([registry.getChargePoint(chargePointId), registry.loginFailures(chargePointId)]);
      if (!chargePoint) {
        // Nothing to guess for an identity that does not exist, so no counter (nor an item per made-up name).
        log.warn('connect refused: unknown charge point', { chargePointId });
        return refuse;
      }
      const now = clock.now();
      const lockout = lockoutState(failures, now, lockoutPolicy);
      if (lockout.locked) {
        // Refused before scrypt, with the same 401 as a wrong password: a guesser learns nothing.
        log.warn('connect refused: locked out after repeated wrong passwords', { chargePointId, failures: lockout.failures, lockedUntil: lockout.until.toISOString() });
        return refuse;
      }
      if (!(await verifyPassword(credentials.password, chargePoint.passwordHash))) {
        const counted = lockoutPolicy.maxFailures > 0 ? await registry.recordLoginFailure(chargePointId, now, lockoutPolicy) : undefined;
        const nowLocked = counted ? lockoutState(counted, now, lockoutPolicy) : { locked: false as const };
        log.warn(nowLocked.locked ? 'connect refused: wrong password; identity now locked out' : 'connect refused: wrong password', {
          chargePointId,
          ...(counted ? { failures: counted.failures, maxFailures: lockoutPolicy.maxFailures } : {}),
          ...(nowLocked.locked ? { lockedUntil: nowLocked.until.toISOString() } : {}),
        });
        return refuse;
      }
      await registry.recordConnection(input.connectionId, chargePointId, input.connectedAt ?? clock.now().toISOString());
      remember(connectionOwner, input.connectionId, chargePointId);
      return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': OCPP_SUBPROTOCOL } };
    },

    async disconnect(connectionId: string): Promise<void> {
      const chargePointId = connectionOwner.get(connectionId) ?? (await registry.chargePointForConnection(connectionId));
      connectionOwner.delete(connectionId);
      await registry.removeConnection(connectionId, chargePointId);
    },

    /**
     * `$default`: one frame in, at most one frame out (the route response). A bad frame gets the
     * right CALLERROR and writes nothing; an answer to a call we sent settles that call.
     */
    async message(connectionId: string, body: string): Promise<string | undefined> {
      let chargePointId = connectionOwner.get(connectionId);
      if (chargePointId === undefined) {
        chargePointId = await registry.chargePointForConnection(connectionId);
        if (chargePointId === undefined) {
          log.warn('message on an unknown connection dropped', { connectionId });
          return undefined;
        }
        remember(connectionOwner, connectionId, chargePointId);
      }
      const frame = parseFrame(body);
      switch (frame.kind) {
        case 'call': {
          const answer = await answerCall(chargePointId, frame.messageId, frame.action, frame.payload);
          observer?.answered(frame.action, answer.errorCode);
          return answer.frame;
        }
        case 'callResult':
        case 'callError':
          await settleAnswer(chargePointId, frame);
          return undefined;
        case 'invalid':
          if (!frame.replyable) {
            log.warn('malformed answer frame dropped', { chargePointId, description: frame.description });
            return undefined;
          }
          observer?.answered(undefined, frame.errorCode);
          return callErrorFrame(frame.messageId ?? UNKNOWN_MESSAGE_ID, frame.errorCode, frame.description);
      }
    },

    /**
     * Sends a CALL to a charge point and records it as pending; the answer settles it later.
     * Throws ChargePointOfflineError when the charge point is not connected.
     */
    async sendCommand(chargePointId: string, action: CommandAction, payload: Record<string, unknown>): Promise<PendingCall> {
      if (!(COMMAND_ACTIONS as readonly string[]).includes(action)) {
        throw new ValidationError(`action must be one of ${COMMAND_ACTIONS.join(', ')}`, 'action');
      }
      const valid = validateRequest(action, payload);
      if (!valid.ok) throw new ValidationError(`payload.${valid.path}: ${valid.description}`, `payload.${valid.path}`);
      const chargePoint = await registry.getChargePoint(chargePointId);
      if (!chargePoint) throw new NotFoundError(`charge point ${chargePointId} does not exist`);
      if (!chargePoint.connectionId) throw new ChargePointOfflineError(`charge point ${chargePointId} is not connected`);
      const call: PendingCall = {
        chargePointId,
        messageId: randomUUID(),
        action,
        payload,
        state: 'pending',
        createdAt: clock.now().toISOString(),
      };
      await registry.putPendingCall(call);
      try {
        await connections.send(chargePoint.connectionId, callFrame(call.messageId, action, payload));
      } catch (error) {
        const offline = error instanceof ChargePointOfflineError;
        await registry.settlePendingCall(chargePointId, call.messageId, {
          state: 'error',
          error: { code: offline ? 'Offline' : 'SendFailed', description: String((error as Error).message), details: {} },
          answeredAt: clock.now().toISOString(),
        });
        throw error;
      }
      return call;
    },

    /**
     * Completes stopped sessions whose connector has not reported Available within the idle limit
     * of the stop being recorded. Billing ends at the charge point's stop time + the limit.
     */
    async completeIdleSessions(): Promise<number> {
      const now = clock.now();
      const idleLimitSeconds = config.idleCompletionLimitSeconds;
      const cutoff = new Date(now.getTime() - idleLimitSeconds * 1000).toISOString();
      let completed = 0;
      for (const session of await sessions.awaitingCompletionBefore(cutoff)) {
        // The lifecycle re-checks the cutoff and sets completedAt = the stop + the limit.
        if (await complete(session, transition(session, { kind: 'IdleLimitReached', now: now.toISOString(), idleLimitSeconds }))) completed += 1;
      }
      return completed;
    },
  };
}

export type CentralSystem = ReturnType<typeof createCentralSystem>;

function toSamples(meterValues: Array<{ timestamp: string; sampledValue: Array<Record<string, string>> }>, source: MeterSample['source']): MeterSample[] {
  return meterValues.map((mv) => ({ timestamp: normalizeTimestamp(mv.timestamp), sampledValue: mv.sampledValue, source }));
}
