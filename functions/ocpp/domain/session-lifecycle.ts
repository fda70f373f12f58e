/**
 * The session lifecycle as a state machine: absent -> started -> stopped -> completed.
 *
 * Pure: no I/O, no clock. The central system (and through it the idle sweep) asks `transition`
 * what a message or a sweep means for a session before it writes or publishes anything; the
 * DynamoDB adapter derives its condition expressions from `priorStatesFor`, so the store refuses
 * exactly the writes this machine refuses.
 *
 * States:
 * - `absent`: no session of this charge point has this transactionId (never started here, or another
 *   charge point's transaction). Never stored: it is the absence of a session record.
 * - `started`: StartTransaction stored; charging.
 * - `stopped`: StopTransaction stored; the connector is still occupied (idle time is billable) and the
 *   session is in the sparse `awaitingCompletion` index.
 * - `completed`: the connector reported Available, or the idle limit passed; pricing takes over. Final.
 *
 * Events (what the central system observes):
 * - `StartTransaction`: a StartTransaction.req (a first one, or a retry of the same start).
 * - `StopTransaction`: a StopTransaction.req naming the transaction (a first one, or a retry).
 * - `ConnectorAvailable`: the session's connector reports Available. `source: 'status-notification'`
 *   when a StatusNotification arrives after the stop is stored; `source: 'stop-transaction'` when the
 *   StopTransaction finds the connector already Available (a queued stop arriving after the unplug);
 *   `source: 'next-start'` when a new StartTransaction on the connector shows it was free again by
 *   then (the car left without an Available reaching us): billing ends at that start at the latest.
 * - `IdleLimitReached`: the idle sweep found the session stopped at or before now - idle limit.
 * - `ClosedWithoutStop`: the session will get no StopTransaction (docs/sessions.md): a new start on
 *   its connector superseded it (`cause: 'superseded'`), or it has been open past the configured
 *   limit (`cause: 'no-stop'`). It moves started -> stopped (stopped from its last meter reading, and
 *   flagged), then stopped -> completed at that same time (no parking is billed past the last
 *   evidence). The second move applies only to a session whose stop was such a close.
 *
 * A reboot is no event here: BootNotification touches no session, and a StopTransaction sent after
 * a reboot (reason Reboot, PowerLoss, ...) is an ordinary StopTransaction.
 */
import type { SessionRecord, SessionState } from './model.ts';

/** A session's lifecycle state; `absent` is the state of a transactionId with no session (of this charge point). */
export type LifecycleState = 'absent' | SessionState;
export const LIFECYCLE_STATES = ['absent', 'started', 'stopped', 'completed'] as const satisfies readonly LifecycleState[];

/** Who completed a session; stored as the session's `completedBy` and published in SessionCompleted. */
export type CompletedBy = NonNullable<SessionRecord['completedBy']>;

export type LifecycleEvent =
  | { kind: 'StartTransaction' }
  | { kind: 'StopTransaction' }
  | {
      kind: 'ConnectorAvailable';
      /** Where the Available status was seen: a StatusNotification after the stop, or read by the StopTransaction. */
      source: 'status-notification' | 'stop-transaction' | 'next-start';
      /** The status's own timestamp (normalized UTC ISO). */
      statusAt: string;
    }
  | {
      kind: 'IdleLimitReached';
      /** Now, by the server's clock (UTC ISO). */
      now: string;
      idleLimitSeconds: number;
    }
  | {
      kind: 'ClosedWithoutStop';
      /** `superseded`: a new StartTransaction on the same connector; `no-stop`: open past the limit. */
      cause: 'superseded' | 'no-stop';
    };
export type LifecycleEventKind = LifecycleEvent['kind'];
export const LIFECYCLE_EVENT_KINDS = ['StartTransaction', 'StopTransaction', 'ConnectorAvailable', 'IdleLimitReached', 'ClosedWithoutStop'] as const satisfies readonly LifecycleEventKind[];

/** The store write a transition makes; each is conditional on the session being in one of `priorStatesFor(write)`. */
export type LifecycleWrite = 'create' | 'stop' | 'complete';

