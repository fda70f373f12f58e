import { describe, expect, it } from 'vitest';
import { lifecycleCondition } from '../../../functions/ocpp/adapters/dynamo-sessions.ts';
import type { SessionState } from '../../../functions/ocpp/domain/model.ts';
import {
  awaitsCompletion,
  LIFECYCLE_EVENT_KINDS,
  LIFECYCLE_MOVES,
  LIFECYCLE_STATES,
  lifecycleStateOf,
  priorStatesFor,
  transition,
  type LifecycleDecision,
  type LifecycleEvent,
  type LifecycleEventKind,
  type LifecycleState,
  type LifecycleSubject,
} from '../../../functions/ocpp/domain/session-lifecycle.ts';

const STARTED_AT = '2026-11-23T09:00:00.000Z';
const STOPPED_AT = '2026-11-23T10:00:00.000Z';
const STOP_RECORDED_AT = '2026-11-23T10:00:05.000Z';
const IDLE_LIMIT_SECONDS = 4 * 3600;

const subject = (state: SessionState): LifecycleSubject =>
  state === 'started' ? { state, startedAt: STARTED_AT } : { state, startedAt: STARTED_AT, stoppedAt: STOPPED_AT, stopRecordedAt: STOP_RECORDED_AT };
const session = (state: LifecycleState): LifecycleSubject | undefined => (state === 'absent' ? undefined : subject(state));

/** A representative event of each kind (one whose guards hold for a stopped session). */
const anEvent: { [K in LifecycleEventKind]: Extract<LifecycleEvent, { kind: K }> } = {
  StartTransaction: { kind: 'StartTransaction' },
  StopTransaction: { kind: 'StopTransaction' },
  ConnectorAvailable: { kind: 'ConnectorAvailable', source: 'status-notification', statusAt: '2026-11-23T10:05:00.000Z' },
  IdleLimitReached: { kind: 'IdleLimitReached', now: '2026-11-23T14:00:05.000Z', idleLimitSeconds: IDLE_LIMIT_SECONDS },
  ClosedWithoutStop: { kind: 'ClosedWithoutStop', cause: 'superseded' },
};

/** The expected outcome of every state x event pair; a pair missing here fails the enumeration below. */
const EXPECTED: Record<LifecycleState, Record<LifecycleEventKind, string>> = {
  absent: {
    StartTransaction: 'moved:started',
    StopTransaction: 'refused:unknown-transaction',
    ConnectorAvailable: 'refused:unknown-transaction',
    IdleLimitReached: 'refused:unknown-transaction',
    ClosedWithoutStop: 'refused:unknown-transaction',
  },
  started: {
    StartTransaction: 'replay:duplicate-start',
    StopTransaction: 'moved:stopped',
    ConnectorAvailable: 'refused:not-stopped',
    IdleLimitReached: 'refused:not-stopped',
    ClosedWithoutStop: 'moved:stopped',
  },
  stopped: {
    StartTransaction: 'replay:duplicate-start',
    StopTransaction: 'replay:duplicate-stop',
    ConnectorAvailable: 'moved:completed',
    IdleLimitReached: 'moved:completed',
    // A session stopped by its own StopTransaction is not closed without one.
    ClosedWithoutStop: 'refused:stop-was-received',
  },
  completed: {
    StartTransaction: 'replay:duplicate-start',
    StopTransaction: 'replay:duplicate-stop',
    ConnectorAvailable: 'replay:already-completed',
    IdleLimitReached: 'replay:already-completed',
    ClosedWithoutStop: 'replay:already-completed',
  },
};

const summary = (d: LifecycleDecision) => (d.outcome === 'moved' ? `moved:${d.to}` : `${d.outcome}:${d.reason}`);

