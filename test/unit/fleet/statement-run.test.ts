import { describe, expect, it } from 'vitest';
import type { FleetAccountRecord } from '../../../functions/fleet/domain/account.ts';
import { FleetBillingError } from '../../../functions/fleet/domain/statement.ts';
import { StatementBusyError, type FleetBilling, type StatementView } from '../../../functions/fleet/fleet-billing.ts';
import { createStatementRun, previousMonth } from '../../../functions/fleet/statement-run.ts';
import { silentLog } from '../../../functions/shared/log.ts';

const account = (accountId: string, timeZone?: string): FleetAccountRecord => ({
  accountId,
  name: accountId,
  currency: 'EUR',
  billingContact: { email: `${accountId}@example.com` },
  ...(timeZone ? { timeZone } : {}),
  updatedAt: '2026-01-01T00:00:00.000Z',
});

const view = (accountId: string, status: StatementView['status'], sessionCount: number, plan: 'per_session' | 'monthly' = 'per_session'): StatementView =>
  ({ status, statement: { statementId: `FS-${accountId}-2026-10`, accountId, sessionCount, totalMinor: sessionCount * 1000, currency: 'EUR', plan: { kind: plan } } }) as unknown as StatementView;

/** A fleet billing double: statements by account, and what `issue` does for each. */
function fakeBilling(previews: Record<string, StatementView | Error>, issue: Record<string, Error | undefined> = {}) {
  const issued: string[] = [];
  const billing = {
    async statement(accountId: string) {
      const preview = previews[accountId]!;
      if (preview instanceof Error) throw preview;
      return preview;
    },
    async issue(accountId: string, period: string) {
      if (issue[accountId]) throw issue[accountId];
      issued.push(`${accountId}:${period}`);
      return { ...(previews[accountId] as StatementView), status: 'issued', issuedAt: '2026-11-01T14:00:01.000Z' };
    },
  } as unknown as FleetBilling;
  return { billing, issued };
}

const source = (records: FleetAccountRecord[]) => ({
  async *listFleets() {
    yield* records;
  },
});

describe('monthly fleet statement run', () => {
  it('closes the previous UTC month, across a year boundary too', () => {
    expect(previousMonth(new Date('2026-11-01T14:00:00Z'))).toBe('2026-10');
    expect(previousMonth(new Date('2027-01-01T14:00:00Z'))).toBe('2026-12');
  });

  it('issues last month for every account whose month is over in its time zone, skips the rest, and reports each account', async () => {
    const { billing, issued } = fakeBilling({
      berlin: view('berlin', 'open', 3),
      honolulu: view('honolulu', 'open', 2),
      done: view('done', 'issued', 5),
      idle: view('idle', 'open', 0),
      monthly: view('monthly', 'open', 0, 'monthly'),
    });
    // 1 November 05:00 UTC: October is over in Berlin, not yet in Honolulu (UTC-10).
    const run = createStatementRun({
      billing,
      accounts: source([account('berlin', 'Europe/Berlin'), account('honolulu', 'Pacific/Honolulu'), account('done'), account('idle'), account('monthly')]),
      clock: { now: () => new Date('2026-11-01T05:00:00Z') },
      log: silentLog,
    });
    const report = await run.run();
    expect(report.period).toBe('2026-10');
    expect(issued.sort()).toEqual(['berlin:2026-10', 'monthly:2026-10']);
    expect(Object.fromEntries(report.accounts.map((a) => [a.accountId, a.outcome]))).toEqual({
      berlin: 'issued',
      honolulu: 'not-due',
      done: 'already-issued',
      idle: 'nothing-to-bill',
      monthly: 'issued',
    });
    expect(report.accounts.find((a) => a.accountId === 'honolulu')).toMatchObject({ periodEnds: '2026-11-01T10:00:00.000Z' });
    expect(report.counts).toEqual({ issued: 2, 'not-due': 1, 'already-issued': 1, 'nothing-to-bill': 1 });
  });

  it('tells an account that cannot be billed as configured (refused) from a transient failure (failed), and carries on with the others', async () => {
    const { billing, issued } = fakeBilling(
      { notax: new FleetBillingError('fleet account notax has no tax details'), busy: view('busy', 'draft', 1), ok: view('ok', 'open', 1) },
      { busy: new StatementBusyError('being issued by another run') },
    );
    const run = createStatementRun({ billing, accounts: source([account('notax'), account('busy'), account('ok')]), clock: { now: () => new Date('2026-11-01T14:00:00Z') }, log: silentLog });
    const report = await run.run({ period: '2026-10' });
    expect(issued).toEqual(['ok:2026-10']);
    expect(report.accounts.map((a) => [a.accountId, a.outcome])).toEqual([
      ['busy', 'failed'],
      ['notax', 'refused'],
      ['ok', 'issued'],
    ]);
  });

  it('refuses a period that is not YYYY-MM', async () => {
    const run = createStatementRun({ billing: fakeBilling({}).billing, accounts: source([]), clock: { now: () => new Date() }, log: silentLog });
    await expect(run.run({ period: '2026-13' })).rejects.toThrow(/YYYY-MM/);
  });
});