/** The session event a state is announced with; retries republish it under the same deterministic id. */
export type LifecycleEventName = 'SessionStarted' | 'SessionStopped' | 'SessionCompleted';

/** The session facts the guards read; `undefined` (or no session at all) is the `absent` state. */
export type LifecycleSubject = Pick<SessionRecord, 'state' | 'startedAt'> & Partial<Pick<SessionRecord, 'stoppedAt' | 'stopRecordedAt' | 'closedWithoutStop' | 'stopReason'>>;

/** The event moves the session to the next state. */
export interface Moved {
  outcome: 'moved';
  from: LifecycleState;
  to: SessionState;
  /** The write to make, conditional on the stored state being one of `priorStatesFor(write)`. */
  write: LifecycleWrite;
  /** The session event to publish. */
  publish: LifecycleEventName;
  /**
   * `write-then-publish`: the event carries what was stored (a retry republishes it).
   * `publish-then-write`: a crash in between leaves the session in `from`, and the retry publishes
   * the same event id again (completion: the sweep or the next Available retries it).
   */
  order: 'write-then-publish' | 'publish-then-write';
  /** Completion only: when and by what the session completed. */
  completion?: { completedAt: string; completedBy: CompletedBy };
  /** Stop only: whether to look at the connector afterwards (the car may already be unplugged). */
  checkConnector: boolean;
}

/** The event was already applied: nothing to write; the stored state's event may be republished. */
export interface Replay {
  outcome: 'replay';
  state: LifecycleState;
  reason: 'duplicate-start' | 'duplicate-stop' | 'already-completed';
  /** The event to publish again (same id, same content: harmless for consumers), if any. */
  republish: LifecycleEventName | undefined;
  /** Whether to look at the connector (a retried stop of a session still waiting for its unplug). */
  checkConnector: boolean;
}

/** The event does not apply to this session: nothing to write, nothing to publish. */
export interface Refused {
  outcome: 'refused';
  state: LifecycleState;
  /**
   * `unknown-transaction`: no session (of this charge point) has this transactionId; a StopTransaction
   * is still answered (OCPP requires it) and recorded for review.
   * `invalid-transition`: the event cannot happen in this state (completion of a session still charging).
   * `guard-failed`: the event applies to this state, but not yet or not on this evidence (see `reason`).
   */
  refusal: 'unknown-transaction' | 'invalid-transition' | 'guard-failed';
  reason: 'unknown-transaction' | 'not-stopped' | 'status-before-stop' | 'status-before-start' | 'idle-limit-not-reached' | 'stop-was-received';
  /** Whether the message is to be kept for review (a StopTransaction for an unknown transaction). */
  recordForReview: boolean;
}

export type LifecycleDecision = Moved | Replay | Refused;

/** The moves, as data: the one place that says which prior state each write requires. */
export const LIFECYCLE_MOVES = [
  { from: 'absent', event: 'StartTransaction', to: 'started', write: 'create', publish: 'SessionStarted' },
  { from: 'started', event: 'StopTransaction', to: 'stopped', write: 'stop', publish: 'SessionStopped' },
  { from: 'stopped', event: 'ConnectorAvailable', to: 'completed', write: 'complete', publish: 'SessionCompleted' },
  { from: 'stopped', event: 'IdleLimitReached', to: 'completed', write: 'complete', publish: 'SessionCompleted' },
  { from: 'started', event: 'ClosedWithoutStop', to: 'stopped', write: 'stop', publish: 'SessionStopped' },
  { from: 'stopped', event: 'ClosedWithoutStop', to: 'completed', write: 'complete', publish: 'SessionCompleted' },
] as const satisfies ReadonlyArray<{ from: LifecycleState; event: LifecycleEventKind; to: SessionState; write: LifecycleWrite; publish: LifecycleEventName }>;

/** The states a write may start from: the store makes the write conditional on exactly these. */
export function priorStatesFor(write: LifecycleWrite): LifecycleState[] {
  return [...new Set(LIFECYCLE_MOVES.filter((m) => m.write === write).map((m) => m.from))];
}