describe('session lifecycle', () => {
  describe('every state x event pair', () => {
    const pairs = LIFECYCLE_STATES.flatMap((state) => LIFECYCLE_EVENT_KINDS.map((kind) => [state, kind] as const));

    it('covers all 4 states and 5 events (20 pairs)', () => {
      expect(pairs).toHaveLength(20);
      expect(Object.keys(EXPECTED).sort()).toEqual([...LIFECYCLE_STATES].sort());
    });

    it.each(pairs)('%s + %s is handled as expected', (state, kind) => {
      const expected = EXPECTED[state]?.[kind];
      expect(expected, `no expectation for ${state} + ${kind}: add one`).toBeDefined();
      const decision = transition(session(state), anEvent[kind]);
      expect(summary(decision)).toBe(expected);
      // A refusal or a replay never writes; a move is one of the declared moves.
      if (decision.outcome === 'moved') {
        expect(LIFECYCLE_MOVES).toContainEqual({ from: state, event: kind, to: decision.to, write: decision.write, publish: decision.publish });
      } else {
        expect(decision.state).toBe(state);
        expect(decision).not.toHaveProperty('write');
      }
    });

    it('throws on a stored state it does not know (a corrupt record), instead of guessing', () => {
      expect(() => transition({ state: 'paused' as SessionState, startedAt: STARTED_AT }, anEvent.StopTransaction)).toThrow(/unknown state paused/);
    });
  });

  describe('absent', () => {
    it('StartTransaction creates the session (conditional on none existing), then publishes SessionStarted', () => {
      expect(transition(undefined, { kind: 'StartTransaction' })).toEqual({
        outcome: 'moved',
        from: 'absent',
        to: 'started',
        write: 'create',
        publish: 'SessionStarted',
        order: 'write-then-publish',
        checkConnector: false,
      });
    });

    it('StopTransaction for an unknown transaction is refused and kept for review', () => {
      expect(transition(undefined, { kind: 'StopTransaction' })).toEqual({
        outcome: 'refused',
        state: 'absent',
        refusal: 'unknown-transaction',
        reason: 'unknown-transaction',
        recordForReview: true,
      });
    });

    it.each(['ConnectorAvailable', 'IdleLimitReached'] as const)('%s is refused as an unknown transaction, not kept for review', (kind) => {
      expect(transition(undefined, anEvent[kind])).toMatchObject({ outcome: 'refused', refusal: 'unknown-transaction', recordForReview: false });
    });
  });

  describe('started', () => {
    it('a retried StartTransaction is a replay that republishes SessionStarted', () => {
      expect(transition(subject('started'), { kind: 'StartTransaction' })).toEqual({
        outcome: 'replay',
        state: 'started',
        reason: 'duplicate-start',
        republish: 'SessionStarted',
        checkConnector: false,
      });
    });

    it('StopTransaction stops it (conditional on started), publishes SessionStopped, then looks at the connector', () => {
      expect(transition(subject('started'), { kind: 'StopTransaction' })).toEqual({
        outcome: 'moved',
        from: 'started',
        to: 'stopped',
        write: 'stop',
        publish: 'SessionStopped',
        order: 'write-then-publish',
        checkConnector: true,
      });
    });

    it.each(['ConnectorAvailable', 'IdleLimitReached'] as const)('%s cannot complete a session still charging', (kind) => {
      expect(transition(subject('started'), anEvent[kind])).toEqual({
        outcome: 'refused',
        state: 'started',
        refusal: 'invalid-transition',
        reason: 'not-stopped',
        recordForReview: false,
      });
    });
  });

  describe('stopped', () => {
    it('a retried StartTransaction is a replay that republishes SessionStarted', () => {
      expect(transition(subject('stopped'), { kind: 'StartTransaction' })).toMatchObject({ outcome: 'replay', reason: 'duplicate-start', republish: 'SessionStarted', checkConnector: false });
    });

    it('a retried StopTransaction is a replay: SessionStopped again, and the connector looked at again', () => {
      expect(transition(subject('stopped'), { kind: 'StopTransaction' })).toEqual({
        outcome: 'replay',
        state: 'stopped',
        reason: 'duplicate-stop',
        republish: 'SessionStopped',
        checkConnector: true,
      });
    });

    describe('ConnectorAvailable from a StatusNotification', () => {
      const available = (statusAt: string) => transition(subject('stopped'), { kind: 'ConnectorAvailable', source: 'status-notification', statusAt });

      it('completes it at the status time, unplugged, publishing SessionCompleted before the write', () => {
        expect(available('2026-11-23T10:05:00.000Z')).toEqual({
          outcome: 'moved',
          from: 'stopped',
          to: 'completed',
          write: 'complete',
          publish: 'SessionCompleted',
          order: 'publish-then-write',
          checkConnector: false,
          completion: { completedAt: '2026-11-23T10:05:00.000Z', completedBy: 'unplugged' },
        });
      });

      it('completes it on a status at the very stop time', () => {
        expect(available(STOPPED_AT)).toMatchObject({ outcome: 'moved', completion: { completedAt: STOPPED_AT } });
      });

      it('ignores a status older than the stop (it says nothing about this session)', () => {
        expect(available('2026-11-23T09:59:59.999Z')).toEqual({
          outcome: 'refused',
          state: 'stopped',
          refusal: 'guard-failed',
          reason: 'status-before-stop',
          recordForReview: false,
        });
      });
    });

    describe('ConnectorAvailable read by the StopTransaction (unplugged before a queued stop arrived)', () => {
      const available = (statusAt: string) => transition(subject('stopped'), { kind: 'ConnectorAvailable', source: 'stop-transaction', statusAt });

      it('completes it at the stop when the car left between the start and the stop', () => {
        expect(available('2026-11-23T09:30:00.000Z')).toMatchObject({ outcome: 'moved', to: 'completed', completion: { completedAt: STOPPED_AT, completedBy: 'unplugged' } });
      });

      it('completes it at the status time when the status is after the stop', () => {
        expect(available('2026-11-23T10:10:00.000Z')).toMatchObject({ outcome: 'moved', completion: { completedAt: '2026-11-23T10:10:00.000Z', completedBy: 'unplugged' } });
      });

      it('completes it on a status at the very start time', () => {
        expect(available(STARTED_AT)).toMatchObject({ outcome: 'moved', completion: { completedAt: STOPPED_AT } });
      });

      it('ignores an Available from before the session started (the previous car)', () => {
        expect(available('2026-11-23T08:59:59.999Z')).toMatchObject({ outcome: 'refused', refusal: 'guard-failed', reason: 'status-before-start' });
      });
    });

    describe('IdleLimitReached', () => {
      const idle = (now: string, overrides: Partial<LifecycleSubject> = {}) =>
        transition({ ...subject('stopped'), ...overrides }, { kind: 'IdleLimitReached', now, idleLimitSeconds: IDLE_LIMIT_SECONDS });

      it('completes it at the charge point stop time + the limit, by idle-limit, publishing before the write', () => {
        expect(idle('2026-11-23T14:00:05.000Z')).toEqual({
          outcome: 'moved',
          from: 'stopped',
          to: 'completed',
          write: 'complete',
          publish: 'SessionCompleted',
          order: 'publish-then-write',
          checkConnector: false,
          completion: { completedAt: '2026-11-23T14:00:00.000Z', completedBy: 'idle-limit' },
        });
      });

      it('counts the limit from when the stop was recorded (server clock), not from the stop time', () => {
        // A stop queued offline for an hour: recorded at 11:00, so the window ends at 15:00.
        const late = { stopRecordedAt: '2026-11-23T11:00:00.000Z' };
        expect(idle('2026-11-23T14:59:59.999Z', late)).toMatchObject({ outcome: 'refused', refusal: 'guard-failed', reason: 'idle-limit-not-reached' });
        expect(idle('2026-11-23T15:00:00.000Z', late)).toMatchObject({ outcome: 'moved', completion: { completedAt: '2026-11-23T14:00:00.000Z' } });
      });

      it('refuses before the limit has passed', () => {
        expect(idle('2026-11-23T14:00:04.999Z')).toEqual({
          outcome: 'refused',
          state: 'stopped',
          refusal: 'guard-failed',
          reason: 'idle-limit-not-reached',
          recordForReview: false,
        });
      });
    });
  });

  describe('completed', () => {
    it('a retried StartTransaction is a replay that republishes SessionStarted', () => {
      expect(transition(subject('completed'), { kind: 'StartTransaction' })).toMatchObject({ outcome: 'replay', reason: 'duplicate-start', republish: 'SessionStarted', checkConnector: false });
    });

    it('a retried StopTransaction republishes SessionStopped but does not look at the connector', () => {
      expect(transition(subject('completed'), { kind: 'StopTransaction' })).toEqual({
        outcome: 'replay',
        state: 'completed',
        reason: 'duplicate-stop',
        republish: 'SessionStopped',
        checkConnector: false,
      });
    });

    it.each([
      ['ConnectorAvailable (status)', anEvent.ConnectorAvailable],
      ['ConnectorAvailable (read at stop)', { kind: 'ConnectorAvailable', source: 'stop-transaction', statusAt: STARTED_AT } as const],
      ['IdleLimitReached', anEvent.IdleLimitReached],
    ])('%s is an idempotent replay: nothing written, nothing republished', (_name, event) => {
      expect(transition(subject('completed'), event)).toEqual({
        outcome: 'replay',
        state: 'completed',
        reason: 'already-completed',
        republish: undefined,
        checkConnector: false,
      });
    });
  });

  describe('prior states and the store conditions derived from them', () => {
    it('each write has the prior states the moves declare', () => {
      expect(priorStatesFor('create')).toEqual(['absent']);
      expect(priorStatesFor('stop')).toEqual(['started']);
      expect(priorStatesFor('complete')).toEqual(['stopped']);
    });

    it('only a stopped session awaits completion', () => {
      expect(LIFECYCLE_STATES.filter(awaitsCompletion)).toEqual(['stopped']);
    });

    it('the DynamoDB conditions are the prior states, and nothing else', () => {
      expect(lifecycleCondition('create')).toEqual({ ConditionExpression: 'attribute_not_exists(pk)', names: {}, values: {} });
      expect(lifecycleCondition('stop')).toEqual({ ConditionExpression: '#state = :started', names: { '#state': 'state' }, values: { ':started': 'started' } });
      expect(lifecycleCondition('complete')).toEqual({ ConditionExpression: '#state = :stopped', names: { '#state': 'state' }, values: { ':stopped': 'stopped' } });
    });

    it('the store condition admits exactly the states the machine moves from, for every write', () => {
      for (const write of ['create', 'stop', 'complete'] as const) {
        const { ConditionExpression, values } = lifecycleCondition(write);
        const admitted = LIFECYCLE_STATES.filter((state) =>
          ConditionExpression.split(' OR ').some((term) => (term === 'attribute_not_exists(pk)' ? state === 'absent' : values[term.replace('#state = ', '')] === state)),
        );
        const moving = LIFECYCLE_STATES.filter((state) => LIFECYCLE_EVENT_KINDS.some((kind) => {
          const decision = transition(session(state), anEvent[kind]);
          return decision.outcome === 'moved' && decision.write === write;
        }));
        expect(admitted, write).toEqual(moving);
      }
    });

    it('lifecycleStateOf reads absent for no session', () => {
      expect(lifecycleStateOf(undefined)).toBe('absent');
      expect(lifecycleStateOf(subject('stopped'))).toBe('stopped');
    });
  });
});

