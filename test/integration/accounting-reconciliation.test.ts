import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, type EventContract, type EventData } from '../../events/contract.ts';
import { DisputeClosed, DisputeOpened, PaymentCaptured, PaymentRefunded, PayoutPaid, SessionPaymentSettled } from '../../events/payment-events.ts';
import { buildAccountingDeps, type AccountingDeps } from '../../functions/accounting/deps.ts';
import { parseLedgerEvent } from '../../functions/accounting/domain/posting-rules.ts';
import { DIFFERENCE_CLASSES, formatReport, type ReconciliationReport } from '../../functions/accounting/domain/reconciliation.ts';
import { runningClock } from '../../functions/shared/clock.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { startStripeEmulator, stripeClientFor, type StripeEmulator } from '../../lib/local/stripe/index.ts';
import { startLocalTables, type LocalTables } from './dynamodb/local-tables.ts';
import { aSessionPriced } from '../unit/accounting/builders.ts';

// The payments code publishes these events from Stripe's webhooks; here the test publishes what
// it would, from the objects the Stripe emulator holds, and books them into a DynamoDB ledger.

let emulator: StripeEmulator;
let stripe: Stripe;
let local: LocalTables;
let accounting: AccountingDeps;
const iso = (unix: number) => new Date(unix * 1000).toISOString();

async function book<C extends EventContract>(contract: C, data: EventData<C>, id: string, at: string) {
  const { detail } = buildEvent(contract, data, { id, occurredAt: new Date(at) });
  await accounting.ledger.book(parseLedgerEvent(contract.detailType, detail));
}

const sessionRef = (sessionId: string) => ({ sessionId, transactionId: 7, chargePointId: 'CP-001', connectorId: 1, idTag: 'DEMO-RETAIL', siteId: 'berlin-mitte' });

/** A card session end to end at Stripe: hold, capture (maybe partial), and what payments would publish. */
async function cardSession(sessionId: string, opts: { holdMinor: number; captureMinor: number; book?: 'all' | 'none' | { capturedMinor: number } }) {
  const hold = await stripe.paymentIntents.create({
    amount: opts.holdMinor,
    currency: 'eur',
    payment_method: 'pm_card_visa',
    confirm: true,
    capture_method: 'manual',
    metadata: { sessionId, purpose: 'hold' },
  });
  const captured = await stripe.paymentIntents.capture(hold.id, { amount_to_capture: opts.captureMinor }, { idempotencyKey: `capture-${sessionId}` });
  const charge = await stripe.charges.retrieve(captured.latest_charge as string, { expand: ['balance_transaction'] });
  const txn = charge.balance_transaction as Stripe.BalanceTransaction;
  const mode = opts.book ?? 'all';
  if (mode === 'none') return { charge, txn };
  const bookedCapture = typeof mode === 'object' ? mode.capturedMinor : opts.captureMinor;
  await book(
    PaymentCaptured,
    {
      sessionId,
      purpose: 'hold',
      paymentIntentId: hold.id,
      chargeId: charge.id,
      currency: 'EUR',
      authorizedMinor: charge.amount,
      capturedMinor: bookedCapture,
      releasedMinor: charge.amount - bookedCapture,
      balanceTransactionId: txn.id,
      feeMinor: txn.fee,
      netMinor: txn.net,
      availableOn: iso(txn.available_on),
      capturedAt: iso(txn.created),
    },
    `PaymentCaptured:${charge.id}`,
    iso(txn.created),
  );
  const priced = aSessionPriced({ sessionId, energyMinor: Math.round(opts.captureMinor / 1.19), vatPercent: 19, completedAt: iso(txn.created) });
  await accounting.ledger.book(priced.event);
  await book(
    SessionPaymentSettled,
    {
      ...sessionRef(sessionId),
      channel: 'app',
      outcome: 'captured',
      currency: 'EUR',
      sessionTotalMinor: opts.captureMinor,
      carriedInMinor: 0,
      carriedInSessionIds: [],
      dueMinor: opts.captureMinor,
      holdMinor: opts.holdMinor,
      capturedMinor: opts.captureMinor,
      topUpMinor: 0,
      waivedMinor: 0,
      carriedOutMinor: 0,
      outstandingMinor: 0,
      holdPaymentIntentId: hold.id,
      settledAt: iso(txn.created),
    },
    `SessionPaymentSettled:${sessionId}`,
    iso(txn.created),
  );
  return { charge, txn };
}

