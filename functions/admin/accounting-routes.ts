import { z } from 'zod';
import { ValidationError } from '../shared/errors.ts';
import type { Clock } from '../shared/clock.ts';
import { ACCOUNT_KEYS, buildChart, ChartOverrideSchema, type Chart } from '../accounting/domain/chart.ts';
import { ConflictingEntryError, SessionAlreadyClosedError } from '../accounting/domain/errors.ts';
import { revenueByDay, toCsv } from '../accounting/domain/export.ts';
import type { JournalEntry } from '../accounting/domain/journal.ts';
import { minorToDecimal } from '../shared/money.ts';
import type { LedgerStore, PostedEntry } from '../accounting/domain/ports.ts';
import { formatReport } from '../accounting/domain/reconciliation.ts';
import type { Ledger } from '../accounting/ledger.ts';
import type { Reconciler } from '../accounting/reconciler.ts';
import type { RevenueAssurance } from '../accounting/revenue-assurance.ts';
import type { AccountingSync } from '../accounting/sync.ts';
import { json, jsonBody, parseWith, type HttpEvent, type HttpResult } from '../shared/http.ts';
import { paidByCard } from '../../events/billing.ts';

/** What the ledger, reconciliation and accounting routes need. */
export interface AccountingAdminDeps {
  store: LedgerStore;
  ledger: Ledger;
  sync: AccountingSync;
  revenueAssurance: RevenueAssurance;
  /** Absent when no Stripe is configured: POST /admin/reconciliations answers 503. */
  reconciler?: Reconciler;
  /** The local accounting receiver (npm start only). */
  receiver?: { received(): unknown[]; rejected(): number };
}

type Route = { method: string; pattern: RegExp; handle: (match: string[], event: HttpEvent) => Promise<HttpResult> };

const DAY = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date yyyy-mm-dd').refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'must be a real date');

