import type { z } from 'zod';
import type { EntryRefs, JournalEntry, JournalLine } from '../../../events/accounting-events.ts';
import { FleetStatementIssued, RoamingCdrAccepted } from '../../../events/billing-events.ts';
import type { EventContract, EventMetadata } from '../../../events/contract.ts';
import {
  DisputeClosed,
  DisputeOpened,
  InvoicePaid,
  PaymentCaptured,
  PaymentFailed,
  PaymentHoldReleased,
  PaymentRefunded,
  PayoutFailed,
  PayoutPaid,
  SessionPaymentSettled,
} from '../../../events/payment-events.ts';
import { SessionPriced } from '../../../events/pricing-events.ts';
import type { AccountKey } from './chart.ts';
import { assertBalanced, line, mergeLines, reversalOf } from './journal.ts';
import { decimalToMinor } from '../../shared/money.ts';
import { billingKindOf } from '../../../events/billing.ts';

/** The events the ledger books, by detail-type. */
export const LEDGER_CONTRACTS = {
  SessionPriced,
  SessionPaymentSettled,
  PaymentCaptured,
  PaymentHoldReleased,
  PaymentFailed,
  PaymentRefunded,
  DisputeOpened,
  DisputeClosed,
  PayoutPaid,
  PayoutFailed,
  InvoicePaid,
  FleetStatementIssued,
  RoamingCdrAccepted,
} as const;
type Contracts = typeof LEDGER_CONTRACTS;
export type LedgerDetailType = keyof Contracts;

/** One consumed domain event, parsed against its contract. */
export type LedgerEvent = {
  [K in LedgerDetailType]: { detailType: K; metadata: EventMetadata; data: z.infer<Contracts[K]['data']> };
}[LedgerDetailType];

/** Parses an EventBridge detail of a known type; throws (zod) on a contract violation. */
export function parseLedgerEvent(detailType: string, detail: unknown): LedgerEvent {
  const contract = (LEDGER_CONTRACTS as Record<string, EventContract>)[detailType];
  if (!contract) throw new RangeError(`the ledger does not book ${detailType}`);
  const { metadata, data } = contract.envelope.parse(detail);
  return { detailType, metadata, data } as LedgerEvent;
}

/** How a completed session's money ended: exactly one per session. */
export type ClosureKind = 'captured' | 'billed_to_fleet' | 'sent_to_roaming_partner' | 'free' | 'nothing_due' | 'written_off';

export interface Closure {
  sessionId: string;
  kind: ClosureKind;
  reason?: string;
  /** The event (or admin action) that closed it. */
  sourceId: string;
  at: string;
}

/** The closure of a session from all its closing events: the earliest (then by id) stands; kinds that differ conflict. */
export function summarizeClosures(all: Closure[]): (Closure & { all: Closure[]; conflict: boolean }) | undefined {
  if (all.length === 0) return undefined;
  const sorted = [...all].sort((a, b) => a.at.localeCompare(b.at) || a.sourceId.localeCompare(b.sourceId) || a.sessionId.localeCompare(b.sessionId));
  return { ...sorted[0]!, all: sorted, conflict: new Set(sorted.map((c) => c.kind)).size > 1 };
}

/** What one event does to the ledger. */
export interface PostingPlan {
  /** Business time of the event: the date of its entries and the day it belongs to. */
  date: string;
  entries: JournalEntry[];
  closures: Closure[];
  /** Ids the event can be found by (session, PaymentIntent, charge, refund, dispute, payout, balance transaction). */
  refs: string[];
  /** Why there is no entry, when there is none. */
  memo?: string;
}

/** Business time of an event: never the time it arrived, so a replay books the same day. */
export function businessDate(event: LedgerEvent): string {
  switch (event.detailType) {
    case 'SessionPriced': return event.data.completedAt;
    case 'SessionPaymentSettled': return event.data.settledAt;
    case 'PaymentCaptured': return event.data.capturedAt;
    case 'PaymentHoldReleased': return event.data.releasedAt;
    case 'PaymentFailed': return event.data.failedAt;
    case 'PaymentRefunded': return event.data.refundedAt;
    case 'DisputeOpened': return event.data.openedAt;
    case 'DisputeClosed': return event.data.closedAt;
    case 'PayoutPaid': return event.data.paidAt;
    case 'PayoutFailed': return event.data.failedAt;
    case 'InvoicePaid': return event.data.paidAt;
    case 'FleetStatementIssued': return event.data.issuedAt;
    case 'RoamingCdrAccepted': return event.data.acceptedAt;
  }
}