describe('reconciliation against the Stripe emulator', () => {
  let day: string;
  let dayReport: ReconciliationReport;
  let payoutReport: ReconciliationReport;
  let payoutId: string;

  beforeAll(async () => {
    // Stripe and the ledger on one running clock, mid-day on a fixed date: the day reconciled is the
    // day everything happened, even when the wall clock crosses midnight during the run.
    const clock = runningClock('2026-11-23T10:00:00Z');
    emulator = await startStripeEmulator({ host: '127.0.0.1', port: 0, webhookSecret: 'whsec_test_reconciliation', clock });
    stripe = stripeClientFor(emulator);
    local = await startLocalTables('recon');
    accounting = buildAccountingDeps({
      dynamo: local.client,
      ledgerTable: local.tables.Ledger,
      sessionsTable: local.tables.Sessions,
      events: { publish: async () => {} },
      stripe,
      clock,
      log: silentLog,
    });
    day = iso(emulator.control.now()).slice(0, 10);

    await cardSession('sess-full', { holdMinor: 5000, captureMinor: 5000 });
    await cardSession('sess-partial', { holdMinor: 5000, captureMinor: 1234 });
    const refunded = await cardSession('sess-refunded', { holdMinor: 5000, captureMinor: 4000 });
    const lost = await cardSession('sess-dispute-lost', { holdMinor: 3000, captureMinor: 3000 });
    const won = await cardSession('sess-dispute-won', { holdMinor: 3000, captureMinor: 2500 });
    await cardSession('sess-unbooked', { holdMinor: 2000, captureMinor: 2000, book: 'none' });
    await cardSession('sess-mismatch', { holdMinor: 2000, captureMinor: 1500, book: { capturedMinor: 1400 } });
    // The ledger heard of a capture Stripe never made (a webhook replayed from another account, say).
    await book(
      PaymentCaptured,
      { sessionId: 'sess-ghost', purpose: 'hold', paymentIntentId: 'pi_ghost', chargeId: 'ch_ghost', currency: 'EUR', authorizedMinor: 900, capturedMinor: 900, releasedMinor: 0, capturedAt: iso(emulator.control.now()) },
      'PaymentCaptured:ch_ghost',
      iso(emulator.control.now()),
    );

    const refund = await stripe.refunds.create({ charge: refunded.charge.id, amount: 1000 }, { expand: ['balance_transaction'] } as never);
    await book(
      PaymentRefunded,
      { sessionId: 'sess-refunded', refundId: refund.id, chargeId: refunded.charge.id, currency: 'EUR', amountMinor: 1000, status: 'succeeded', refundedAt: iso(refund.created) },
      `PaymentRefunded:${refund.id}:succeeded`,
      iso(refund.created),
    );

    for (const [c, outcome, sessionId] of [[lost, 'lost', 'sess-dispute-lost'], [won, 'won', 'sess-dispute-won']] as const) {
      const dispute = emulator.control.openDispute(c.charge.id);
      const opened = await stripe.disputes.retrieve(dispute.id);
      const openTxns = opened.balance_transactions;
      await book(
        DisputeOpened,
        { sessionId, disputeId: opened.id, chargeId: c.charge.id, currency: 'EUR', amountMinor: opened.amount, feeMinor: openTxns[0]!.fee, reason: opened.reason, balanceTransactionIds: openTxns.map((t) => t.id), openedAt: iso(opened.created) },
        `DisputeOpened:${opened.id}`,
        iso(opened.created),
      );
      emulator.control.closeDispute(opened.id, outcome);
      const closed = await stripe.disputes.retrieve(opened.id);
      await book(
        DisputeClosed,
        {
          sessionId,
          disputeId: closed.id,
          chargeId: c.charge.id,
          currency: 'EUR',
          amountMinor: closed.amount,
          feeMinor: openTxns[0]!.fee,
          status: outcome,
          reinstatedMinor: outcome === 'won' ? closed.amount : 0,
          balanceTransactionIds: closed.balance_transactions.map((t) => t.id),
          closedAt: iso(emulator.control.now()),
        },
        `DisputeClosed:${closed.id}`,
        iso(emulator.control.now()),
      );
    }

    dayReport = await accounting.reconciler!.reconcileDay(day);

    emulator.control.advanceTime(3 * 86_400);
    const [payout] = emulator.control.payout({ currency: 'eur' });
    payoutId = payout!.id;
    const paid = await stripe.payouts.retrieve(payoutId);
    await book(PayoutPaid, { payoutId, currency: 'EUR', amountMinor: paid.amount, arrivalDate: iso(paid.arrival_date), balanceTransactionId: paid.balance_transaction as string, paidAt: iso(emulator.control.now()) }, `PayoutPaid:${payoutId}`, iso(emulator.control.now()));
    payoutReport = await accounting.reconciler!.reconcilePayout(payoutId);
  }, 60_000);

  afterAll(async () => {
    await emulator?.close();
    await local?.close();
  });

  const item = (report: ReconciliationReport, pred: (i: ReconciliationReport['items'][number]) => boolean) => report.items.filter(pred);

  describe('a day', () => {
    it('classifies every difference into one of the nine classes', () => {
      expect(dayReport.items.length).toBeGreaterThan(0);
      for (const i of dayReport.items) expect(DIFFERENCE_CLASSES).toContain(i.class);
      expect(Object.values(dayReport.counts).reduce((a, b) => a + b, 0)).toBe(dayReport.items.length);
    });

    it('charges match the ledger and wait for settlement (available_on is two days out); fees are explained', () => {
      const full = item(dayReport, (i) => i.kind === 'charge' && i.sessionId === 'sess-full')[0]!;
      expect(full).toMatchObject({ class: 'pending_settlement', stripeMinor: 5000, ledgerMinor: 5000 });
      const partial = item(dayReport, (i) => i.kind === 'charge' && i.sessionId === 'sess-partial')[0]!;
      expect(partial.class).toBe('pending_settlement');
      expect(partial.explanation).toContain('partial capture: 12.34 EUR of 50.00 EUR, 37.66 EUR released');
      const fees = item(dayReport, (i) => i.kind === 'fee' && i.sessionId !== 'sess-unbooked');
      expect(fees.length).toBe(6);
      for (const fee of fees) expect(fee).toMatchObject({ class: 'fee', stripeMinor: fee.ledgerMinor });
    });

    it('explains refunds and disputes, and names what is missing on either side or does not agree', () => {
      expect(item(dayReport, (i) => i.kind === 'refund')).toEqual([expect.objectContaining({ class: 'refund', stripeMinor: 1000, ledgerMinor: 1000, sessionId: 'sess-refunded' })]);
      const disputes = item(dayReport, (i) => i.kind === 'dispute');
      expect(disputes.map((d) => d.class)).toEqual(['dispute', 'dispute', 'dispute']);
      expect(item(dayReport, (i) => i.class === 'missing_in_ledger').map((i) => `${i.kind}:${i.sessionId}`).sort()).toEqual(['charge:sess-unbooked', 'fee:sess-unbooked']);
      expect(item(dayReport, (i) => i.class === 'missing_in_stripe')).toEqual([expect.objectContaining({ kind: 'charge', stripeId: 'ch_ghost', ledgerMinor: 900 })]);
      expect(item(dayReport, (i) => i.class === 'amount_mismatch').map((i) => `${i.kind}:${i.sessionId}`).sort()).toEqual(['charge:sess-mismatch', 'session:sess-mismatch']);
      expect(dayReport.explained).toBe(false);
    });

    it('matches each settled session: what VoltLedger collected = what Stripe captured = what the ledger booked', () => {
      for (const sessionId of ['sess-full', 'sess-partial', 'sess-refunded', 'sess-dispute-lost', 'sess-dispute-won']) {
        expect(item(dayReport, (i) => i.kind === 'session' && i.sessionId === sessionId)[0]).toMatchObject({ class: 'matched' });
      }
    });

    it('prints a readable table and keeps the report', async () => {
      const table = formatReport(dayReport);
      expect(table).toContain(`Reconciliation of day ${day}`);
      expect(table).toContain('missing_in_stripe');
      const stored = await accounting.reconciler!.reports({ date: day });
      expect(stored[0]!.report.counts).toEqual(dayReport.counts);
    });
  });

  describe('a payout', () => {
    it('lists its balance transactions (via ?payout=), which net to the payout, and matches the payout to the bank entry', () => {
      expect(payoutReport.payout).toMatchObject({ payoutId, balances: true, status: 'paid' });
      expect(item(payoutReport, (i) => i.kind === 'payout')).toEqual([expect.objectContaining({ class: 'matched', stripeId: payoutId })]);
      // Charges are available now: matched, no longer pending.
      expect(item(payoutReport, (i) => i.kind === 'charge' && i.sessionId === 'sess-full')[0]!.class).toBe('matched');
      for (const i of payoutReport.items) expect(DIFFERENCE_CLASSES).toContain(i.class);
      const unexplained = payoutReport.items.filter((i) => !['matched', 'pending_settlement', 'fee', 'refund', 'dispute'].includes(i.class));
      expect(unexplained.map((i) => `${i.class}:${i.kind}:${i.sessionId}`).sort()).toEqual([
        'amount_mismatch:charge:sess-mismatch',
        'amount_mismatch:session:sess-mismatch',
        'missing_in_ledger:charge:sess-unbooked',
        'missing_in_ledger:fee:sess-unbooked',
      ]);
    });
  });
});
