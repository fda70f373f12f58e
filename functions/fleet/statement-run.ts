import type { FleetAccountRecord } from './domain/account.ts';
import type { Clock } from '../shared/clock.ts';
import { ConfigurationError, NotFoundError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { parsePeriod, periodBounds, periodOf, type Period } from './domain/period.ts';
import type { FleetAccountStore } from './domain/ports.ts';
import { FleetBillingError } from './domain/statement.ts';
import type { FleetBilling } from './fleet-billing.ts';

/** What the monthly run did for one account. */
export type AccountOutcome =
  | { accountId: string; period: Period; outcome: 'issued'; statementId: string; sessions: number; totalMinor: number; currency: string; stripeInvoiceId?: string }
  | { accountId: string; period: Period; outcome: 'already-issued'; statementId: string }
  | { accountId: string; period: Period; outcome: 'not-due'; periodEnds: string }
  | { accountId: string; period: Period; outcome: 'nothing-to-bill' }
  /** The account cannot be billed as configured (no tax details, Stripe missing): a person must act; retrying will not help. */
  | { accountId: string; period: Period; outcome: 'refused'; reason: string }
  /** Something transient (a lease held by another run, DynamoDB or Stripe failing): the run is retried. */
  | { accountId: string; period: Period; outcome: 'failed'; reason: string };

export interface StatementRunReport {
  period: Period;
  ranAt: string;
  accounts: AccountOutcome[];
  counts: Partial<Record<AccountOutcome['outcome'], number>>;
}

/** The month before the one `instant` falls in (UTC calendar): the month a run on the 1st closes. */
export function previousMonth(instant: Date): Period {
  const current = periodOf(instant.toISOString(), 'UTC');
  const [year, month] = current.split('-').map(Number) as [number, number];
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, '0')}`;
}

/**
 * The monthly fleet statement run: issues `period` (default: last month) for every fleet account
 * whose month is over in its own time zone, one account at a time, and reports each. Safe to run
 * any number of times: an issued statement is left alone, a half-issued one resumes (the issue
 * itself is idempotent: claims, lease, Stripe idempotency keys, deterministic event id). An
 * account whose month is not over yet is reported `not-due` and issued by a later run.
 */
export function createStatementRun(deps: { billing: FleetBilling; accounts: Pick<FleetAccountStore, 'listFleets'>; clock: Clock; log: Log }) {
  const { billing, accounts, clock, log } = deps;

  async function forAccount(account: FleetAccountRecord, period: Period, now: Date): Promise<AccountOutcome> {
    const { accountId } = account;
    const { end } = periodBounds(period, account.timeZone ?? 'UTC');
    if (now.toISOString() < end) return { accountId, period, outcome: 'not-due', periodEnds: end };
    try {
      const preview = await billing.statement(accountId, period);
      if (preview.status === 'issued') return { accountId, period, outcome: 'already-issued', statementId: preview.statement.statementId };
      // A per-session account without sessions owes nothing: no empty statement, no invoice.
      if (preview.status === 'open' && preview.statement.plan.kind !== 'monthly' && preview.statement.sessionCount === 0) {
        return { accountId, period, outcome: 'nothing-to-bill' };
      }
      const issued = await billing.issue(accountId, period);
      return {
        accountId,
        period,
        outcome: 'issued',
        statementId: issued.statement.statementId,
        sessions: issued.statement.sessionCount,
        totalMinor: issued.statement.totalMinor,
        currency: issued.statement.currency,
        ...(issued.invoice ? { stripeInvoiceId: issued.invoice.stripeInvoiceId } : {}),
      };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof FleetBillingError || error instanceof ConfigurationError || error instanceof NotFoundError) {
        return { accountId, period, outcome: 'refused', reason };
      }
      return { accountId, period, outcome: 'failed', reason };
    }
  }

  return {
    async run(options: { period?: string } = {}): Promise<StatementRunReport> {
      const now = clock.now();
      const period = options.period ? parsePeriod(options.period) : previousMonth(now);
      const outcomes: AccountOutcome[] = [];
      for await (const account of accounts.listFleets()) {
        const outcome = await forAccount(account, period, now);
        (outcome.outcome === 'failed' || outcome.outcome === 'refused' ? log.error : log.info)('fleet statement run: account', { ...outcome });
        outcomes.push(outcome);
      }
      const counts: StatementRunReport['counts'] = {};
      for (const o of outcomes) counts[o.outcome] = (counts[o.outcome] ?? 0) + 1;
      return { period, ranAt: now.toISOString(), accounts: outcomes.sort((a, b) => a.accountId.localeCompare(b.accountId)), counts };
    },
  };
}