const ref = (kind: string, id: string | undefined) => (id ? [`${kind}:${id}`] : []);
const clean = (refs: EntryRefs): EntryRefs => Object.fromEntries(Object.entries(refs).filter(([, v]) => v !== undefined && v !== '')) as EntryRefs;

function entry(event: LedgerEvent, spec: { entryId?: string; kind: string; description: string; currency: string; refs: EntryRefs; lines: JournalLine[]; reverses?: string }): JournalEntry[] {
  const lines = mergeLines(spec.lines);
  if (lines.length === 0) return [];
  return [
    assertBalanced({
      entryId: spec.entryId ?? event.metadata.id,
      date: businessDate(event),
      currency: spec.currency.toUpperCase(),
      kind: spec.kind,
      description: spec.description,
      source: { eventId: event.metadata.id, detailType: event.detailType },
      refs: clean(spec.refs),
      ...(spec.reverses ? { reverses: spec.reverses } : {}),
      lines,
    }),
  ];
}

/** A Stripe fee booked on its own entry keyed by the balance transaction, whichever event (or reconciliation) reports it first. */
export function stripeFeeEntry(input: { balanceTransactionId: string; feeMinor: number; currency: string; date: string; sourceEventId: string; detailType: string; refs: EntryRefs }): JournalEntry[] {
  if (input.feeMinor === 0) return [];
  return [
    assertBalanced({
      entryId: `StripeFee:${input.balanceTransactionId}`,
      date: input.date,
      currency: input.currency.toUpperCase(),
      kind: 'stripe_fee',
      description: `Stripe fee on balance transaction ${input.balanceTransactionId}`,
      source: { eventId: input.sourceEventId, detailType: input.detailType },
      refs: clean({ ...input.refs, balanceTransactionId: input.balanceTransactionId }),
      lines: [...line('stripe_fees', 'debit', input.feeMinor), ...line('stripe_clearing', 'credit', input.feeMinor)],
    }),
  ];
}

/** A consumed event of one detail type, its data typed by that type's contract. */
export type LedgerEventOf<K extends LedgerDetailType> = Extract<LedgerEvent, { detailType: K }>;

/**
 * A posting rule: what one event of its detail type books. Pure and order-free: the plan depends
 * on the event alone (and `date`, its {@link businessDate}), so any arrival order, and any number
 * of replays, gives the same journal.
 */
export type PostingRule<K extends LedgerDetailType> = (event: LedgerEventOf<K>, date: string) => PostingPlan;