const WriteOffBody = z.strictObject({
  sessionId: z.string().min(1).max(64),
  reason: z.string().min(3).max(500),
  /** What to write off; by default what the session still owes (from its settlement, or its price). */
  amountMinor: z.number().int().nonnegative().optional(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an upper-case ISO 4217 code').optional(),
  /** Book to small-amount write-offs instead of bad debts. */
  smallAmount: z.boolean().optional(),
});

const ReconcileBody = z.union([z.strictObject({ date: DAY }), z.strictObject({ payoutId: z.string().regex(/^po_[A-Za-z0-9_]+$/, 'must be a Stripe payout id (po_...)') })], {
  error: 'give either date (yyyy-mm-dd) or payoutId (po_...)',
});

const ReplayBody = z.strictObject({
  deadLetters: z.boolean().optional(),
  entryIds: z.array(z.string().min(1)).max(1000).optional(),
  date: DAY.optional(),
});

/** An entry with the chart's codes and names and decimal amounts, as people read it. */
export function renderEntry(posted: PostedEntry, chart: Chart) {
  const { entry } = posted;
  return {
    ...entry,
    postedAt: posted.postedAt,
    lines: entry.lines.map((l) => {
      const account = chart[l.account as keyof Chart];
      return { ...l, code: account?.code, name: account?.name, amount: minorToDecimal(l.amountMinor, entry.currency) };
    }),
  };
}

function query(event: HttpEvent, name: string): string | undefined {
  const value = event.queryStringParameters?.[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Ledger entries, chart, export, write-offs, reconciliation, revenue assurance and the accounting sync's dead letters. */
export function accountingRoutes(deps: AccountingAdminDeps, clock: Clock): Route[] {
  const chart = async () => buildChart(await deps.store.getChartOverride());
  const conflict = (error: unknown) => {
    if (error instanceof SessionAlreadyClosedError || error instanceof ConflictingEntryError) return json(409, { error: error.name.replace(/Error$/, ''), message: error.message });
    throw error;
  };
  return [
    {
      method: 'GET',
      pattern: /^\/admin\/ledger\/entries$/,
      async handle(_m, event) {
        const sessionId = query(event, 'sessionId');
        const date = query(event, 'date');
        const account = query(event, 'account');
        let entries: PostedEntry[];
        if (sessionId) entries = await deps.store.entriesByRef(`session:${sessionId}`);
        else if (date) entries = await deps.store.entriesByDay(parseWith(DAY, date));
        else if (account) {
          if (!(ACCOUNT_KEYS as string[]).includes(account)) throw new ValidationError(`account must be one of ${ACCOUNT_KEYS.join(', ')}`, 'account');
          const from = parseWith(DAY, query(event, 'from') ?? clock.now().toISOString().slice(0, 10));
          const to = parseWith(DAY, query(event, 'to') ?? from);
          entries = await deps.store.entriesByAccount(account, from, to);
        } else throw new ValidationError('give sessionId, date (yyyy-mm-dd) or account (with from/to)', 'sessionId');
        const c = await chart();
        const rendered = entries.map((p) => renderEntry(p, c));
        if (account) {
          let balance = 0;
          for (const e of entries) for (const l of e.entry.lines) if (l.account === account) balance += l.side === 'debit' ? l.amountMinor : -l.amountMinor;
          return json(200, { account: c[account as keyof Chart], debitBalanceMinor: balance, entries: rendered });
        }
        return json(200, { entries: rendered });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/ledger\/entries\/([^/]+)$/,
      async handle([entryId]) {
        const posted = await deps.store.getEntry(entryId!);
        if (!posted) return json(404, { error: 'NotFound', message: `no journal entry ${entryId}` });
        return json(200, { ...renderEntry(posted, await chart()), sync: (await deps.store.getSync(entryId!)) ?? null });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/ledger\/chart$/,
      async handle() {
        return json(200, { accounts: Object.values(await chart()) });
      },
    },
    {
      method: 'PUT',
      pattern: /^\/admin\/ledger\/chart$/,
      async handle(_m, event) {
        const override = parseWith(ChartOverrideSchema, jsonBody(event));
        try {
          buildChart(override);
        } catch (error) {
          throw new ValidationError((error as Error).message, 'accounts');
        }
        await deps.store.putChartOverride(override);
        return json(200, { accounts: Object.values(buildChart(override)) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/ledger\/export$/,
      async handle(_m, event) {
        const date = parseWith(DAY, query(event, 'date'));
        const format = query(event, 'format') ?? 'json';
        if (format !== 'json' && format !== 'csv') throw new ValidationError('format must be csv or json', 'format');
        const rows = revenueByDay(date, (await deps.store.entriesByDay(date)).map((p: PostedEntry): JournalEntry => p.entry), await chart());
        if (format === 'csv') return { statusCode: 200, headers: { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="voltledger-revenue-${date}.csv"` }, body: toCsv(rows) };
        return json(200, { date, rows });
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/ledger\/write-offs$/,
      async handle(_m, event) {
        const body = parseWith(WriteOffBody, jsonBody(event));
        let amountMinor = body.amountMinor;
        let currency = body.currency;
        if (amountMinor === undefined || currency === undefined) {
          const facts = await deps.store.factsByRef(`session:${body.sessionId}`);
          const settled = facts.find((f) => f.detailType === 'SessionPaymentSettled' && (f.data as { sessionId: string }).sessionId === body.sessionId)?.data as
            | { outstandingMinor: number; carriedOutMinor: number; currency: string }
            | undefined;
          const priced = facts.find((f) => f.detailType === 'SessionPriced')?.data as { totalMinor: number; currency: string; billingProfile: { kind?: string } | null } | undefined;
          const owed = settled ? settled.outstandingMinor + settled.carriedOutMinor : priced && paidByCard(priced.billingProfile) ? priced.totalMinor : 0;
          amountMinor ??= owed;
          currency ??= (settled?.currency ?? priced?.currency)?.toUpperCase();
        }
        if (amountMinor > 0 && !currency) throw new ValidationError('currency is required: the session has no price or settlement in the ledger', 'currency');
        try {
          const result = await deps.ledger.writeOff({ sessionId: body.sessionId, reason: body.reason, amountMinor, currency: currency ?? 'EUR', smallAmount: body.smallAmount });
          const c = await chart();
          return json(201, { closure: result.closure, entries: result.entries.map((p) => renderEntry(p, c)) });
        } catch (error) {
          return conflict(error);
        }
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/reconciliations$/,
      async handle(_m, event) {
        const body = parseWith(ReconcileBody, jsonBody(event));
        if (!deps.reconciler) return json(503, { error: 'StripeNotConfigured', message: 'reconciliation reads Stripe: configure it (STRIPE_SECRET_KEY, or the local emulator)' });
        const report = 'date' in body ? await deps.reconciler.reconcileDay(body.date) : await deps.reconciler.reconcilePayout(body.payoutId);
        return json(200, { ...report, table: formatReport(report) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/reconciliations$/,
      async handle(_m, event) {
        const date = query(event, 'date');
        const payoutId = query(event, 'payoutId');
        if (!date && !payoutId) throw new ValidationError('give date (yyyy-mm-dd) or payoutId', 'date');
        const scope = payoutId ? { payoutId } : { date: parseWith(DAY, date) };
        return json(200, { reports: await deps.store.reports(payoutId ? `PAYOUT#${payoutId}` : `DAY#${scope.date}`) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/revenue-assurance$/,
      async handle(_m, event) {
        const number = (name: string, fallback: number, max: number) => {
          const raw = query(event, name);
          if (raw === undefined) return fallback;
          const value = Number(raw);
          if (!Number.isFinite(value) || value < 0 || value > max) throw new ValidationError(`${name} must be a number from 0 to ${max}`, name);
          return value;
        };
        return json(200, await deps.revenueAssurance.report({ olderThanHours: number('olderThanHours', 48, 24 * 366), lookbackDays: number('lookbackDays', 31, 366) }));
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/accounting\/dead-letters$/,
      async handle() {
        return json(200, { deadLetters: await deps.store.deadLetters() });
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/accounting\/replay$/,
      async handle(_m, event) {
        const body = parseWith(ReplayBody, jsonBody(event));
        if (!body.deadLetters && !body.entryIds?.length && !body.date) throw new ValidationError('give deadLetters: true, entryIds or date', 'deadLetters');
        const results = await deps.sync.replay({ deadLetters: body.deadLetters, entryIds: body.entryIds, day: body.date });
        return json(200, { replayed: results.length, delivered: results.filter((r) => r.status === 'delivered').length, results });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/accounting\/received$/,
      async handle() {
        if (!deps.receiver) return json(404, { error: 'NotFound', message: 'the accounting receiver runs only in the local stack' });
        return json(200, { rejected: deps.receiver.rejected(), received: deps.receiver.received() });
      },
    },
  ];
}