describe('session lifecycle: closed without a stop (docs/sessions.md)', () => {
  const closed = { cause: 'superseded', closedAt: '2026-11-24T08:00:00.000Z', stopFrom: 'last-meter-reading' } as const;
  const closedStopped: LifecycleSubject = { state: 'stopped', startedAt: STARTED_AT, stoppedAt: STOPPED_AT, stopRecordedAt: '2026-11-24T08:00:00.000Z', closedWithoutStop: closed };

  it.each(['superseded', 'no-stop'] as const)('started + ClosedWithoutStop (%s) stops it (conditional on started) and publishes SessionStopped', (cause) => {
    expect(transition({ state: 'started', startedAt: STARTED_AT }, { kind: 'ClosedWithoutStop', cause })).toEqual({
      outcome: 'moved',
      from: 'started',
      to: 'stopped',
      write: 'stop',
      publish: 'SessionStopped',
      order: 'write-then-publish',
      checkConnector: false,
    });
  });

  it('stopped by a close + ClosedWithoutStop completes it at its stop (its last reading): no parking past the evidence', () => {
    expect(transition(closedStopped, { kind: 'ClosedWithoutStop', cause: 'superseded' })).toEqual({
      outcome: 'moved',
      from: 'stopped',
      to: 'completed',
      write: 'complete',
      publish: 'SessionCompleted',
      order: 'publish-then-write',
      checkConnector: false,
      completion: { completedAt: STOPPED_AT, completedBy: 'closed-without-stop' },
    });
  });

  it('stopped by its own StopTransaction + ClosedWithoutStop is refused: it waits for its unplug as usual', () => {
    expect(transition(subject('stopped'), { kind: 'ClosedWithoutStop', cause: 'no-stop' })).toMatchObject({ outcome: 'refused', refusal: 'guard-failed', reason: 'stop-was-received' });
  });

  it('an interrupted close finished by the idle sweep or a later Available still completes at the stop, never later', () => {
    expect(transition(closedStopped, { kind: 'IdleLimitReached', now: '2026-11-24T12:00:05.000Z', idleLimitSeconds: IDLE_LIMIT_SECONDS })).toMatchObject({ outcome: 'moved', completion: { completedAt: STOPPED_AT, completedBy: 'closed-without-stop' } });
    expect(transition(closedStopped, { kind: 'ConnectorAvailable', source: 'status-notification', statusAt: '2026-11-24T09:00:00.000Z' })).toMatchObject({
      outcome: 'moved',
      completion: { completedAt: STOPPED_AT, completedBy: 'closed-without-stop' },
    });
  });

  it('the stop write still requires started, the completion still requires stopped', () => {
    expect(priorStatesFor('stop')).toEqual(['started']);
    expect(priorStatesFor('complete')).toEqual(['stopped']);
  });
});