/** SessionPriced: revenue recognised once, against a receivable (or unbilled fleet / roaming); a free session is closed. */
const sessionPriced: PostingRule<'SessionPriced'> = (event, date) => {
  const d = event.data;
  const currency = d.currency.toUpperCase();
  const kind = billingKindOf(d.billingProfile);
  const minor = (v: string) => decimalToMinor(v, currency);
  const totalIncl = d.totalMinor;
  const totalExcl = minor(d.total_cost.excl_vat);
  const energy = minor(d.total_energy_cost.excl_vat);
  const time = minor(d.total_time_cost.excl_vat);
  const idle = minor(d.total_parking_cost.excl_vat);
  const fixed = minor(d.total_fixed_cost.excl_vat);
  // Pricing states a ROUNDING line when rounded components miss the rounded total; so does the ledger.
  const rounding = totalExcl - (energy + time + idle + fixed);
  const vat = totalIncl - totalExcl;
  const refs: EntryRefs = { sessionId: d.sessionId, siteId: d.siteId, chargePointId: d.chargePointId, billingModel: kind };
  const refIds = ref('session', d.sessionId);
  const description = `Session ${d.sessionId} at ${d.chargePointId} priced (${kind})`;
  let lines: JournalLine[];
  switch (kind) {
    case 'no-payer':
      // Nobody owes it: no receivable, no revenue; the session stays open for review (revenue assurance: no_payer).
      return { date, entries: [], refs: refIds, memo: `no payer: ${String(d.billingProfile?.reason ?? 'idTag not accepted')}; held for review`, closures: [] };
    case 'free':
      return { date, entries: [], refs: refIds, memo: 'free session: no revenue', closures: [{ sessionId: d.sessionId, kind: 'free', reason: String(d.billingProfile?.reason ?? 'free billing profile'), sourceId: event.metadata.id, at: date }] };
    case 'fleet': {
      // Fleet VAT arises on the monthly statement; the session accrues its net amount until then.
      const party = String(d.billingProfile?.accountId ?? 'unknown');
      lines = [...line('fleet_unbilled', 'debit', totalExcl, { party }), ...line('revenue_fleet', 'credit', totalExcl)];
      return { date, entries: entry(event, { kind: 'revenue', description, currency, refs: { ...refs, fleetAccountId: party }, lines }), closures: [], refs: refIds };
    }
    case 'roaming': {
      // The eMSP is invoiced through the CDR; VAT arises when the partner accepts it.
      const party = String(d.billingProfile?.partnerId ?? 'unknown');
      lines = [...line('roaming_unbilled', 'debit', totalExcl, { party }), ...line('revenue_roaming', 'credit', totalExcl)];
      return { date, entries: entry(event, { kind: 'revenue', description, currency, refs: { ...refs, partnerId: party }, lines }), closures: [], refs: refIds };
    }
    case 'member':
      lines = [
        ...line('driver_receivable', 'debit', totalIncl),
        ...line('revenue_membership', 'credit', energy + time + fixed),
        ...line('revenue_idle_fees', 'credit', idle),
        ...line('price_rounding', 'credit', rounding),
        ...line('vat_payable', 'credit', vat),
      ];
      break;
    default:
      lines = [
        ...line('driver_receivable', 'debit', totalIncl),
        ...line('revenue_retail_energy', 'credit', energy),
        ...line('revenue_retail_time', 'credit', time),
        ...line('revenue_idle_fees', 'credit', idle),
        ...line('revenue_session_fees', 'credit', fixed),
        ...line('price_rounding', 'credit', rounding),
        ...line('vat_payable', 'credit', vat),
      ];
  }
  const entries = entry(event, { kind: 'revenue', description, currency, refs, lines });
  return { date, entries, closures: [], refs: refIds, ...(entries.length ? {} : { memo: 'nothing due' }) };
};

/** SessionPaymentSettled: books only the waived remainder; closes the session (and those carried into it) unless money is still owed. */
const sessionPaymentSettled: PostingRule<'SessionPaymentSettled'> = (event, date) => {
  const d = event.data;
  const refs: EntryRefs = { sessionId: d.sessionId, siteId: d.siteId, chargePointId: d.chargePointId, paymentIntentId: d.holdPaymentIntentId };
  // Captures, top-ups and off-session charges are booked from Stripe's PaymentCaptured; the
  // settlement books only what no money event reports: the waived remainder.
  const entries = entry(event, {
    kind: 'write_off',
    description: `Session ${d.sessionId}: ${d.waivedMinor} ${d.currency} below the currency minimum waived`,
    currency: d.currency,
    refs,
    lines: [...line('small_amount_write_offs', 'debit', d.waivedMinor), ...line('driver_receivable', 'credit', d.waivedMinor)],
  });
  const closed: Partial<Record<typeof d.outcome, { kind: ClosureKind; reason?: string }>> = {
    captured: { kind: 'captured' },
    captured_with_top_up: { kind: 'captured' },
    charged_off_session: { kind: 'captured' },
    waived: d.waivedMinor > 0 ? { kind: 'written_off', reason: 'below the currency minimum (waived)' } : { kind: 'nothing_due' },
    nothing_due: { kind: 'nothing_due' },
  };
  const closure = closed[d.outcome];
  // carried_forward and collection_failed stay open: the money is still owed (revenue assurance lists them).
  const closures: Closure[] = closure
    ? [d.sessionId, ...d.carriedInSessionIds].map((sessionId) => ({
        sessionId,
        ...closure,
        ...(sessionId !== d.sessionId ? { reason: `carried into session ${d.sessionId}${closure.reason ? `; ${closure.reason}` : ''}` } : {}),
        sourceId: event.metadata.id,
        at: date,
      }))
    : [];
  return {
    date,
    entries,
    closures,
    refs: [...ref('session', d.sessionId), ...ref('pi', d.holdPaymentIntentId), ...ref('pi', d.chargePaymentIntentId)],
    ...(entries.length ? {} : { memo: `settled: ${d.outcome}` }),
  };
};

