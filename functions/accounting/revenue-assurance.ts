import type { Clock } from '../shared/clock.ts';
import type { LedgerStore, StoredClosure } from './domain/ports.ts';
import { billingKindOf } from '../../events/billing.ts';

/** A completed session as revenue assurance needs it (from the Sessions table's byCompletionDay index). */
export interface CompletedSession {
  sessionId: string;
  transactionId: number;
  chargePointId: string;
  siteId?: string;
  completedAt: string;
  billingProfile?: Record<string, unknown> | null;
  pricedAt?: string;
  totalMinor?: number;
  currency?: string;
  pricingError?: string;
}

export interface CompletedSessionSource {
  /** Sessions completed on the UTC days from `fromDay` to `toDay`, inclusive. */
  completedBetween(fromDay: string, toDay: string): Promise<CompletedSession[]>;
  /** Sessions started or stopped but never completed, stored (server clock) at or before `createdBefore`. */
  notCompletedCreatedBefore?(createdBefore: string): Promise<NotCompletedSession[]>;
  /** StopTransaction / MeterValues no session took, received from `from` to `to` (UTC ISO, inclusive). */
  unmatchedBetween?(from: string, to: string): Promise<UnmatchedOcppMessage[]>;
}

/** A session that never reached completion (docs/sessions.md): it can be neither priced nor closed. */
export interface NotCompletedSession {
  sessionId: string;
  transactionId: number;
  chargePointId: string;
  connectorId: number;
  state: 'started' | 'stopped';
  startedAt: string;
  createdAt: string;
  stoppedAt?: string;
  billingProfile?: Record<string, unknown> | null;
}

/** An OCPP message kept for review because no session took it (GET /admin/unmatched). */
export interface UnmatchedOcppMessage {
  kind: string;
  chargePointId: string;
  transactionId?: number;
  reason: string;
  receivedAt: string;
  candidates?: number[];
}

/** Where an open session is stuck. */
export type OpenStage =
  | 'pricing_failed'
  | 'not_priced'
  | 'awaiting_payment_settlement'
  | 'carried_forward'
  | 'collection_failed'
  | 'awaiting_fleet_statement'
  | 'awaiting_roaming_cdr'
  /** Started with an idTag that was not Accepted: priced, charged to nobody, for a person to decide (docs/payments.md). */
  | 'no_payer';

export interface OpenSession extends CompletedSession {
  billingKind: string;
  stage: OpenStage;
  detail: string;
  /** What is still owed, when known (outstanding + carried out, or the priced total). */
  owedMinor?: number;
}

export interface RevenueAssuranceReport {
  generatedAt: string;
  olderThanHours: number;
  fromDay: string;
  toDay: string;
  checked: number;
  closed: number;
  /** Fleet sessions whose statement month is not over yet (not open, not closed). */
  awaitingStatementPeriod: number;
  open: OpenSession[];
  byStage: Partial<Record<OpenStage, number>>;
  /** Sessions closed more than one way (must not happen: exactly one closure). */
  conflicts: Array<{ sessionId: string; closures: StoredClosure['all'] }>;
  /**
   * Sessions stored more than `olderThanHours` ago that never completed (no stop, or no completion):
   * the sweep closes them past SESSION_MAX_OPEN_HOURS; one listed here is stuck (docs/sessions.md).
   */
  notCompleted: Array<NotCompletedSession & { billingKind: string; detail: string }>;
  /** StopTransaction / MeterValues no session took, received within the lookback: each is to review. */
  unmatched: UnmatchedOcppMessage[];
}

const DAY = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Every completed session must reach exactly one financial closure: captured, billed to a fleet,
 * sent to a roaming partner, free (or nothing due), or written off with a reason. The report lists
 * sessions completed more than `olderThanHours` ago (within `lookbackDays`) that have none, with
 * where each is stuck, and sessions closed more than one way.
 */