/** Whether a stored session in `state` still waits for its completion (the `awaitingCompletion` index). */
export function awaitsCompletion(state: LifecycleState): boolean {
  return priorStatesFor('complete').includes(state);
}

export function lifecycleStateOf(session: LifecycleSubject | undefined): LifecycleState {
  return session ? session.state : 'absent';
}

function move(from: LifecycleState, event: LifecycleEventKind, extra: Pick<Moved, 'checkConnector'> & Partial<Pick<Moved, 'completion'>>): Moved {
  const m = LIFECYCLE_MOVES.find((candidate) => candidate.from === from && candidate.event === event);
  if (!m) throw new Error(`session lifecycle: no move from ${from} on ${event}`);
  return {
    outcome: 'moved',
    from,
    to: m.to,
    write: m.write,
    publish: m.publish,
    order: m.write === 'complete' ? 'publish-then-write' : 'write-then-publish',
    ...extra,
  };
}

const replay = (state: LifecycleState, reason: Replay['reason'], republish: LifecycleEventName | undefined, checkConnector = false): Replay => ({
  outcome: 'replay',
  state,
  reason,
  republish,
  checkConnector,
});

const refuse = (state: LifecycleState, refusal: Refused['refusal'], reason: Refused['reason'], recordForReview = false): Refused => ({
  outcome: 'refused',
  state,
  refusal,
  reason,
  recordForReview,
});

type Handler<E extends LifecycleEventKind> = (session: LifecycleSubject, event: Extract<LifecycleEvent, { kind: E }>) => LifecycleDecision;
type AbsentHandler<E extends LifecycleEventKind> = (event: Extract<LifecycleEvent, { kind: E }>) => LifecycleDecision;

const completion = (session: LifecycleSubject, event: Extract<LifecycleEvent, { kind: 'ConnectorAvailable' }>): LifecycleDecision => {
  const stoppedAt = session.stoppedAt!;
  // A session closed without a stop ends at its last reading, whatever the connector says later.
  if (session.closedWithoutStop) {
    return move('stopped', 'ConnectorAvailable', { checkConnector: false, completion: { completedAt: stoppedAt, completedBy: 'closed-without-stop' } });
  }
  if (event.source === 'status-notification' || event.source === 'next-start') {
    // A status older than the stop says nothing about this session's end.
    if (event.statusAt < stoppedAt) return refuse('stopped', 'guard-failed', 'status-before-stop');
    return move('stopped', 'ConnectorAvailable', { checkConnector: false, completion: { completedAt: event.statusAt, completedBy: 'unplugged' } });
  }
  // Read by the StopTransaction: an Available since the start means the car left before this
  // (queued) stop arrived; billing ends at the later of the two.
  if (event.statusAt < session.startedAt) return refuse('stopped', 'guard-failed', 'status-before-start');
  const completedAt = event.statusAt > stoppedAt ? event.statusAt : stoppedAt;
  return move('stopped', 'ConnectorAvailable', { checkConnector: false, completion: { completedAt, completedBy: 'unplugged' } });
};

const idleCompletion = (session: LifecycleSubject, event: Extract<LifecycleEvent, { kind: 'IdleLimitReached' }>): LifecycleDecision => {
  const limitMs = event.idleLimitSeconds * 1000;
  const cutoff = new Date(Date.parse(event.now) - limitMs).toISOString();
  // The idle limit counts from when the stop was stored (server clock), so a stop queued offline
  // still gets the whole window; billing ends at the charge point's stop time + the limit.
  const recordedAt = session.stopRecordedAt ?? session.stoppedAt!;
  if (recordedAt > cutoff) return refuse('stopped', 'guard-failed', 'idle-limit-not-reached');
  // A session closed without a stop whose completion was interrupted: it ends at its last reading, never later.
  if (session.closedWithoutStop) {
    return move('stopped', 'IdleLimitReached', { checkConnector: false, completion: { completedAt: session.stoppedAt!, completedBy: 'closed-without-stop' } });
  }
  // EVDisconnected: the cable was out when the transaction stopped, so nothing was parked after the
  // stop; a queued Available arriving after the limit would change nothing (docs/clocks.md).
  if (session.stopReason === 'EVDisconnected') {
    return move('stopped', 'IdleLimitReached', { checkConnector: false, completion: { completedAt: session.stoppedAt!, completedBy: 'idle-limit' } });
  }
  const completedAt = new Date(Date.parse(session.stoppedAt!) + limitMs).toISOString();
  return move('stopped', 'IdleLimitReached', { checkConnector: false, completion: { completedAt, completedBy: 'idle-limit' } });
};