/** PaymentCaptured: receivable (or unallocated receipts) into Stripe clearing, and its fee on its own entry. */
const paymentCaptured: PostingRule<'PaymentCaptured'> = (event, date) => {
  const d = event.data;
  const refs: EntryRefs = { sessionId: d.sessionId, paymentIntentId: d.paymentIntentId, chargeId: d.chargeId, balanceTransactionId: d.balanceTransactionId };
  // A payment VoltLedger did not make (no session) waits in unallocated receipts for a person.
  const against: AccountKey = d.sessionId ? 'driver_receivable' : 'unallocated_receipts';
  const entries = [
    ...entry(event, {
      kind: 'capture',
      description: `Card payment ${d.chargeId} captured (${d.purpose ?? 'payment'})${d.sessionId ? ` for session ${d.sessionId}` : ''}${d.releasedMinor ? `; ${d.releasedMinor} of ${d.authorizedMinor} released` : ''}`,
      currency: d.currency,
      refs,
      lines: [...line('stripe_clearing', 'debit', d.capturedMinor), ...line(against, 'credit', d.capturedMinor)],
    }),
    ...(d.feeMinor !== undefined
      ? stripeFeeEntry({ balanceTransactionId: d.balanceTransactionId ?? `charge:${d.chargeId}`, feeMinor: d.feeMinor, currency: d.currency, date, sourceEventId: event.metadata.id, detailType: event.detailType, refs })
      : []),
  ];
  return { date, entries, closures: [], refs: [...ref('session', d.sessionId), ...ref('pi', d.paymentIntentId), ...ref('charge', d.chargeId), ...ref('txn', d.balanceTransactionId)] };
};

// An authorization is not a financial transaction: nothing moved, so nothing is booked (fact only).

/** PaymentHoldReleased: no entry. */
const paymentHoldReleased: PostingRule<'PaymentHoldReleased'> = (event, date) => {
  const d = event.data;
  return { date, entries: [], closures: [], refs: [...ref('session', d.sessionId), ...ref('pi', d.paymentIntentId), ...ref('charge', d.chargeId)], memo: `hold of ${d.amountMinor} ${d.currency} released (${'reason' in d ? d.reason : ''}); no money moved` };
};

/** PaymentFailed: no entry. */
const paymentFailed: PostingRule<'PaymentFailed'> = (event, date) => {
  const d = event.data;
  return { date, entries: [], closures: [], refs: [...ref('session', d.sessionId), ...ref('pi', d.paymentIntentId), ...ref('charge', d.chargeId)], memo: `payment failed: ${d.amountMinor} ${d.currency}` };
};

/** PaymentRefunded: refunds (gross, contra revenue) out of clearing; a failed refund reverses it. */
const paymentRefunded: PostingRule<'PaymentRefunded'> = (event, date) => {
  const d = event.data;
  const refs: EntryRefs = { sessionId: d.sessionId, paymentIntentId: d.paymentIntentId, chargeId: d.chargeId, refundId: d.refundId, balanceTransactionId: d.balanceTransactionId };
  const succeeded = d.status === 'succeeded';
  const entries = [
    ...entry(event, {
      kind: succeeded ? 'refund' : 'refund_failed',
      description: succeeded ? `Refund ${d.refundId} of charge ${d.chargeId}` : `Refund ${d.refundId} failed; money returned to the Stripe balance`,
      currency: d.currency,
      refs,
      ...(succeeded ? {} : { reverses: `PaymentRefunded:${d.refundId}:succeeded` }),
      lines: succeeded
        ? [...line('refunds', 'debit', d.amountMinor), ...line('stripe_clearing', 'credit', d.amountMinor)]
        : [...line('stripe_clearing', 'debit', d.amountMinor), ...line('refunds', 'credit', d.amountMinor)],
    }),
    ...(d.feeMinor && d.balanceTransactionId
      ? stripeFeeEntry({ balanceTransactionId: d.balanceTransactionId, feeMinor: d.feeMinor, currency: d.currency, date, sourceEventId: event.metadata.id, detailType: event.detailType, refs })
      : []),
  ];
  return { date, entries, closures: [], refs: [...ref('session', d.sessionId), ...ref('pi', d.paymentIntentId), ...ref('charge', d.chargeId), ...ref('refund', d.refundId), ...ref('txn', d.balanceTransactionId)] };
};