export function createRevenueAssurance(deps: { store: LedgerStore; sessions: CompletedSessionSource; clock: Clock }) {
  return {
    async report(options: { olderThanHours?: number; lookbackDays?: number } = {}): Promise<RevenueAssuranceReport> {
      const olderThanHours = options.olderThanHours ?? 48;
      const now = deps.clock.now().getTime();
      const cutoff = now - olderThanHours * 3_600_000;
      const fromDay = dayOf(cutoff - (options.lookbackDays ?? 31) * DAY);
      const toDay = dayOf(cutoff);
      const sessions = (await deps.sessions.completedBetween(fromDay, toDay)).filter((s) => Date.parse(s.completedAt) <= cutoff);
      const closures = await deps.store.closures(sessions.map((s) => s.sessionId));
      const open: OpenSession[] = [];
      const conflicts: RevenueAssuranceReport['conflicts'] = [];
      let awaitingStatementPeriod = 0;
      for (const session of sessions) {
        const closure = closures.get(session.sessionId);
        if (closure) {
          if (closure.conflict) conflicts.push({ sessionId: session.sessionId, closures: closure.all });
          continue;
        }
        const billingKind = billingKindOf(session.billingProfile);
        const base = { ...session, billingKind };
        if (session.pricingError) {
          open.push({ ...base, stage: 'pricing_failed', detail: session.pricingError });
          continue;
        }
        if (!session.pricedAt) {
          open.push({ ...base, stage: 'not_priced', detail: 'completed but never priced (SessionCompleted lost, or pricing still failing)' });
          continue;
        }
        if (billingKind === 'no-payer') {
          open.push({ ...base, stage: 'no_payer', detail: `nobody can be billed: ${String(session.billingProfile?.reason ?? 'the idTag was not accepted')}`, owedMinor: session.totalMinor });
          continue;
        }
        if (billingKind === 'fleet') {
          const completed = new Date(session.completedAt);
          const periodEnd = Date.UTC(completed.getUTCFullYear(), completed.getUTCMonth() + 1, 1);
          if (periodEnd + olderThanHours * 3_600_000 > now) {
            awaitingStatementPeriod++;
            continue;
          }
          open.push({ ...base, stage: 'awaiting_fleet_statement', detail: `no fleet statement for ${completed.toISOString().slice(0, 7)} includes it`, owedMinor: session.totalMinor });
          continue;
        }
        if (billingKind === 'roaming') {
          open.push({ ...base, stage: 'awaiting_roaming_cdr', detail: `no CDR accepted by ${String(session.billingProfile?.partnerId ?? 'the partner')}`, owedMinor: session.totalMinor });
          continue;
        }
        const settled = (await deps.store.factsByRef(`session:${session.sessionId}`)).find((f) => f.detailType === 'SessionPaymentSettled' && (f.data as { sessionId: string }).sessionId === session.sessionId);
        const s = settled?.data as { outcome: string; outstandingMinor: number; carriedOutMinor: number; failure?: { message: string } } | undefined;
        if (!s) open.push({ ...base, stage: 'awaiting_payment_settlement', detail: 'priced, but no payment settlement yet', owedMinor: session.totalMinor });
        else if (s.outcome === 'carried_forward') open.push({ ...base, stage: 'carried_forward', detail: 'below the currency minimum, carried to the driver\'s next session, which has not settled it', owedMinor: s.carriedOutMinor });
        else open.push({ ...base, stage: 'collection_failed', detail: s.failure?.message ?? `settled as ${s.outcome} with money outstanding`, owedMinor: s.outstandingMinor + s.carriedOutMinor });
      }
      const byStage: RevenueAssuranceReport['byStage'] = {};
      for (const o of open) byStage[o.stage] = (byStage[o.stage] ?? 0) + 1;
      // Sessions that never reached completion never reach the completed-session index above: read them apart.
      const notCompleted = ((await deps.sessions.notCompletedCreatedBefore?.(new Date(cutoff).toISOString())) ?? []).map((s) => ({
        ...s,
        billingKind: billingKindOf(s.billingProfile),
        detail: s.state === 'started' ? `started ${s.startedAt}, no StopTransaction and not closed by the sweep` : `stopped ${s.stoppedAt ?? '?'}, never completed`,
      }));
      const unmatched = (await deps.sessions.unmatchedBetween?.(`${fromDay}T00:00:00.000Z`, new Date(now).toISOString())) ?? [];
      return { generatedAt: new Date(now).toISOString(), olderThanHours, fromDay, toDay, checked: sessions.length, closed: closures.size, awaitingStatementPeriod, open, byStage, conflicts, notCompleted, unmatched };
    },
  };
}

export type RevenueAssurance = ReturnType<typeof createRevenueAssurance>;