/** The second half of a close without a stop: completed at the stop it was given (its last reading). */
const closedCompletion = (session: LifecycleSubject): LifecycleDecision => {
  // A session stopped by its own StopTransaction waits for its unplug (or the idle limit) as usual.
  if (!session.closedWithoutStop) return refuse('stopped', 'guard-failed', 'stop-was-received');
  return move('stopped', 'ClosedWithoutStop', { checkConnector: false, completion: { completedAt: session.stoppedAt!, completedBy: 'closed-without-stop' } });
};

/**
 * Every state x event pair, spelled out: the compiler refuses a table missing one, and the unit
 * test enumerates them all.
 */
const TABLE: {
  absent: { [E in LifecycleEventKind]: AbsentHandler<E> };
  started: { [E in LifecycleEventKind]: Handler<E> };
  stopped: { [E in LifecycleEventKind]: Handler<E> };
  completed: { [E in LifecycleEventKind]: Handler<E> };
} = {
  absent: {
    StartTransaction: () => move('absent', 'StartTransaction', { checkConnector: false }),
    StopTransaction: () => refuse('absent', 'unknown-transaction', 'unknown-transaction', true),
    ConnectorAvailable: () => refuse('absent', 'unknown-transaction', 'unknown-transaction'),
    IdleLimitReached: () => refuse('absent', 'unknown-transaction', 'unknown-transaction'),
    ClosedWithoutStop: () => refuse('absent', 'unknown-transaction', 'unknown-transaction'),
  },
  started: {
    // A retry of the same StartTransaction: the same transactionId, SessionStarted again.
    StartTransaction: () => replay('started', 'duplicate-start', 'SessionStarted'),
    StopTransaction: () => move('started', 'StopTransaction', { checkConnector: true }),
    ConnectorAvailable: () => refuse('started', 'invalid-transition', 'not-stopped'),
    IdleLimitReached: () => refuse('started', 'invalid-transition', 'not-stopped'),
    ClosedWithoutStop: () => move('started', 'ClosedWithoutStop', { checkConnector: false }),
  },
  stopped: {
    StartTransaction: () => replay('stopped', 'duplicate-start', 'SessionStarted'),
    // A retried stop (its answer was lost): the stored stop stands; publish it again and look at
    // the connector again, in case the first attempt failed before completing the session.
    StopTransaction: () => replay('stopped', 'duplicate-stop', 'SessionStopped', true),
    ConnectorAvailable: completion,
    IdleLimitReached: idleCompletion,
    ClosedWithoutStop: closedCompletion,
  },
  completed: {
    StartTransaction: () => replay('completed', 'duplicate-start', 'SessionStarted'),
    StopTransaction: () => replay('completed', 'duplicate-stop', 'SessionStopped'),
    ConnectorAvailable: () => replay('completed', 'already-completed', undefined),
    IdleLimitReached: () => replay('completed', 'already-completed', undefined),
    ClosedWithoutStop: () => replay('completed', 'already-completed', undefined),
  },
};

/** What `event` means for `session` (undefined: no session of this charge point has the transactionId). */
export function transition(session: LifecycleSubject | undefined, event: LifecycleEvent): LifecycleDecision {
  if (!session) {
    const handler = TABLE.absent[event.kind] as AbsentHandler<LifecycleEventKind>;
    return handler(event);
  }
  const row = TABLE[session.state];
  if (!row) throw new Error(`session lifecycle: unknown state ${String(session.state)}`);
  const handler = row[event.kind] as Handler<LifecycleEventKind>;
  return handler(session, event);
}