/** DisputeOpened: amount withheld into disputed funds, fee expensed, both out of clearing. */
const disputeOpened: PostingRule<'DisputeOpened'> = (event, date) => {
  const d = event.data;
  const refs: EntryRefs = { sessionId: d.sessionId, paymentIntentId: d.paymentIntentId, chargeId: d.chargeId, disputeId: d.disputeId, balanceTransactionId: d.balanceTransactionIds[0] };
  const entries = entry(event, {
    kind: 'dispute_opened',
    description: `Dispute ${d.disputeId} on charge ${d.chargeId} opened (${d.reason}); amount and fee withdrawn`,
    currency: d.currency,
    refs,
    lines: [
      ...line('disputed_funds', 'debit', d.amountMinor),
      ...line('dispute_fees', 'debit', d.feeMinor),
      ...line('stripe_clearing', 'credit', d.amountMinor + d.feeMinor),
    ],
  });
  return { date, entries, closures: [], refs: [...ref('session', d.sessionId), ...ref('charge', d.chargeId), ...ref('dispute', d.disputeId), ...d.balanceTransactionIds.flatMap((id) => ref('txn', id))] };
};

/** DisputeClosed: disputed funds cleared, back to clearing (reinstated) or to dispute losses. */
const disputeClosed: PostingRule<'DisputeClosed'> = (event, date) => {
  const d = event.data;
  const refs: EntryRefs = { sessionId: d.sessionId, paymentIntentId: d.paymentIntentId, chargeId: d.chargeId, disputeId: d.disputeId };
  // Won: the amount comes back to the balance. Lost: it is a loss. Either way the withheld funds are cleared.
  const entries = entry(event, {
    kind: 'dispute_closed',
    description: `Dispute ${d.disputeId} closed: ${d.status}`,
    currency: d.currency,
    refs,
    lines: [
      ...line('stripe_clearing', 'debit', d.reinstatedMinor),
      ...line('dispute_losses', 'debit', d.amountMinor - d.reinstatedMinor),
      ...line('disputed_funds', 'credit', d.amountMinor),
    ],
  });
  return { date, entries, closures: [], refs: [...ref('session', d.sessionId), ...ref('charge', d.chargeId), ...ref('dispute', d.disputeId), ...d.balanceTransactionIds.flatMap((id) => ref('txn', id))] };
};

/** PayoutPaid: clearing to the bank. */
const payoutPaid: PostingRule<'PayoutPaid'> = (event, date) => {
  const d = event.data;
  const entries = entry(event, {
    kind: 'payout',
    description: `Stripe payout ${d.payoutId} reached the bank`,
    currency: d.currency,
    refs: { payoutId: d.payoutId, balanceTransactionId: d.balanceTransactionId },
    lines: [...line('bank', 'debit', d.amountMinor), ...line('stripe_clearing', 'credit', d.amountMinor)],
  });
  return { date, entries, closures: [], refs: [...ref('payout', d.payoutId), ...ref('txn', d.balanceTransactionId)] };
};

/** PayoutFailed: no entry of its own. */
const payoutFailed: PostingRule<'PayoutFailed'> = (event, date) => {
  const d = event.data;
  // Booked only as the reversal of a paid payout (payoutFailureReversal): a payout that never
  // reached the bank never left clearing in the ledger.
  return { date, entries: [], closures: [], refs: ref('payout', d.payoutId), memo: `payout ${d.payoutId} failed${d.failureCode ? ` (${d.failureCode})` : ''}` };
};

