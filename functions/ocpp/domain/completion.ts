import type { CentralSystemConfig } from './config.ts';
import { UNPLUGGED_STATUS, type SessionRecord } from './model.ts';
import type { OcppPorts } from './ports.ts';
import { sessionEvents } from './session-events-loader.ts';
import { transition, type CompletedBy, type LifecycleDecision } from './session-lifecycle.ts';

/**
 * Completion of stopped sessions, each decided by the session lifecycle: the connector reporting
 * Available after the stop, a stop that finds the connector already Available, and the idle sweep.
 */
export function createCompletion(
  { registry, sessions, events, clock }: Pick<OcppPorts, 'registry' | 'sessions' | 'events' | 'clock'>,
  config: Pick<CentralSystemConfig, 'idleCompletionLimitSeconds'>,
) {
  /**
   * Completes a stopped session when the lifecycle says the decision moves it: publish first, then
   * mark it (the machine's `publish-then-write`), so a crash in between leaves the session awaiting
   * completion and the retry publishes the same event id again (harmless). False when the decision
   * is no move, or the conditional write found the session no longer stopped.
   */
  async function complete(session: SessionRecord, decision: LifecycleDecision): Promise<boolean> {
    if (decision.outcome !== 'moved' || decision.write !== 'complete') return false;
    const { completedAt, completedBy } = decision.completion as { completedAt: string; completedBy: CompletedBy };
    await events.publish([(await sessionEvents()).completedEvent(session, completedAt, completedBy)]);
    return sessions.completeSession(session.transactionId, completedAt, completedBy);
  }

  return {
    /** A StatusNotification (already stored): Available on a connector completes the sessions stopped there. */
    async statusReported(chargePointId: string, connectorId: number, status: string, statusAt: string): Promise<void> {
      if (status !== UNPLUGGED_STATUS || connectorId <= 0) return;
      for (const session of await sessions.awaitingCompletion(chargePointId, connectorId)) {
        // The lifecycle ignores a status older than the stop: it says nothing about this session's end.
        await complete(session, transition(session, { kind: 'ConnectorAvailable', source: 'status-notification', statusAt }));
      }
    },

    /**
     * A new session started on the connector: the sessions stopped there and still waiting for their
     * unplug end at that start at the latest, instead of running on to the idle limit (parking billed
     * while another car charges).
     */
    async nextStart(chargePointId: string, connectorId: number, startedAt: string): Promise<void> {
      for (const session of await sessions.awaitingCompletion(chargePointId, connectorId)) {
        await complete(session, transition(session, { kind: 'ConnectorAvailable', source: 'next-start', statusAt: startedAt }));
      }
    },

    /** After a stop is stored: the car may have been unplugged before this (queued) StopTransaction arrived. */
    async stopped(session: SessionRecord): Promise<void> {
      const connector = await registry.getConnectorStatus(session.chargePointId, session.connectorId);
      if (connector?.status === UNPLUGGED_STATUS) {
        await complete(session, transition(session, { kind: 'ConnectorAvailable', source: 'stop-transaction', statusAt: connector.timestamp }));
      }
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

export type Completion = ReturnType<typeof createCompletion>;
