import { randomUUID } from 'node:crypto';
import { FleetStatementIssued } from '../../events/billing-events.ts';
import { buildEvent, type EventData } from '../../events/contract.ts';
import type { SessionPriced } from '../../events/pricing-events.ts';
import type { FleetAccountRecord } from './domain/account.ts';
import type { EventPort } from '../ocpp/domain/ports.ts';
import type { Clock } from '../shared/clock.ts';
import { ConfigurationError, NotFoundError, VoltLedgerError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { accrualFromPricedSession, fleetAccountOf } from './domain/accrual.ts';
import { parsePeriod, periodBounds, type Period } from './domain/period.ts';
import { DEFAULT_COLLECTION, DEFAULT_PLAN, type FleetBillingSettings } from './domain/plan.ts';
import type { FleetAccounts, FleetInvoicer, FleetStore, StatementRecord, StatementTotals } from './domain/ports.ts';
import { computeStatement, FleetBillingError, planInvoiceItems, splitByCurrency, statementIdFor, type FleetStatement } from './domain/statement.ts';

/** Thrown when a statement is asked for before its period is over. */
export class PeriodNotOverError extends VoltLedgerError {}
/** Thrown when another run holds the statement's lease (it is being issued right now). */
export class StatementBusyError extends VoltLedgerError {}
/** Thrown when a stored statement no longer adds up from its own sessions (never expected; never billed). */
export class StatementIntegrityError extends VoltLedgerError {}

export interface FleetBillingDeps {
  store: FleetStore;
  accounts: FleetAccounts;
  /** Stripe invoicing; accounts with a Stripe customer cannot be issued without it. */
  invoicer?: FleetInvoicer;
  events: EventPort;
  clock: Clock;
  log: Log;
  /** How long an issuer holds a statement (default 300 s); a crashed run's lease expires after it. */
  leaseSeconds?: number;
}

/** A statement as shown: the figures, its lifecycle, and its invoice. */
export interface StatementView {
  status: 'open' | 'draft' | 'frozen' | 'issued';
  statement: FleetStatement;
  issuedAt?: string;
  invoice?: StatementRecord['invoice'];
}

/** The account's billing settings, with the documented defaults. */
export function billingSettingsOf(account: FleetAccountRecord): FleetBillingSettings {
  const tax = account.taxDetails ? { ...account.taxDetails, ...(account.taxDetails.taxId ?? account.taxId ? { taxId: account.taxDetails.taxId ?? account.taxId } : {}) } : undefined;
  return {
    accountId: account.accountId,
    name: account.name,
    currency: account.currency,
    plan: account.plan ?? DEFAULT_PLAN,
    timeZone: account.timeZone ?? 'UTC',
    collection: account.invoiceCollection ?? DEFAULT_COLLECTION,
    ...(tax ? { tax } : {}),
    ...(account.stripeCustomerId ? { stripeCustomerId: account.stripeCustomerId } : {}),
  };
}

const totalsOf = (s: FleetStatement): StatementTotals => ({
  currency: s.currency,
  sessionCount: s.sessionCount,
  sessionsExclVatMinor: s.sessionsExclVatMinor,
  fixedFeeMinor: s.fixedFeeMinor,
  overageMinor: s.overageMinor,
  subtotalMinor: s.subtotalMinor,
  taxMinor: s.taxMinor,
  totalMinor: s.totalMinor,
});

/**
 * Fleet billing: accrues priced fleet sessions to their account and issues monthly statements.
 *
 * Idempotency, without transactions: an accrual is written once per session; a statement claims
 * each unbilled accrual with a conditional write (a session is on one statement, ever), under a
 * lease so two issuers never interleave; the statement is then frozen (sessions and totals fixed),
 * invoiced with Stripe idempotency keys derived from its id, marked issued, and announced with a
 * deterministic event id. A re-run resumes wherever a previous run stopped and never bills twice;
 * a session that reaches VoltLedger after its period's statement was frozen stays unbilled and is
 * claimed by the next statement.
 */
export function createFleetBilling(deps: FleetBillingDeps) {
  const { store, accounts, events, clock, log } = deps;
  const leaseMs = (deps.leaseSeconds ?? 300) * 1000;

  async function account(accountId: string): Promise<FleetAccountRecord> {
    const found = await accounts.getFleet(accountId);
    if (!found) throw new NotFoundError(`fleet account ${accountId} does not exist`);
    return found;
  }

  /**
   * The statement as frozen, rebuilt from its settings snapshot and its claimed sessions, checked
   * against its totals; `excluded` lists the account's sessions of the period (and earlier) still
   * unclaimed because they were priced in another currency.
   */
  async function frozenStatement(record: StatementRecord): Promise<FleetStatement> {
    const settings = JSON.parse(record.settingsJson!) as FleetBillingSettings;
    const accruals = await store.getAccruals(record.accountId, record.sessionIds ?? []);
    const statement = computeStatement(settings, record.period, accruals);
    if (JSON.stringify(totalsOf(statement)) !== JSON.stringify(record.totals) || accruals.length !== (record.sessionIds ?? []).length) {
      throw new StatementIntegrityError(`statement ${record.statementId} does not add up from its sessions any more; not billed`);
    }
    const unclaimed = splitByCurrency(await store.unbilledAccruals(record.accountId, record.period), settings.currency).excluded;
    return { ...statement, excluded: [...statement.excluded, ...unclaimed] };
  }

  function issuedEvent(statement: FleetStatement, record: StatementRecord, issuedAt: string) {
    const data: EventData<typeof FleetStatementIssued> = {
      statementId: statement.statementId,
      accountId: statement.accountId,
      period: statement.period,
      currency: statement.currency,
      sessionIds: statement.lines.map((l) => l.sessionId),
      sessionsExclVatMinor: statement.sessionsExclVatMinor,
      fixedFeeMinor: statement.fixedFeeMinor,
      overageMinor: statement.overageMinor,
      subtotalMinor: statement.subtotalMinor,
      taxMinor: statement.taxMinor,
      totalMinor: statement.totalMinor,
      ...(record.invoice ? { stripeInvoiceId: record.invoice.stripeInvoiceId } : {}),
      issuedAt,
    };
    return buildEvent(FleetStatementIssued, data, { id: `FleetStatementIssued:${statement.statementId}`, occurredAt: new Date(issuedAt), correlationId: statement.statementId });
  }

  async function claimAndFreeze(accountId: string, period: Period, statementId: string, owner: string, settings: FleetBillingSettings): Promise<void> {
    // Only what the statement bills is claimed: a session priced in another currency stays unclaimed and reported.
    const { billable: unbilled, excluded } = splitByCurrency(await store.unbilledAccruals(accountId, period), settings.currency);
    if (excluded.length) log.warn('fleet sessions in another currency left unclaimed', { accountId, period, excluded });
    // Intent first: a run that dies between the two writes leaves a claim the statement knows about.
    await store.recordClaimIntent(accountId, period, unbilled.map((a) => a.sessionId));
    for (const accrual of unbilled) await store.claimAccrual(accountId, accrual.sessionId, statementId);
    const draft = await store.getStatement(accountId, period);
    const candidates = draft?.claimedSessionIds ?? [];
    const claimed = (await store.getAccruals(accountId, candidates)).filter((a) => a.statementId === statementId);
    const statement = computeStatement(settings, period, claimed);
    const frozen = await store.freeze(accountId, period, owner, {
      frozenAt: clock.now().toISOString(),
      settingsJson: JSON.stringify(settings),
      totals: totalsOf(statement),
      sessionIds: claimed.map((a) => a.sessionId).sort(),
    });
    if (!frozen) throw new StatementBusyError(`statement ${statementId} changed while it was being frozen; retry`);
  }

  return {
    /** SessionPriced (fleet): accrues the session to its account once. */
    async accrue(data: EventData<typeof SessionPriced>): Promise<'accrued' | 'duplicate' | 'not-fleet'> {
      const accountId = fleetAccountOf(data);
      if (!accountId) return 'not-fleet';
      const found = await account(accountId);
      const accrual = accrualFromPricedSession(data, accountId, found.timeZone ?? 'UTC', clock.now().toISOString());
      const created = await store.putAccrual(accrual);
      if (created) log.info('fleet session accrued', { accountId, sessionId: data.sessionId, period: accrual.naturalPeriod });
      return created ? 'accrued' : 'duplicate';
    },

    /**
     * The statement of an account's period: as issued (or frozen) when it was, else a preview of
     * what issuing it now would bill (its unbilled sessions of that period and earlier).
     */
    async statement(accountId: string, periodText: string): Promise<StatementView> {
      const period = parsePeriod(periodText);
      const found = await account(accountId);
      const record = await store.getStatement(accountId, period);
      if (record && (record.status === 'frozen' || record.status === 'issued')) {
        return { status: record.status, statement: await frozenStatement(record), ...(record.issuedAt ? { issuedAt: record.issuedAt } : {}), ...(record.invoice ? { invoice: record.invoice } : {}) };
      }
      const settings = billingSettingsOf(found);
      if (!settings.tax) throw new FleetBillingError(`fleet account ${accountId} has no tax details (taxDetails.vatPercent); set them before statements can be computed`);
      const unbilled = await store.unbilledAccruals(accountId, period);
      return { status: record ? 'draft' : 'open', statement: computeStatement(settings, period, unbilled) };
    },

    /** Statements of an account, newest first, as stored (totals and invoice, not lines). */
    async list(accountId: string): Promise<StatementRecord[]> {
      await account(accountId);
      const records = await store.listStatements(accountId);
      return records
        .map(({ claimedSessionIds: _c, settingsJson: _s, leaseOwner: _o, leaseUntil: _u, ...rest }) => rest as StatementRecord)
        .sort((a, b) => b.period.localeCompare(a.period));
    },

    /**
     * Issues an account's statement for a period that is over: claims and freezes its sessions,
     * invoices it through Stripe (when the account has a Stripe customer), marks it issued and
     * publishes FleetStatementIssued. Safe to run any number of times.
     *
     * @throws PeriodNotOverError, StatementBusyError, FleetBillingError, NotFoundError.
     */
    async issue(accountId: string, periodText: string): Promise<StatementView> {
      const period = parsePeriod(periodText);
      const found = await account(accountId);
      const now = clock.now();
      const { end } = periodBounds(period, found.timeZone ?? 'UTC');
      if (now.toISOString() < end) throw new PeriodNotOverError(`period ${period} of fleet account ${accountId} is not over until ${end}`);
      const statementId = statementIdFor(accountId, period);
      await store.createStatement({ statementId, accountId, period, status: 'draft', createdAt: now.toISOString() });
      const existing = (await store.getStatement(accountId, period))!;
      if (existing.status === 'issued') {
        const statement = await frozenStatement(existing);
        await events.publish([issuedEvent(statement, existing, existing.issuedAt!)]);
        return { status: 'issued', statement, issuedAt: existing.issuedAt!, ...(existing.invoice ? { invoice: existing.invoice } : {}) };
      }
      const settings = billingSettingsOf(found);
      if (existing.status === 'draft' && !settings.tax) throw new FleetBillingError(`fleet account ${accountId} has no tax details (taxDetails.vatPercent); a statement cannot be issued without them`);

      const owner = randomUUID();
      if (!(await store.acquireLease(accountId, period, owner, now.toISOString(), new Date(now.getTime() + leaseMs).toISOString()))) {
        throw new StatementBusyError(`statement ${statementId} is being issued by another run; retry shortly`);
      }
      try {
        if (existing.status === 'draft') await claimAndFreeze(accountId, period, statementId, owner, settings);
        let record = (await store.getStatement(accountId, period))!;
        const statement = await frozenStatement(record);
        const frozenSettings = JSON.parse(record.settingsJson!) as FleetBillingSettings;
        if (frozenSettings.stripeCustomerId && statement.totalMinor > 0) {
          if (!deps.invoicer) throw new ConfigurationError(`fleet account ${accountId} is invoiced through Stripe, but Stripe is not configured`);
          await deps.invoicer.invoice({
            statement,
            customerId: frozenSettings.stripeCustomerId,
            collection: frozenSettings.collection ?? DEFAULT_COLLECTION,
            items: planInvoiceItems(statement),
            progress: record.invoice,
            save: (progress) => store.updateInvoice(accountId, period, progress),
          });
          record = (await store.getStatement(accountId, period))!;
        }
        const issuedAt = await store.markIssued(accountId, period, clock.now().toISOString());
        await events.publish([issuedEvent(statement, record, issuedAt)]);
        log.info('fleet statement issued', { statementId, totalMinor: statement.totalMinor, sessions: statement.sessionCount, invoice: record.invoice?.stripeInvoiceId });
        return { status: 'issued', statement, issuedAt, ...(record.invoice ? { invoice: record.invoice } : {}) };
      } finally {
        await store.releaseLease(accountId, period, owner);
      }
    },
  };
}

export type FleetBilling = ReturnType<typeof createFleetBilling>;
