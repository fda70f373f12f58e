import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingEvent } from '../../events/contract.ts';
import { createStripeWebhook } from '../../functions/entitlements/stripe-webhook.ts';
import type { EventPort } from '../../functions/ocpp/domain/ports.ts';
import { moneyEventHandlers } from '../../functions/payments/stripe-money-events.ts';
import { systemClock } from '../../functions/shared/clock.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { startStripeEmulator, stripeClientFor, type StripeEmulator } from '../../lib/local/stripe/index.ts';

const SECRET = 'whsec_test_money_events';
const DAY = 86_400;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
/** The emulator's fee model: round_half_up(1.5 %) + 25 minor units. */
const stripeFee = (amount: number) => Math.floor((amount * 150 + 5_000) / 10_000) + 25;

interface Published {
  type: string;
  id: string;
  occurredAt: string;
  correlationId: string;
  data: Record<string, unknown>;
}

/** An EventPort that keeps every publication, duplicates included. */
class RecordingEventPort implements EventPort {
  readonly published: Published[] = [];
  async publish(events: OutgoingEvent[]): Promise<void> {
    for (const { contract, detail } of events) {
      contract.envelope.parse(detail);
      this.published.push({ type: contract.detailType, id: detail.metadata.id, occurredAt: detail.metadata.occurredAt, correlationId: detail.metadata.correlationId, data: detail.data as Record<string, unknown> });
    }
  }
  /** One publication per id, after checking that every copy of an id is identical. */
  distinct(type?: string): Published[] {
    const byId = new Map<string, Published>();
    for (const event of this.published) {
      const first = byId.get(event.id);
      if (first) expect(event, `every publication of ${event.id} is the same event`).toEqual(first);
      else byId.set(event.id, event);
    }
    return [...byId.values()].filter((e) => !type || e.type === type);
  }
}

/** The emulator delivering signed webhooks to createStripeWebhook with the money handlers, over HTTP. */
interface Harness {
  emulator: StripeEmulator;
  stripe: Stripe;
  port: RecordingEventPort;
  /** Waits for every webhook (and retry) to be answered. */
  settle(): Promise<void>;
  statuses(): number[];
  close(): Promise<void>;
}