/** InvoicePaid: unallocated receipts reclassified to membership fees and VAT, or against the fleet receivable; other invoices book nothing. */
const invoicePaid: PostingRule<'InvoicePaid'> = (event, date) => {
  const d = event.data;
  // The invoice's money came in through a PaymentIntent with no session, which PaymentCaptured
  // put in unallocated receipts; this entry takes it out again to what the invoice was for. The
  // two entries are independent, so either event can arrive first.
  const refIds = [...ref('invoice', d.invoiceId), ...ref('statement', d.statementId)];
  if (d.kind === 'other') {
    return { date, entries: [], closures: [], refs: refIds, memo: `invoice ${d.invoiceId} paid (${d.amountPaidMinor} ${d.currency}); not a membership or fleet statement invoice: stays in unallocated receipts` };
  }
  const membership = d.kind === 'membership';
  const party = d.accountId ?? 'unknown';
  const entries = entry(event, {
    kind: membership ? 'membership_invoice_paid' : 'fleet_invoice_paid',
    description: membership
      ? `Membership invoice ${d.invoiceId}${d.subscriptionId ? ` (subscription ${d.subscriptionId})` : ''} paid by ${d.customerId}`
      : `Fleet statement ${d.statementId} invoice ${d.invoiceId} paid by ${party}`,
    currency: d.currency,
    refs: membership
      ? { invoiceId: d.invoiceId, billingModel: 'member' }
      : { invoiceId: d.invoiceId, statementId: d.statementId, fleetAccountId: party, billingModel: 'fleet' },
    lines: membership
      ? [
          ...line('unallocated_receipts', 'debit', d.amountPaidMinor),
          ...line('revenue_membership_fees', 'credit', d.amountPaidMinor - d.taxMinor),
          ...line('vat_payable', 'credit', d.taxMinor),
        ]
      : [...line('unallocated_receipts', 'debit', d.amountPaidMinor), ...line('fleet_receivable', 'credit', d.amountPaidMinor, { party })],
  });
  return { date, entries, closures: [], refs: refIds, ...(entries.length ? {} : { memo: `invoice ${d.invoiceId} paid: nothing to reclassify` }) };
};

/** FleetStatementIssued: the fleet receivable against unbilled sessions, plan fees and VAT; closes every listed session. */
const fleetStatementIssued: PostingRule<'FleetStatementIssued'> = (event, date) => {
  const d = event.data;
  const party = d.accountId;
  const entries = entry(event, {
    kind: 'fleet_statement',
    description: `Fleet statement ${d.statementId} for ${d.accountId}, ${d.period} (${d.sessionIds.length} sessions)`,
    currency: d.currency,
    refs: { statementId: d.statementId, fleetAccountId: d.accountId, billingModel: 'fleet' },
    lines: [
      ...line('fleet_receivable', 'debit', d.totalMinor, { party }),
      ...line('fleet_unbilled', 'credit', d.sessionsExclVatMinor, { party }),
      ...line('revenue_fleet_plan', 'credit', d.fixedFeeMinor + d.overageMinor),
      ...line('vat_payable', 'credit', d.taxMinor),
    ],
  });
  const closures = d.sessionIds.map((sessionId) => ({ sessionId, kind: 'billed_to_fleet' as const, reason: `statement ${d.statementId}`, sourceId: event.metadata.id, at: date }));
  return { date, entries, closures, refs: [...ref('statement', d.statementId), ...d.sessionIds.flatMap((id) => ref('session', id))] };
};

/** RoamingCdrAccepted: the eMSP's receivable against unbilled roaming and VAT (a credit CDR the reverse); closes the session. */
const roamingCdrAccepted: PostingRule<'RoamingCdrAccepted'> = (event, date) => {
  const d = event.data;
  const party = d.partnerId;
  const forward: JournalLine[] = [
    ...line('roaming_receivable', 'debit', d.inclVatMinor, { party }),
    ...line('roaming_unbilled', 'credit', d.exclVatMinor, { party }),
    ...line('vat_payable', 'credit', d.vatMinor),
  ];
  const entries = entry(event, {
    kind: d.credit ? 'roaming_credit_cdr' : 'roaming_cdr',
    description: `${d.credit ? 'Credit CDR' : 'CDR'} ${d.cdrId} accepted by ${d.partnerId} for session ${d.sessionId}`,
    currency: d.currency,
    refs: { sessionId: d.sessionId, cdrId: d.cdrId, partnerId: d.partnerId, billingModel: 'roaming' },
    ...(d.credit && d.creditsCdrId ? { reverses: `RoamingCdrAccepted:${d.creditsCdrId}` } : {}),
    lines: d.credit ? forward.map((l) => ({ ...l, side: l.side === 'debit' ? 'credit' : 'debit' })) : forward,
  });
  const closures: Closure[] = d.credit ? [] : [{ sessionId: d.sessionId, kind: 'sent_to_roaming_partner', reason: `CDR ${d.cdrId} to ${d.partnerId}`, sourceId: event.metadata.id, at: date }];
  return { date, entries, closures, refs: [...ref('session', d.sessionId), ...ref('cdr', d.cdrId)] };
};

