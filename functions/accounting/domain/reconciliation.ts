import type { JournalEntry } from './journal.ts';
import { minorToDecimal } from '../../shared/money.ts';
import type { LedgerFact, PostedEntry } from './ports.ts';

/** Every difference between VoltLedger, Stripe and the ledger falls in exactly one of these. */
export const DIFFERENCE_CLASSES = [
  'matched',
  'pending_settlement',
  'fee',
  'refund',
  'dispute',
  'missing_in_stripe',
  'missing_in_ledger',
  'amount_mismatch',
  'unknown',
] as const;
export type DifferenceClass = (typeof DIFFERENCE_CLASSES)[number];

/** The classes that are explained; the others need a person. */
export const EXPLAINED: ReadonlySet<DifferenceClass> = new Set(['matched', 'pending_settlement', 'fee', 'refund', 'dispute']);

/** How many items of a report's counts need a person (are in no explained class). */
export function unexplainedDifferences(counts: Readonly<Partial<Record<string, number>>>): number {
  return Object.entries(counts).reduce((sum, [cls, n]) => (EXPLAINED.has(cls as DifferenceClass) ? sum : sum + (n ?? 0)), 0);
}

/** A Stripe balance transaction, normalized (amounts in minor units, currency upper-case, times ISO). */
export interface StripeBalanceTxn {
  id: string;
  type: string;
  reportingCategory?: string;
  amountMinor: number;
  feeMinor: number;
  netMinor: number;
  currency: string;
  status: 'pending' | 'available';
  availableOn: string;
  created: string;
  sourceId: string;
  /** From the source charge's metadata (copied from the PaymentIntent). */
  sessionId?: string;
  chargeId?: string;
  paymentIntentId?: string;
}

/** A Stripe charge, normalized: what was authorized, captured, released by a partial capture and refunded. */
export interface StripeCharge {
  chargeId: string;
  paymentIntentId?: string;
  sessionId?: string;
  currency: string;
  authorizedMinor: number;
  capturedMinor: number;
  releasedMinor: number;
  refundedMinor: number;
  captured: boolean;
  balanceTransactionId?: string;
}

export interface StripePayout {
  payoutId: string;
  amountMinor: number;
  currency: string;
  status: string;
  arrivalDate: string;
}

export interface ReconciliationItem {
  class: DifferenceClass;
  kind: 'session' | 'charge' | 'fee' | 'refund' | 'dispute' | 'payout' | 'other';
  currency: string;
  sessionId?: string;
  stripeId?: string;
  entryId?: string;
  /** What VoltLedger's sessions say (SessionPaymentSettled), Stripe settled, and the ledger booked. */
  voltledgerMinor?: number;
  stripeMinor?: number;
  ledgerMinor?: number;
  explanation: string;
}

export interface ReconciliationReport {
  scope: { date?: string; payoutId?: string };
  runAt: string;
  items: ReconciliationItem[];
  counts: Record<DifferenceClass, number>;
  totals: Record<string, { stripe: Record<string, number>; ledger: Record<string, number>; voltledger: Record<string, number> }>;
  payout?: { payoutId: string; amountMinor: number; membersSumMinor: number; status: string; balances: boolean };
  /** True when every item is in an explained class. */
  explained: boolean;
}

