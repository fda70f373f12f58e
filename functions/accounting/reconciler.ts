import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import type { StripeSettlementSource } from './adapters/stripe-settlement.ts';
import type { LedgerFact, LedgerStore, PostedEntry } from './domain/ports.ts';
import { reconcile, type ReconciliationReport, type StripeCharge } from './domain/reconciliation.ts';

export interface ReconcilerDeps {
  store: LedgerStore;
  stripe: StripeSettlementSource;
  clock: Clock;
  log: Log;
}

/** Scope key reports are stored under: `DAY#2026-11-23` or `PAYOUT#po_...`. */
export const reportScope = (scope: { date?: string; payoutId?: string }) => (scope.payoutId ? `PAYOUT#${scope.payoutId}` : `DAY#${scope.date}`);

/**
 * Fetches both sides of a reconciliation (Stripe's balance transactions and charges; the ledger's
 * entries and settlement facts), classifies every difference and stores the report.
 */
export function createReconciler(deps: ReconcilerDeps) {
  const { store, stripe, clock, log } = deps;

  async function run(scope: { date: string } | { payoutId: string }): Promise<ReconciliationReport> {
    const balanceTransactions = await stripe.balanceTransactions(scope);
    const entries = new Map<string, PostedEntry>();
    const addEntries = (list: PostedEntry[]) => {
      for (const p of list) entries.set(p.entry.entryId, p);
    };
    if ('date' in scope) addEntries(await store.entriesByDay(scope.date));
    const charges = new Map<string, StripeCharge>();
    for (const txn of balanceTransactions) {
      const kind = txn.type === 'charge' || txn.type === 'payment' ? 'charge' : txn.type.startsWith('refund') || txn.type === 'payment_refund' ? 'refund' : txn.type === 'adjustment' ? 'dispute' : txn.type.startsWith('payout') ? 'payout' : undefined;
      if (kind) addEntries(await store.entriesByRef(`${kind}:${txn.sourceId}`));
      addEntries(await store.entriesByRef(`txn:${txn.id}`));
      if (kind === 'charge') {
        const charge = await stripe.charge(txn.sourceId);
        if (charge) charges.set(charge.chargeId, charge);
      }
    }
    let settlements: LedgerFact[];
    if ('date' in scope) {
      settlements = (await store.factsByDay(scope.date)).filter((f) => f.detailType === 'SessionPaymentSettled');
    } else {
      const sessionIds = [...new Set(balanceTransactions.map((t) => t.sessionId).filter((s): s is string => Boolean(s)))];
      settlements = [];
      for (const sessionId of sessionIds) settlements.push(...(await store.factsByRef(`session:${sessionId}`)).filter((f) => f.detailType === 'SessionPaymentSettled'));
    }
    const sessionCharges = new Map<string, StripeCharge[]>();
    for (const fact of settlements) {
      const d = fact.data as { sessionId: string; holdPaymentIntentId?: string; chargePaymentIntentId?: string };
      const found: StripeCharge[] = [];
      for (const pi of new Set([d.holdPaymentIntentId, d.chargePaymentIntentId].filter((x): x is string => Boolean(x)))) found.push(...(await stripe.chargesOfPaymentIntent(pi)));
      sessionCharges.set(d.sessionId, found);
      addEntries(await store.entriesByRef(`session:${d.sessionId}`));
    }
    const payout = 'payoutId' in scope ? await stripe.payout(scope.payoutId) : undefined;
    const runAt = clock.now().toISOString();
    const report = reconcile({
      scope: 'date' in scope ? { date: scope.date } : { payoutId: scope.payoutId },
      runAt,
      balanceTransactions,
      charges,
      sessionCharges,
      ...(payout ? { payout } : {}),
      entries: [...entries.values()],
      settlements,
    });
    await store.saveReport(reportScope(report.scope), runAt, report);
    (report.explained ? log.info : log.warn)('reconciliation finished', { scope: report.scope, counts: report.counts, explained: report.explained });
    return report;
  }

  return {
    reconcileDay: (date: string) => run({ date }),
    reconcilePayout: (payoutId: string) => run({ payoutId }),
    reports: (scope: { date?: string; payoutId?: string }, limit?: number) => store.reports(reportScope(scope), limit),
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;