/**
 * The posting rules, one per event the ledger books, keyed by detail type: the table in
 * docs/accounting.md ("Posting rules"). The ledger consumer's subscription (BookMoneyEventsInLedger
 * in events/routing.ts), this map and that table name the same event types (a unit test checks it).
 */
export const POSTING_RULES: { readonly [K in LedgerDetailType]: PostingRule<K> } = {
  SessionPriced: sessionPriced,
  SessionPaymentSettled: sessionPaymentSettled,
  PaymentCaptured: paymentCaptured,
  PaymentHoldReleased: paymentHoldReleased,
  PaymentFailed: paymentFailed,
  PaymentRefunded: paymentRefunded,
  DisputeOpened: disputeOpened,
  DisputeClosed: disputeClosed,
  PayoutPaid: payoutPaid,
  PayoutFailed: payoutFailed,
  InvoicePaid: invoicePaid,
  FleetStatementIssued: fleetStatementIssued,
  RoamingCdrAccepted: roamingCdrAccepted,
};

/**
 * What one event books: its type's rule from {@link POSTING_RULES}. An entry depends on its event
 * alone; the one pair that needs both events, a payout that was paid and then failed, is settled
 * by {@link payoutFailureReversal}. A type without a rule is refused as {@link parseLedgerEvent}
 * refuses it.
 */
export function planPostings(event: LedgerEvent): PostingPlan {
  if (!Object.hasOwn(POSTING_RULES, event.detailType)) throw new RangeError(`the ledger does not book ${event.detailType}`);
  // The map is keyed by detail type, so the rule found is the one for this event's type.
  const rule = POSTING_RULES[event.detailType] as PostingRule<LedgerDetailType>;
  return rule(event, businessDate(event));
}

/** The reversal of a paid payout once its failure is known; id `PayoutFailed:<payoutId>`. */
export function payoutFailureReversal(paid: JournalEntry, failed: { eventId: string; failedAt: string; payoutId: string; failureCode?: string }): JournalEntry {
  return assertBalanced(
    reversalOf(paid, {
      entryId: `PayoutFailed:${failed.payoutId}`,
      date: failed.failedAt,
      kind: 'payout_failed',
      description: `Stripe payout ${failed.payoutId} failed${failed.failureCode ? ` (${failed.failureCode})` : ''}; money back in the Stripe balance`,
      source: { eventId: failed.eventId, detailType: 'PayoutFailed' },
    }),
  );
}

/** An operator's write-off of what a session still owes (revenue assurance), id `WriteOff:<sessionId>`. */
export function writeOffEntry(input: { sessionId: string; amountMinor: number; currency: string; reason: string; at: string; smallAmount?: boolean }): JournalEntry[] {
  if (input.amountMinor === 0) return [];
  return [
    assertBalanced({
      entryId: `WriteOff:${input.sessionId}`,
      date: input.at,
      currency: input.currency.toUpperCase(),
      kind: 'write_off',
      description: `Session ${input.sessionId} written off: ${input.reason}`,
      source: { eventId: `WriteOff:${input.sessionId}`, detailType: 'AdminWriteOff' },
      refs: { sessionId: input.sessionId },
      lines: [...line(input.smallAmount ? 'small_amount_write_offs' : 'bad_debts', 'debit', input.amountMinor), ...line('driver_receivable', 'credit', input.amountMinor)],
    }),
  ];
}