export interface ReconciliationInput {
  scope: { date?: string; payoutId?: string };
  runAt: string;
  balanceTransactions: StripeBalanceTxn[];
  /** Stripe charges of the sessions in scope, by session id. */
  sessionCharges: Map<string, StripeCharge[]>;
  charges: Map<string, StripeCharge>;
  payout?: StripePayout;
  /** Ledger entries of the scope and of everything the Stripe side refers to. */
  entries: PostedEntry[];
  /** SessionPaymentSettled facts of the scope (day), the VoltLedger side of card sessions. */
  settlements: LedgerFact[];
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const amountOn = (entry: JournalEntry | undefined, account: string, side: 'debit' | 'credit') =>
  entry ? sum(entry.lines.filter((l) => l.account === account && l.side === side).map((l) => l.amountMinor)) : undefined;

/**
 * Reconciles VoltLedger's session settlements, Stripe's balance transactions and the ledger for a
 * day or a payout, classifying every difference. Pure: the caller fetches both sides.
 */
export function reconcile(input: ReconciliationInput): ReconciliationReport {
  const entries = new Map(input.entries.map((p) => [p.entry.entryId, p.entry]));
  const all = [...entries.values()];
  const find = (pred: (e: JournalEntry) => boolean) => all.find(pred);
  const items: ReconciliationItem[] = [];
  const seenEntries = new Set<string>();
  const fmt = (minor: number | undefined, currency: string) => (minor === undefined ? '-' : `${minorToDecimal(minor, currency)} ${currency}`);

  /** Compares Stripe's amount with the ledger's; `explainedAs` is the class when they agree. */
  function compare(base: Omit<ReconciliationItem, 'class' | 'explanation'>, explainedAs: DifferenceClass, what: string, extra = ''): ReconciliationItem {
    const { stripeMinor, ledgerMinor, currency } = base;
    if (ledgerMinor === undefined) return { ...base, class: 'missing_in_ledger', explanation: `${what}: Stripe has ${fmt(stripeMinor, currency)}, the ledger has no entry${extra}` };
    if (stripeMinor !== ledgerMinor) return { ...base, class: 'amount_mismatch', explanation: `${what}: Stripe ${fmt(stripeMinor, currency)}, ledger ${fmt(ledgerMinor, currency)}${extra}` };
    return { ...base, class: explainedAs, explanation: `${what}: ${fmt(stripeMinor, currency)} in Stripe and the ledger${extra}` };
  }

  for (const txn of input.balanceTransactions) {
    const currency = txn.currency;
    switch (txn.type) {
      case 'charge':
      case 'payment': {
        const entry = find((e) => e.kind === 'capture' && e.refs.chargeId === txn.sourceId);
        if (entry) seenEntries.add(entry.entryId);
        const charge = input.charges.get(txn.sourceId);
        const release = charge && charge.releasedMinor > 0 ? `; partial capture: ${fmt(charge.capturedMinor, currency)} of ${fmt(charge.authorizedMinor, currency)}, ${fmt(charge.releasedMinor, currency)} released` : '';
        let item = compare(
          { kind: 'charge', currency, sessionId: txn.sessionId, stripeId: txn.sourceId, entryId: entry?.entryId, stripeMinor: txn.amountMinor, ledgerMinor: amountOn(entry, 'stripe_clearing', 'debit') },
          'matched',
          `charge ${txn.sourceId}`,
          release,
        );
        if (item.class === 'matched' && txn.status === 'pending') {
          item = { ...item, class: 'pending_settlement', explanation: `${item.explanation}; not yet available (available_on ${txn.availableOn.slice(0, 10)}), so not in a payout yet` };
        }
        if (!txn.sessionId && item.class === 'matched') item = { ...item, class: 'unknown', explanation: `${item.explanation}; the charge names no VoltLedger session (booked to unallocated receipts)` };
        items.push(item);
        if (txn.feeMinor !== 0) {
          const fee = entries.get(`StripeFee:${txn.id}`);
          if (fee) seenEntries.add(fee.entryId);
          items.push(compare({ kind: 'fee', currency, sessionId: txn.sessionId, stripeId: txn.id, entryId: fee?.entryId, stripeMinor: txn.feeMinor, ledgerMinor: amountOn(fee, 'stripe_fees', 'debit') }, 'fee', `Stripe fee on ${txn.sourceId}`, `; net ${fmt(txn.netMinor, currency)}`));
        }
        break;
      }
      case 'refund':
      case 'payment_refund':
      case 'refund_failure': {
        const failed = txn.type === 'refund_failure';
        const entry = find((e) => e.kind === (failed ? 'refund_failed' : 'refund') && e.refs.refundId === txn.sourceId);
        if (entry) seenEntries.add(entry.entryId);
        items.push(
          compare(
            { kind: 'refund', currency, sessionId: entry?.refs.sessionId, stripeId: txn.sourceId, entryId: entry?.entryId, stripeMinor: Math.abs(txn.amountMinor), ledgerMinor: amountOn(entry, 'stripe_clearing', failed ? 'debit' : 'credit') },
            'refund',
            failed ? `refund ${txn.sourceId} failed, money returned` : `refund ${txn.sourceId}`,
          ),
        );
        break;
      }
      case 'adjustment': {
        const reversal = txn.reportingCategory === 'dispute_reversal';
        if (txn.reportingCategory !== 'dispute' && !reversal) {
          items.push({ kind: 'other', class: 'unknown', currency, stripeId: txn.id, stripeMinor: txn.amountMinor, explanation: `adjustment ${txn.id} (${txn.reportingCategory ?? 'no category'}) is not something VoltLedger books` });
          break;
        }
        const entry = find((e) => e.kind === (reversal ? 'dispute_closed' : 'dispute_opened') && e.refs.disputeId === txn.sourceId);
        if (entry) seenEntries.add(entry.entryId);
        items.push(
          compare(
            {
              kind: 'dispute',
              currency,
              sessionId: entry?.refs.sessionId,
              stripeId: txn.sourceId,
              entryId: entry?.entryId,
              stripeMinor: Math.abs(txn.amountMinor) + (reversal ? 0 : txn.feeMinor),
              ledgerMinor: reversal ? amountOn(entry, 'stripe_clearing', 'debit') : amountOn(entry, 'stripe_clearing', 'credit'),
            },
            'dispute',
            reversal ? `dispute ${txn.sourceId} won, amount reinstated` : `dispute ${txn.sourceId} opened, amount and fee ${fmt(txn.feeMinor, currency)} withdrawn`,
          ),
        );
        break;
      }
      case 'payout': {
        const entry = find((e) => e.kind === 'payout' && e.refs.payoutId === txn.sourceId);
        if (entry) seenEntries.add(entry.entryId);
        const status = input.payout?.payoutId === txn.sourceId ? input.payout.status : undefined;
        const base = { kind: 'payout' as const, currency, stripeId: txn.sourceId, entryId: entry?.entryId, stripeMinor: Math.abs(txn.amountMinor), ledgerMinor: amountOn(entry, 'bank', 'debit') };
        if (!entry && status && status !== 'paid') items.push({ ...base, class: 'pending_settlement', explanation: `payout ${txn.sourceId} is ${status}: booked when it is paid` });
        else items.push(compare(base, 'matched', `payout ${txn.sourceId} to the bank`));
        break;
      }
      case 'payout_failure': {
        const paid = find((e) => e.kind === 'payout' && e.refs.payoutId === txn.sourceId);
        const reversal = find((e) => e.kind === 'payout_failed' && e.refs.payoutId === txn.sourceId);
        if (reversal) seenEntries.add(reversal.entryId);
        const base = { kind: 'payout' as const, currency, stripeId: txn.sourceId, entryId: reversal?.entryId, stripeMinor: txn.amountMinor };
        if (!paid) items.push({ ...base, class: 'matched', explanation: `payout ${txn.sourceId} failed before it was paid: the ledger never moved it` });
        else items.push(compare({ ...base, ledgerMinor: amountOn(reversal, 'stripe_clearing', 'debit') }, 'matched', `payout ${txn.sourceId} failed after it was paid, reversed`));
        break;
      }
      default:
        items.push({ kind: 'other', class: 'unknown', currency, stripeId: txn.id, stripeMinor: txn.amountMinor, explanation: `balance transaction ${txn.id} of type ${txn.type} is not something VoltLedger books` });
    }
  }

  // Day scope: what the ledger booked that Stripe does not show.
  if (input.scope.date) {
    const stripeSources = new Set(input.balanceTransactions.map((t) => t.sourceId));
    const stripeIdOf = (e: JournalEntry) =>
      e.kind === 'capture' ? e.refs.chargeId
      : e.kind === 'refund' || e.kind === 'refund_failed' ? e.refs.refundId
      : e.kind === 'dispute_opened' || e.kind === 'dispute_closed' ? e.refs.disputeId
      : e.kind === 'payout' || e.kind === 'payout_failed' ? e.refs.payoutId
      : undefined;
    for (const e of all) {
      if (seenEntries.has(e.entryId) || e.date.slice(0, 10) !== input.scope.date) continue;
      const stripeId = stripeIdOf(e);
      if (!stripeId || stripeSources.has(stripeId)) continue;
      // A dispute closed as lost moves nothing at Stripe (the money left when it opened).
      if (e.kind === 'dispute_closed' && !e.lines.some((l) => l.account === 'stripe_clearing')) continue;
      const kind = e.kind === 'capture' ? 'charge' : e.kind.startsWith('refund') ? 'refund' : e.kind.startsWith('dispute') ? 'dispute' : 'payout';
      const ledgerMinor = sum(e.lines.filter((l) => l.account === 'stripe_clearing').map((l) => l.amountMinor));
      items.push({ kind, class: 'missing_in_stripe', currency: e.currency, sessionId: e.refs.sessionId, stripeId, entryId: e.entryId, ledgerMinor, explanation: `the ledger booked ${e.kind} ${stripeId} (${fmt(ledgerMinor, e.currency)}) on ${input.scope.date}; Stripe shows no balance transaction for it that day` });
    }
  }

  // Sessions: what VoltLedger says was collected, what Stripe captured, what the ledger booked.
  for (const fact of input.settlements) {
    const d = fact.data as { sessionId: string; currency: string; outcome: string; capturedMinor: number; topUpMinor: number; dueMinor: number; waivedMinor: number; outstandingMinor: number; carriedOutMinor: number };
    const expected = d.capturedMinor + d.topUpMinor;
    const stripeCharges = input.sessionCharges.get(d.sessionId) ?? [];
    const stripeMinor = sum(stripeCharges.map((c) => c.capturedMinor));
    const captures = all.filter((e) => e.kind === 'capture' && e.refs.sessionId === d.sessionId);
    const ledgerMinor = sum(captures.map((e) => amountOn(e, 'stripe_clearing', 'debit') ?? 0));
    const base = { kind: 'session' as const, currency: d.currency, sessionId: d.sessionId, voltledgerMinor: expected, stripeMinor, ledgerMinor };
    const owed = d.outstandingMinor + d.carriedOutMinor;
    const rest = `${d.waivedMinor ? `; ${fmt(d.waivedMinor, d.currency)} waived` : ''}${owed ? `; ${fmt(owed, d.currency)} still owed` : ''}`;
    if (expected === stripeMinor && stripeMinor === ledgerMinor) {
      items.push({ ...base, class: 'matched', explanation: `session ${d.sessionId} (${d.outcome}): ${fmt(expected, d.currency)} collected, captured and booked${rest}` });
    } else if (stripeMinor === 0 && expected > 0) {
      items.push({ ...base, class: 'missing_in_stripe', explanation: `session ${d.sessionId} settled ${fmt(expected, d.currency)} (${d.outcome}) but Stripe shows no capture` });
    } else if (ledgerMinor === 0 && stripeMinor > 0) {
      items.push({ ...base, class: 'missing_in_ledger', explanation: `Stripe captured ${fmt(stripeMinor, d.currency)} for session ${d.sessionId}; the ledger has no capture entry` });
    } else {
      items.push({ ...base, class: 'amount_mismatch', explanation: `session ${d.sessionId}: settled ${fmt(expected, d.currency)}, Stripe captured ${fmt(stripeMinor, d.currency)}, ledger ${fmt(ledgerMinor, d.currency)}` });
    }
  }

  const counts = Object.fromEntries(DIFFERENCE_CLASSES.map((c) => [c, items.filter((i) => i.class === c).length])) as Record<DifferenceClass, number>;
  const totals: ReconciliationReport['totals'] = {};
  const bucket = (currency: string) => (totals[currency] ??= { stripe: {}, ledger: {}, voltledger: {} });
  const add = (rec: Record<string, number>, key: string, amount: number) => (rec[key] = (rec[key] ?? 0) + amount);
  for (const t of input.balanceTransactions) {
    const b = bucket(t.currency).stripe;
    add(b, t.type === 'payment' ? 'charge' : t.type, t.amountMinor);
    add(b, 'fees', t.feeMinor);
    add(b, 'net', t.netMinor);
  }
  for (const p of input.entries) {
    const e = p.entry;
    if (input.scope.date && e.date.slice(0, 10) !== input.scope.date && !seenEntries.has(e.entryId)) continue;
    const b = bucket(e.currency).ledger;
    for (const l of e.lines) if (l.account === 'stripe_clearing') add(b, 'clearing', l.side === 'debit' ? l.amountMinor : -l.amountMinor);
    add(b, e.kind, amountOn(e, 'stripe_clearing', 'debit')! - amountOn(e, 'stripe_clearing', 'credit')!);
  }
  for (const f of input.settlements) {
    const d = f.data as { currency: string; dueMinor: number; capturedMinor: number; topUpMinor: number; waivedMinor: number; outstandingMinor: number; carriedOutMinor: number };
    const b = bucket(d.currency).voltledger;
    add(b, 'due', d.dueMinor);
    add(b, 'collected', d.capturedMinor + d.topUpMinor);
    add(b, 'waived', d.waivedMinor);
    add(b, 'owed', d.outstandingMinor + d.carriedOutMinor);
  }

  let payout: ReconciliationReport['payout'];
  if (input.payout) {
    const members = input.balanceTransactions.filter((t) => !(t.type === 'payout' && t.sourceId === input.payout!.payoutId));
    const membersSumMinor = sum(members.map((t) => t.netMinor));
    payout = { payoutId: input.payout.payoutId, amountMinor: input.payout.amountMinor, membersSumMinor, status: input.payout.status, balances: membersSumMinor === input.payout.amountMinor };
    if (!payout.balances) {
      items.push({ kind: 'payout', class: 'amount_mismatch', currency: input.payout.currency, stripeId: input.payout.payoutId, stripeMinor: input.payout.amountMinor, explanation: `payout ${input.payout.payoutId} is ${fmt(input.payout.amountMinor, input.payout.currency)} but its balance transactions net ${fmt(membersSumMinor, input.payout.currency)}` });
      counts.amount_mismatch++;
    }
  }

  return { scope: input.scope, runAt: input.runAt, items, counts, totals, ...(payout ? { payout } : {}), explained: items.every((i) => EXPLAINED.has(i.class)) };
}

/** The report as a fixed-width table for a terminal. */
export function formatReport(report: ReconciliationReport): string {
  const scope = report.scope.payoutId ? `payout ${report.scope.payoutId}` : `day ${report.scope.date}`;
  const rows = report.items.map((i) => [i.class, i.kind, i.sessionId ?? '', i.stripeId ?? '', money(i.voltledgerMinor, i.currency), money(i.stripeMinor, i.currency), money(i.ledgerMinor, i.currency), i.explanation]);
  const header = ['class', 'kind', 'session', 'stripe', 'voltledger', 'stripe', 'ledger', 'explanation'];
  const widths = header.map((h, c) => Math.min(40, Math.max(h.length, ...rows.map((r) => r[c]!.length))));
  const fmtRow = (r: string[]) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.slice(0, widths[c]).padEnd(widths[c]!))).join('  ');
  const counts = Object.entries(report.counts).filter(([, n]) => n > 0).map(([c, n]) => `${c} ${n}`).join(', ');
  return [
    `Reconciliation of ${scope} (run ${report.runAt}): ${report.explained ? 'every difference explained' : 'UNEXPLAINED differences'}`,
    `  ${counts || 'nothing to reconcile'}`,
    ...(report.payout ? [`  payout ${report.payout.payoutId}: ${report.payout.amountMinor} (members net ${report.payout.membersSumMinor}) ${report.payout.balances ? 'balances' : 'DOES NOT BALANCE'}`] : []),
    '',
    fmtRow(header),
    fmtRow(widths.map((w) => '-'.repeat(w))),
    ...rows.map(fmtRow),
  ].join('\n');
}

const money = (minor: number | undefined, currency: string) => (minor === undefined ? '' : minorToDecimal(minor, currency));