async function startHarness(): Promise<Harness> {
  const emulator = await startStripeEmulator({ webhookSecret: SECRET, webhookRetry: { baseDelayMs: 20, maxAttempts: 5 } });
  const stripe = stripeClientFor(emulator);
  const port = new RecordingEventPort();
  const processed = new Set<string>();
  const webhook = createStripeWebhook({
    secret: SECRET,
    handlers: moneyEventHandlers({ stripe, events: port, clock: systemClock, log: silentLog }),
    store: { webhookProcessed: async (id) => processed.has(id), recordWebhook: async (id) => void processed.add(id) },
    clock: systemClock,
    log: silentLog,
  });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
      void webhook({ rawPath: req.url ?? '/', headers, body: Buffer.concat(chunks).toString('utf8'), isBase64Encoded: false, requestContext: { http: { method: req.method ?? 'GET' } } }).then((result) =>
        res.writeHead(result.statusCode, result.headers).end(result.body),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  emulator.addWebhookEndpoint(`http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`);
  return {
    emulator,
    stripe,
    port,
    settle: () => emulator.control.drainWebhooks(),
    statuses: () => emulator.control.deliveries().map((d) => d.status ?? 0),
    async close() {
      await emulator.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const metadata = (purpose: 'hold' | 'top_up' | 'off_session_charge', sessionId = 'sess_42') => ({ sessionId, purpose, transactionId: '42', chargePointId: 'CP-001' });

describe('Stripe money webhooks to payment events (emulator, signed webhooks)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  async function aHold(amount = 5000, sessionId = 'sess_42') {
    return h.stripe.paymentIntents.create({ amount, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, capture_method: 'manual', metadata: metadata('hold', sessionId) });
  }
  async function aTopUp(amount: number) {
    return h.stripe.paymentIntents.create({ amount, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, off_session: true, metadata: metadata('top_up') });
  }
  const chargeOf = (intent: Stripe.PaymentIntent) => h.stripe.charges.retrieve(intent.latest_charge as string, { expand: ['balance_transaction'] });

  describe('captures', () => {
    it('a hold captured partially gives one PaymentCaptured with the released amount and the emulator’s fee and net', async () => {
      const hold = await aHold(5000);
      await h.stripe.paymentIntents.capture(hold.id, { amount_to_capture: 3000 });
      await h.settle();

      const charge = await chargeOf(hold);
      const txn = charge.balance_transaction as Stripe.BalanceTransaction;
      const captured = h.port.distinct('PaymentCaptured');
      expect(captured).toEqual([
        {
          type: 'PaymentCaptured',
          id: `PaymentCaptured:${charge.id}`,
          occurredAt: iso(txn.created),
          correlationId: 'sess_42',
          data: {
            sessionId: 'sess_42',
            purpose: 'hold',
            paymentIntentId: hold.id,
            chargeId: charge.id,
            currency: 'EUR',
            authorizedMinor: 5000,
            capturedMinor: 3000,
            releasedMinor: 2000,
            balanceTransactionId: txn.id,
            feeMinor: 70,
            netMinor: 2930,
            availableOn: iso(txn.available_on),
            capturedAt: iso(txn.created),
          },
        },
      ]);
      expect(txn).toMatchObject({ fee: stripeFee(3000), net: 3000 - stripeFee(3000) });
      expect(txn.available_on - txn.created).toBe(2 * DAY);
      // charge.captured and payment_intent.succeeded both report it, under the one id.
      expect(h.port.published.filter((e) => e.type === 'PaymentCaptured')).toHaveLength(2);
      expect(h.port.distinct().map((e) => e.type)).toEqual(['PaymentCaptured']);
      expect(h.statuses().every((s) => s === 200)).toBe(true);
    });

    it('an automatically captured top-up is reported from payment_intent.succeeded (no charge.captured)', async () => {
      const topUp = await aTopUp(4000);
      await h.settle();

      const charge = await chargeOf(topUp);
      expect(h.port.distinct()).toEqual([
        expect.objectContaining({
          id: `PaymentCaptured:${charge.id}`,
          data: expect.objectContaining({ purpose: 'top_up', authorizedMinor: 4000, capturedMinor: 4000, releasedMinor: 0, feeMinor: 85, netMinor: 3915 }),
        }),
      ]);
    });

    it('answers 500 while Stripe cannot be read, publishes nothing, and publishes on Stripe’s retry', async () => {
      h.emulator.control.failNext({ path: '/v1/payment_intents/*', method: 'GET', kind: 'api_error' });
      const topUp = await aTopUp(2000);
      await h.settle();

      expect(h.statuses()).toContain(500);
      expect(h.port.distinct()).toEqual([expect.objectContaining({ id: `PaymentCaptured:${topUp.latest_charge}`, data: expect.objectContaining({ capturedMinor: 2000, feeMinor: 55 }) })]);
    });
  });

  describe('duplicate and out-of-order delivery', () => {
    /** Capture 6000 of 8000, refund 1000 then the rest, dispute nothing; returns the ids involved. */
    async function aCaptureWithRefunds() {
      const hold = await aHold(8000);
      await h.stripe.paymentIntents.capture(hold.id, { amount_to_capture: 6000 });
      const first = await h.stripe.refunds.create({ payment_intent: hold.id, amount: 1000 });
      const rest = await h.stripe.refunds.create({ payment_intent: hold.id });
      return { hold, chargeId: hold.latest_charge as string, refunds: [first, rest] };
    }

    function expectCaptureWithRefunds(ids: Awaited<ReturnType<typeof aCaptureWithRefunds>>) {
      const events = h.port.distinct();
      expect(events.map((e) => e.id).sort()).toEqual(
        [`PaymentCaptured:${ids.chargeId}`, `PaymentRefunded:${ids.refunds[0]!.id}:succeeded`, `PaymentRefunded:${ids.refunds[1]!.id}:succeeded`].sort(),
      );
      expect(events.find((e) => e.type === 'PaymentCaptured')!.data).toMatchObject({ authorizedMinor: 8000, capturedMinor: 6000, releasedMinor: 2000, feeMinor: stripeFee(6000), netMinor: 6000 - stripeFee(6000) });
      expect(events.filter((e) => e.type === 'PaymentRefunded').map((e) => [e.data.amountMinor, e.data.feeMinor, e.data.netMinor])).toEqual(
        expect.arrayContaining([
          [1000, 0, -1000],
          [5000, 0, -5000],
        ]),
      );
    }

    it('delivered twice each and in reverse order: the same events, same ids, same data', async () => {
      h.emulator.control.setDeliveryChaos({ duplicate: true });
      h.emulator.control.pauseWebhooks();
      const ids = await aCaptureWithRefunds();
      h.emulator.control.resumeWebhooks('reverse');
      await h.settle();

      expectCaptureWithRefunds(ids);
      // Each fact arrived through several webhooks (and their copies); every copy is identical (checked by distinct()).
      expect(h.port.published.length).toBeGreaterThan(h.port.distinct().length);
    });

    it('with random reordering and duplicates: the same events as a calm delivery would give', async () => {
      h.emulator.control.setDeliveryChaos({ duplicate: true, outOfOrder: true });
      const ids = await aCaptureWithRefunds();
      await h.settle();

      expectCaptureWithRefunds(ids);
    });
  });

  describe('refunds', () => {
    it('a partial refund, then the rest: one PaymentRefunded each, Stripe keeping its fee', async () => {
      const topUp = await aTopUp(4000);
      const partial = await h.stripe.refunds.create({ payment_intent: topUp.id, amount: 1000, reason: 'requested_by_customer' });
      const full = await h.stripe.refunds.create({ payment_intent: topUp.id });
      await h.settle();

      const refunded = h.port.distinct('PaymentRefunded');
      expect(refunded).toHaveLength(2);
      const byRefund = Object.fromEntries(refunded.map((e) => [e.data.refundId, e]));
      expect(byRefund[partial.id]).toEqual({
        type: 'PaymentRefunded',
        id: `PaymentRefunded:${partial.id}:succeeded`,
        occurredAt: iso(partial.created),
        correlationId: 'sess_42',
        data: {
          sessionId: 'sess_42',
          refundId: partial.id,
          paymentIntentId: topUp.id,
          chargeId: topUp.latest_charge,
          currency: 'EUR',
          amountMinor: 1000,
          reason: 'requested_by_customer',
          status: 'succeeded',
          balanceTransactionId: partial.balance_transaction,
          feeMinor: 0,
          netMinor: -1000,
          availableOn: iso(partial.created),
          refundedAt: iso(partial.created),
        },
      });
      expect(byRefund[full.id]!.data).toMatchObject({ amountMinor: 3000, feeMinor: 0, netMinor: -3000, status: 'succeeded', balanceTransactionId: full.balance_transaction });
      expect(byRefund[full.id]!.data).not.toHaveProperty('reason');
    });

    it('a refund that fails later gives the failure too: the money returns to the balance', async () => {
      const topUp = await aTopUp(3000);
      const refund = await h.stripe.refunds.create({ payment_intent: topUp.id, amount: 2000 });
      h.emulator.control.failRefund(refund.id);
      await h.settle();

      const failed = (await h.stripe.refunds.retrieve(refund.id, { expand: ['failure_balance_transaction'] })) as Stripe.Refund;
      const failure = failed.failure_balance_transaction as Stripe.BalanceTransaction;
      const refunded = h.port.distinct('PaymentRefunded');
      expect(refunded.map((e) => e.id).sort()).toEqual([`PaymentRefunded:${refund.id}:failed`, `PaymentRefunded:${refund.id}:succeeded`]);
      expect(refunded.find((e) => e.data.status === 'failed')!.data).toMatchObject({
        amountMinor: 2000,
        balanceTransactionId: failure.id,
        feeMinor: 0,
        netMinor: 2000,
        refundedAt: iso(failure.created),
      });
      expect(refunded.find((e) => e.data.status === 'succeeded')!.data).toMatchObject({ amountMinor: 2000, netMinor: -2000, balanceTransactionId: refund.balance_transaction });
    });
  });

  describe('disputes', () => {
    async function aDisputedCharge(amount: number) {
      const topUp = await aTopUp(amount);
      const chargeId = topUp.latest_charge as string;
      const dispute = h.emulator.control.openDispute(chargeId, { reason: 'product_not_received' });
      return { topUp, chargeId, dispute: dispute as Stripe.Dispute };
    }

    it('opened then won: the amount and the 1500 fee withdrawn, the amount reinstated, the fee kept', async () => {
      const { topUp, chargeId, dispute } = await aDisputedCharge(6000);
      const won = h.emulator.control.closeDispute(dispute.id, 'won') as Stripe.Dispute;
      await h.settle();

      const [withdrawal, reversal] = won.balance_transactions;
      expect(h.port.distinct('DisputeOpened')).toEqual([
        {
          type: 'DisputeOpened',
          id: `DisputeOpened:${dispute.id}`,
          occurredAt: iso(dispute.created),
          correlationId: 'sess_42',
          data: {
            sessionId: 'sess_42',
            disputeId: dispute.id,
            chargeId,
            paymentIntentId: topUp.id,
            currency: 'EUR',
            amountMinor: 6000,
            feeMinor: 1500,
            reason: 'product_not_received',
            balanceTransactionIds: [withdrawal!.id],
            openedAt: iso(dispute.created),
          },
        },
      ]);
      expect(h.port.distinct('DisputeClosed')).toEqual([
        expect.objectContaining({
          id: `DisputeClosed:${dispute.id}`,
          data: expect.objectContaining({ status: 'won', amountMinor: 6000, feeMinor: 1500, reinstatedMinor: 6000, balanceTransactionIds: [withdrawal!.id, reversal!.id], closedAt: iso(reversal!.created) }),
        }),
      ]);
    });

    it('opened then lost (accepted through the API): nothing reinstated', async () => {
      const { dispute } = await aDisputedCharge(4000);
      await h.stripe.disputes.close(dispute.id);
      await h.settle();

      expect(h.port.distinct('DisputeOpened')).toEqual([expect.objectContaining({ data: expect.objectContaining({ amountMinor: 4000, feeMinor: 1500 }) })]);
      const closed = h.port.distinct('DisputeClosed');
      expect(closed).toEqual([expect.objectContaining({ id: `DisputeClosed:${dispute.id}`, data: expect.objectContaining({ status: 'lost', reinstatedMinor: 0, feeMinor: 1500, balanceTransactionIds: [dispute.balance_transactions[0]!.id] }) })]);
      const webhook = h.emulator.control.events().find((e) => e.type === 'charge.dispute.closed' && e.data.object.id === dispute.id)!;
      expect(closed[0]!.data.closedAt).toBe(iso(webhook.created));
    });
  });

  describe('payouts', () => {
    it('a payout paid: the available balance (charges net of fees, minus refunds)', async () => {
      await aTopUp(10_000);
      const second = await aTopUp(5_000);
      await h.stripe.refunds.create({ payment_intent: second.id, amount: 1_000 });
      h.emulator.control.advanceTime(2 * DAY + 1);
      const [payout] = h.emulator.control.payout() as Stripe.Payout[];
      await h.settle();

      const webhook = h.emulator.control.events().find((e) => e.type === 'payout.paid')!;
      const paid = h.port.distinct('PayoutPaid');
      expect(paid).toEqual([
        expect.objectContaining({
          id: `PayoutPaid:${payout!.id}`,
          data: { payoutId: payout!.id, currency: 'EUR', amountMinor: 10_000 - stripeFee(10_000) + 5_000 - stripeFee(5_000) - 1_000, arrivalDate: iso(payout!.arrival_date), balanceTransactionId: payout!.balance_transaction, paidAt: iso(webhook.created) },
        }),
      ]);
      expect(paid[0]!.data.amountMinor).toBe(9825 + 4900 - 1000);
      expect(h.port.distinct('PayoutFailed')).toEqual([]);
    });

    it('a payout failed: PayoutFailed with the bank’s reason, no PayoutPaid', async () => {
      await aTopUp(10_000);
      h.emulator.control.advanceTime(3 * DAY);
      const [payout] = h.emulator.control.payout({ fail: true }) as Stripe.Payout[];
      await h.settle();

      const failure = await h.stripe.balanceTransactions.retrieve(payout!.failure_balance_transaction as string);
      expect(h.port.distinct('PayoutFailed')).toEqual([
        expect.objectContaining({
          id: `PayoutFailed:${payout!.id}`,
          data: { payoutId: payout!.id, currency: 'EUR', amountMinor: 9825, failureCode: 'account_closed', failureMessage: 'The bank account has been closed.', failedAt: iso(failure.created) },
        }),
      ]);
      expect(h.port.distinct('PayoutPaid')).toEqual([]);
    });
  });

  describe('holds released and payments failed', () => {
    it('a canceled hold gives PaymentHoldReleased (canceled) and no refund', async () => {
      const hold = await aHold(5000, 'sess_77');
      const canceled = await h.stripe.paymentIntents.cancel(hold.id, { cancellation_reason: 'abandoned' });
      await h.settle();

      expect(h.port.distinct()).toEqual([
        {
          type: 'PaymentHoldReleased',
          id: `PaymentHoldReleased:${hold.id}`,
          occurredAt: iso(canceled.canceled_at!),
          correlationId: 'sess_77',
          data: { sessionId: 'sess_77', purpose: 'hold', paymentIntentId: hold.id, chargeId: hold.latest_charge, currency: 'EUR', amountMinor: 5000, reason: 'canceled', releasedAt: iso(canceled.canceled_at!) },
        },
      ]);
      // Releasing the hold also sent charge.refunded: it has no Refund, so nothing was published for it.
      expect(h.emulator.control.events().map((e) => e.type)).toContain('charge.refunded');
    });

    it('an expired hold (clock past capture_before) gives one PaymentHoldReleased (expired), from charge.expired and payment_intent.canceled', async () => {
      const hold = await aHold(4500);
      const charge = await h.stripe.charges.retrieve(hold.latest_charge as string);
      const captureBefore = charge.payment_method_details!.card!.capture_before!;
      h.emulator.control.advanceTime(7 * DAY + 60);
      await h.settle();

      expect(h.emulator.control.events().map((e) => e.type)).toEqual(expect.arrayContaining(['charge.expired', 'payment_intent.canceled']));
      expect(h.port.distinct()).toEqual([
        expect.objectContaining({
          id: `PaymentHoldReleased:${hold.id}`,
          occurredAt: iso(captureBefore),
          data: expect.objectContaining({ reason: 'expired', amountMinor: 4500, chargeId: charge.id, releasedAt: iso(captureBefore) }),
        }),
      ]);
      expect(h.port.published.filter((e) => e.type === 'PaymentHoldReleased')).toHaveLength(2);
    });

    it('a declined off-session charge gives PaymentFailed keyed by the failed charge', async () => {
      const error = await h.stripe.paymentIntents
        .create({ amount: 1500, currency: 'eur', payment_method: 'pm_card_chargeDeclinedInsufficientFunds', confirm: true, off_session: true, metadata: metadata('off_session_charge') })
        .then(
          () => undefined,
          (e: unknown) => e as Stripe.errors.StripeCardError,
        );
      expect(error).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'insufficient_funds' });
      await h.settle();

      const failedCharge = await h.stripe.charges.retrieve(error!.charge!);
      expect(h.port.distinct()).toEqual([
        {
          type: 'PaymentFailed',
          id: `PaymentFailed:${failedCharge.id}`,
          occurredAt: iso(failedCharge.created),
          correlationId: 'sess_42',
          data: {
            sessionId: 'sess_42',
            purpose: 'off_session_charge',
            paymentIntentId: error!.payment_intent!.id,
            chargeId: failedCharge.id,
            currency: 'EUR',
            amountMinor: 1500,
            code: 'card_declined',
            declineCode: 'insufficient_funds',
            message: 'Your card has insufficient funds.',
            failedAt: iso(failedCharge.created),
          },
        },
      ]);
    });
  });
});
