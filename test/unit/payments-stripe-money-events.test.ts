import type Stripe from 'stripe';
import { describe, expect, it, vi } from 'vitest';
import { STRIPE_MONEY_EVENTS } from '../../events/payment-events.ts';
import { membershipEventHandlers } from '../../functions/entitlements/stripe-webhook.ts';
import type { StripeEventHandler } from '../../functions/shared/stripe.ts';
import {
  balanceFacts,
  mergeHandlers,
  moneyEventHandlers,
  paymentReference,
  toDisputeClosed,
  toDisputeOpened,
  toPaymentCaptured,
  toPaymentFailed,
  toPaymentHoldReleased,
  toPaymentRefunded,
  toPayoutFailed,
  toInvoicePaid,
  toPayoutPaid,
} from '../../functions/payments/stripe-money-events.ts';
import { systemClock } from '../../functions/shared/clock.ts';
import { silentLog } from '../../functions/shared/log.ts';

// Stripe-shaped objects as the API answers them (API 2026-10), with the expansions the handlers ask for.
const T0 = 1_790_000_000; // 2026-09-21T14:13:20Z: authorization
const CAPTURED = T0 + 3600; // 15:13:20Z
const DAY = 86_400;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

const SESSION_METADATA = { sessionId: 'sess_42', purpose: 'hold', transactionId: '42', chargePointId: 'CP-001' };

function aBalanceTransaction(overrides: Partial<Stripe.BalanceTransaction> = {}): Stripe.BalanceTransaction {
  const amount = overrides.amount ?? 3000;
  const fee = overrides.fee ?? 70;
  return {
    id: 'txn_3Qcapture',
    object: 'balance_transaction',
    amount,
    available_on: CAPTURED + 2 * DAY,
    balance_type: 'payments',
    created: CAPTURED,
    currency: 'eur',
    description: null,
    exchange_rate: null,
    fee,
    fee_details: fee ? [{ amount: fee, application: null, currency: 'eur', description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
    net: amount - fee,
    reporting_category: 'charge',
    source: 'ch_3Qhold',
    status: 'pending',
    type: 'charge',
    ...overrides,
  } as Stripe.BalanceTransaction;
}

function aPaymentIntent(overrides: Partial<Stripe.PaymentIntent> = {}): Stripe.PaymentIntent {
  return {
    id: 'pi_3Qhold',
    object: 'payment_intent',
    amount: 5000,
    amount_capturable: 0,
    amount_received: 0,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'manual',
    created: T0,
    currency: 'eur',
    customer: 'cus_driver7',
    last_payment_error: null,
    latest_charge: 'ch_3Qhold',
    livemode: false,
    metadata: { ...SESSION_METADATA },
    payment_method: 'pm_1Qvisa',
    payment_method_types: ['card'],
    status: 'requires_capture',
    ...overrides,
  } as Stripe.PaymentIntent;
}

function aCharge(overrides: Partial<Stripe.Charge> = {}): Stripe.Charge {
  return {
    id: 'ch_3Qhold',
    object: 'charge',
    amount: 5000,
    amount_captured: 0,
    amount_refunded: 0,
    balance_transaction: null,
    captured: false,
    created: T0,
    currency: 'eur',
    customer: 'cus_driver7',
    disputed: false,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata: { ...SESSION_METADATA },
    outcome: { network_status: 'approved_by_network', reason: null, risk_level: 'normal', seller_message: 'Payment complete.', type: 'authorized' },
    paid: true,
    payment_intent: 'pi_3Qhold',
    payment_method: 'pm_1Qvisa',
    payment_method_details: {
      type: 'card',
      card: { brand: 'visa', last4: '4242', capture_before: T0 + 7 * DAY, incremental_authorization: { status: 'available' } },
    },
    refunded: false,
    status: 'succeeded',
    ...overrides,
  } as unknown as Stripe.Charge;
}

/** The hold, captured partially: 3000 of 5000, fee 1.5% + 25 = 70. */
const aPartialCapture = (overrides: Partial<Stripe.Charge> = {}) =>
  aCharge({ captured: true, amount_captured: 3000, amount_refunded: 2000, balance_transaction: aBalanceTransaction(), payment_intent: aPaymentIntent({ status: 'succeeded', amount_received: 3000 }), ...overrides });

function aRefund(overrides: Partial<Stripe.Refund> = {}): Stripe.Refund {
  return {
    id: 're_3Qrefund',
    object: 'refund',
    amount: 1200,
    balance_transaction: aBalanceTransaction({ id: 'txn_3Qrefund', amount: -1200, fee: 0, type: 'refund', reporting_category: 'refund', source: 're_3Qrefund', created: CAPTURED + DAY, available_on: CAPTURED + DAY }),
    charge: 'ch_3Qhold',
    created: CAPTURED + DAY,
    currency: 'eur',
    metadata: {},
    payment_intent: aPaymentIntent({ status: 'succeeded', amount_received: 3000 }),
    reason: 'requested_by_customer',
    receipt_number: null,
    status: 'succeeded',
    ...overrides,
  } as Stripe.Refund;
}

const withdrawal = aBalanceTransaction({ id: 'txn_3Qwithdrawal', amount: -3000, fee: 1500, type: 'adjustment', reporting_category: 'dispute', source: 'du_1Qdispute', created: T0 + 10 * DAY, available_on: T0 + 10 * DAY });
const reinstatement = aBalanceTransaction({ id: 'txn_3Qreversal', amount: 3000, fee: 0, type: 'adjustment', reporting_category: 'dispute_reversal', source: 'du_1Qdispute', created: T0 + 20 * DAY, available_on: T0 + 20 * DAY });

function aDispute(overrides: Partial<Stripe.Dispute> = {}): Stripe.Dispute {
  return {
    id: 'du_1Qdispute',
    object: 'dispute',
    amount: 3000,
    balance_transactions: [withdrawal],
    charge: 'ch_3Qhold',
    created: T0 + 10 * DAY,
    currency: 'eur',
    evidence_details: { due_by: T0 + 17 * DAY, has_evidence: false, past_due: false, submission_count: 0 },
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    payment_intent: aPaymentIntent({ status: 'succeeded', amount_received: 3000 }),
    reason: 'fraudulent',
    status: 'needs_response',
    ...overrides,
  } as unknown as Stripe.Dispute;
}

function aPayout(overrides: Partial<Stripe.Payout> = {}): Stripe.Payout {
  return {
    id: 'po_1Qpayout',
    object: 'payout',
    amount: 12_345,
    arrival_date: T0 + 4 * DAY,
    automatic: true,
    balance_transaction: 'txn_1Qpayout',
    created: T0 + 3 * DAY,
    currency: 'eur',
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    livemode: false,
    metadata: {},
    method: 'standard',
    status: 'paid',
    type: 'bank_account',
    ...overrides,
  } as unknown as Stripe.Payout;
}

const PAID = T0 + 2 * DAY; // the invoice's payment

/**
 * A paid subscription invoice as `GET /v1/invoices/{id}` answers it (API 2025-03-31 and later: the
 * subscription under `parent.subscription_details`, taxes under `total_taxes`), with Stripe Tax's
 * 19 % German VAT included in the 11.89 price.
 */
function anInvoice(overrides: Record<string, unknown> = {}): Stripe.Invoice {
  return {
    id: 'in_1Qmember',
    object: 'invoice',
    account_country: 'DE',
    amount_due: 1189,
    amount_overpaid: 0,
    amount_paid: 1189,
    amount_remaining: 0,
    amount_shipping: 0,
    attempt_count: 1,
    attempted: true,
    auto_advance: false,
    automatic_tax: { enabled: true, liability: { type: 'self' }, status: 'complete' },
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    created: T0,
    currency: 'eur',
    customer: 'cus_driver7',
    customer_email: 'dana@example.com',
    default_payment_method: null,
    description: null,
    discounts: [],
    due_date: null,
    hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1/test_1',
    lines: {
      object: 'list',
      data: [
        {
          id: 'il_1Qmember',
          object: 'line_item',
          amount: 1189,
          currency: 'eur',
          description: '1 × VoltLedger Plus (at €11.89 / month)',
          metadata: {},
          parent: { type: 'subscription_item_details', subscription_item_details: { subscription: 'sub_1Qplus', subscription_item: 'si_1Qplus', proration: false, proration_details: { credited_items: null }, invoice_item: null }, invoice_item_details: null },
          period: { start: T0, end: T0 + 30 * DAY },
          pricing: { type: 'price_details', price_details: { price: 'price_1Qplus', product: 'prod_1Qplus' }, unit_amount_decimal: '1189' },
          quantity: 1,
          taxes: [{ amount: 190, tax_behavior: 'inclusive', tax_rate_details: null, taxability_reason: 'standard_rated', taxable_amount: 999, type: 'tax_rate_details' }],
        },
      ],
      has_more: false,
      url: '/v1/invoices/in_1Qmember/lines',
    },
    livemode: false,
    metadata: {},
    number: 'A1B2C3D4-0002',
    parent: { type: 'subscription_details', quote_details: null, subscription_details: { metadata: {}, subscription: 'sub_1Qplus' } },
    period_end: T0,
    period_start: T0 - 30 * DAY,
    status: 'paid',
    status_transitions: { finalized_at: T0 + 3600, marked_uncollectible_at: null, paid_at: PAID, voided_at: null },
    subtotal: 1189,
    subtotal_excluding_tax: 999,
    total: 1189,
    total_excluding_tax: 999,
    total_taxes: [{ amount: 190, tax_behavior: 'inclusive', tax_rate_details: { tax_rate: 'txr_1QdeVat' }, taxability_reason: 'standard_rated', taxable_amount: 999, type: 'tax_rate_details' }],
    ...overrides,
  } as unknown as Stripe.Invoice;
}

/** A fleet statement's invoice as functions/fleet/adapters/stripe-invoicer.ts creates it (VAT as an item, no Stripe tax). */
function aFleetInvoice(overrides: Record<string, unknown> = {}): Stripe.Invoice {
  return anInvoice({
    id: 'in_1Qfleet',
    amount_due: 14_280,
    amount_paid: 14_280,
    automatic_tax: { enabled: false, liability: null, status: null },
    billing_reason: 'manual',
    customer: { id: 'cus_acme', object: 'customer' },
    description: 'Fleet charging statement 2026-09 (FS-ACME-2026-09): 8 sessions, 177.749 kWh',
    lines: { object: 'list', data: [], has_more: false, url: '/v1/invoices/in_1Qfleet/lines' },
    metadata: { voltledger_statement_id: 'FS-ACME-2026-09', voltledger_account_id: 'ACME', voltledger_period: '2026-09' },
    parent: null,
    subtotal: 14_280,
    subtotal_excluding_tax: 14_280,
    total: 14_280,
    total_excluding_tax: 14_280,
    total_taxes: [],
    ...overrides,
  });
}

/** Every event a mapper returns must pass its contract's envelope schema. */
function expectValid(event: { contract: { envelope: { parse(v: unknown): unknown } }; detail: unknown } | undefined) {
  expect(event).toBeDefined();
  expect(() => event!.contract.envelope.parse(event!.detail)).not.toThrow();
  expect(STRIPE_MONEY_EVENTS as readonly unknown[]).toContain(event!.contract);
}

describe('Stripe money events', () => {
  describe('paymentReference', () => {
    it.each([
      ['a VoltLedger hold', SESSION_METADATA, { sessionId: 'sess_42', purpose: 'hold' }],
      ['a top-up', { sessionId: 'sess_43', purpose: 'top_up' }, { sessionId: 'sess_43', purpose: 'top_up' }],
      ['a payment VoltLedger did not make', {}, {}],
      ['an unknown purpose (left out, not failing)', { sessionId: 'sess_44', purpose: 'tip' }, { sessionId: 'sess_44' }],
      ['an empty sessionId', { sessionId: '' }, {}],
      ['no metadata', null, {}],
    ])('reads %s', (_name, metadata, expected) => {
      expect(paymentReference(metadata as Stripe.Metadata | null)).toEqual(expected);
    });
  });

  describe('balanceFacts', () => {
    it('maps fee, net and available_on (Unix seconds to ISO)', () => {
      expect(balanceFacts(aBalanceTransaction())).toEqual({ balanceTransactionId: 'txn_3Qcapture', feeMinor: 70, netMinor: 2930, availableOn: '2026-09-23T15:13:20.000Z' });
    });
    it('keeps only the id of an unexpanded transaction, nothing without one', () => {
      expect(balanceFacts('txn_3Qcapture')).toEqual({ balanceTransactionId: 'txn_3Qcapture' });
      expect(balanceFacts(null)).toEqual({});
    });
  });

  describe('toPaymentCaptured', () => {
    it('maps a partial capture of a hold: released amount, Stripe fee, net, capture time, upper-case currency', () => {
      const event = toPaymentCaptured(aPartialCapture());

      expectValid(event);
      expect(event!.detail.metadata).toEqual({ id: 'PaymentCaptured:ch_3Qhold', version: 1, occurredAt: iso(CAPTURED), correlationId: 'sess_42' });
      expect(event!.detail.data).toEqual({
        sessionId: 'sess_42',
        purpose: 'hold',
        paymentIntentId: 'pi_3Qhold',
        chargeId: 'ch_3Qhold',
        customerId: 'cus_driver7',
        currency: 'EUR',
        authorizedMinor: 5000,
        capturedMinor: 3000,
        releasedMinor: 2000,
        balanceTransactionId: 'txn_3Qcapture',
        feeMinor: 70,
        netMinor: 2930,
        availableOn: '2026-09-23T15:13:20.000Z',
        capturedAt: '2026-09-21T15:13:20.000Z',
      });
    });

    it('is unchanged by later refunds of the charge (duplicates and late deliveries publish the same data)', () => {
      const now = aPartialCapture();
      const laterRefunded = aPartialCapture({ amount_refunded: 5000, refunded: true });

      expect(toPaymentCaptured(laterRefunded)!.detail).toEqual(toPaymentCaptured(now)!.detail);
    });

    it('gives the same event from the charge (charge.captured) and from the intent (payment_intent.succeeded)', () => {
      const intent = aPaymentIntent({ status: 'succeeded', amount_received: 3000 });
      const fromCharge = toPaymentCaptured(aPartialCapture({ payment_intent: intent }));
      const fromIntent = toPaymentCaptured(aPartialCapture({ payment_intent: 'pi_3Qhold' }), intent);

      expect(fromIntent!.detail).toEqual(fromCharge!.detail);
    });

    it('maps an automatically captured off-session charge: nothing released, the capture is the authorization', () => {
      const intent = aPaymentIntent({ id: 'pi_3Qoff', capture_method: 'automatic_async', status: 'succeeded', amount: 1234, amount_received: 1234, metadata: { sessionId: 'sess_42', purpose: 'off_session_charge' } });
      const txn = aBalanceTransaction({ id: 'txn_3Qoff', amount: 1234, fee: 44, created: T0, available_on: T0 + 2 * DAY });
      const charge = aCharge({ id: 'ch_3Qoff', amount: 1234, amount_captured: 1234, captured: true, payment_intent: intent, balance_transaction: txn });

      const event = toPaymentCaptured(charge);

      expectValid(event);
      expect(event!.detail.data).toMatchObject({ purpose: 'off_session_charge', authorizedMinor: 1234, capturedMinor: 1234, releasedMinor: 0, feeMinor: 44, netMinor: 1190, capturedAt: iso(T0) });
    });

    it('reports a payment without VoltLedger metadata, sessionId and purpose absent', () => {
      const charge = aPartialCapture({ metadata: {}, payment_intent: aPaymentIntent({ metadata: {} }) });

      const data = toPaymentCaptured(charge)!.detail.data;

      expect(data).not.toHaveProperty('sessionId');
      expect(data).not.toHaveProperty('purpose');
      expect(toPaymentCaptured(charge)!.detail.metadata.correlationId).toBe('PaymentCaptured:ch_3Qhold');
    });

    it('gives nothing for an uncaptured (held) or failed charge', () => {
      expect(toPaymentCaptured(aCharge())).toBeUndefined();
      expect(toPaymentCaptured(aCharge({ status: 'failed', captured: false, paid: false }))).toBeUndefined();
    });
  });

  describe('toPaymentHoldReleased', () => {
    it('maps a hold canceled by VoltLedger, dated at the cancellation', () => {
      const intent = aPaymentIntent({ status: 'canceled', canceled_at: T0 + 1800, cancellation_reason: 'abandoned' });
      const charge = aCharge({ refunded: true, amount_refunded: 5000 });

      const event = toPaymentHoldReleased(intent, charge);

      expectValid(event);
      expect(event!.detail.metadata).toMatchObject({ id: 'PaymentHoldReleased:pi_3Qhold', occurredAt: iso(T0 + 1800), correlationId: 'sess_42' });
      expect(event!.detail.data).toEqual({
        sessionId: 'sess_42',
        purpose: 'hold',
        paymentIntentId: 'pi_3Qhold',
        chargeId: 'ch_3Qhold',
        currency: 'EUR',
        amountMinor: 5000,
        reason: 'canceled',
        releasedAt: iso(T0 + 1800),
      });
    });

    it('maps an expired hold the same way from charge.expired (intent not yet canceled) and payment_intent.canceled (automatic)', () => {
      const charge = aCharge({ refunded: true, amount_refunded: 5000 });
      const stillOpen = aPaymentIntent();
      const canceled = aPaymentIntent({ status: 'canceled', canceled_at: T0 + 7 * DAY + 61, cancellation_reason: 'automatic' });

      const fromCharge = toPaymentHoldReleased(stillOpen, charge, { lapsed: true });
      const fromIntent = toPaymentHoldReleased(canceled, charge);

      expectValid(fromIntent);
      expect(fromIntent!.detail.data).toMatchObject({ reason: 'expired', amountMinor: 5000, releasedAt: iso(T0 + 7 * DAY) });
      expect(fromCharge!.detail).toEqual(fromIntent!.detail);
    });

    it('reports the raised hold after an incremental authorization', () => {
      const intent = aPaymentIntent({ amount: 8000, status: 'canceled', canceled_at: T0 + 60, cancellation_reason: null });

      expect(toPaymentHoldReleased(intent, aCharge({ amount: 8000, refunded: true }))!.detail.data.amountMinor).toBe(8000);
    });

    it.each([
      ['after a partial capture (PaymentCaptured reports the release)', aPaymentIntent({ status: 'canceled', amount_received: 3000, canceled_at: T0 + 60 }), aPartialCapture()],
      ['for an intent that never authorized (declined, then canceled)', aPaymentIntent({ status: 'canceled', canceled_at: T0 + 60 }), aCharge({ status: 'failed', paid: false })],
      ['for an intent canceled before any charge', aPaymentIntent({ status: 'canceled', canceled_at: T0 + 60, latest_charge: null }), undefined],
      ['while the hold is still in place', aPaymentIntent(), aCharge()],
    ])('gives nothing %s', (_name, intent, charge) => {
      expect(toPaymentHoldReleased(intent, charge)).toBeUndefined();
    });

    it('reads the charge from the expanded latest_charge', () => {
      const intent = aPaymentIntent({ status: 'canceled', canceled_at: T0 + 60, latest_charge: aCharge({ refunded: true }) });

      expect(toPaymentHoldReleased(intent)!.detail.data.chargeId).toBe('ch_3Qhold');
    });
  });

  describe('toPaymentFailed', () => {
    const declined = aCharge({
      id: 'ch_3Qdeclined',
      amount: 1500,
      status: 'failed',
      paid: false,
      failure_code: 'card_declined',
      failure_message: 'Your card has insufficient funds.',
      outcome: { network_status: 'declined_by_network', reason: 'insufficient_funds', risk_level: 'normal', seller_message: 'The bank did not return any further details with this decline.', type: 'issuer_declined' } as Stripe.Charge.Outcome,
    });

    it('maps a declined off-session charge with Stripe’s codes, keyed by the failed charge', () => {
      const intent = aPaymentIntent({
        id: 'pi_3Qoff',
        amount: 1500,
        capture_method: 'automatic_async',
        status: 'requires_payment_method',
        metadata: { sessionId: 'sess_42', purpose: 'off_session_charge' },
        last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.', charge: 'ch_3Qdeclined' } as Stripe.PaymentIntent.LastPaymentError,
      });

      const event = toPaymentFailed(intent, declined, T0 + 5);

      expectValid(event);
      expect(event.detail.metadata).toMatchObject({ id: 'PaymentFailed:ch_3Qdeclined', occurredAt: iso(T0) });
      expect(event.detail.data).toEqual({
        sessionId: 'sess_42',
        purpose: 'off_session_charge',
        paymentIntentId: 'pi_3Qoff',
        chargeId: 'ch_3Qdeclined',
        currency: 'EUR',
        amountMinor: 1500,
        code: 'card_declined',
        declineCode: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
        failedAt: iso(T0),
      });
    });

    it('takes the attempted amount from the failed charge even when the intent changed since', () => {
      const intent = aPaymentIntent({ amount: 9999, last_payment_error: null });

      expect(toPaymentFailed(intent, declined, T0).detail.data).toMatchObject({ amountMinor: 1500, code: 'card_declined', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds.' });
    });

    it('keys a failure without a charge (3-D Secure failed) by the intent, dated when Stripe reported it', () => {
      const intent = aPaymentIntent({
        status: 'requires_payment_method',
        latest_charge: null,
        last_payment_error: { type: 'card_error', code: 'payment_intent_authentication_failure', message: 'The provided PaymentMethod has failed authentication.' } as Stripe.PaymentIntent.LastPaymentError,
      });

      const event = toPaymentFailed(intent, undefined, T0 + 300);

      expectValid(event);
      expect(event.detail.metadata.id).toBe('PaymentFailed:pi_3Qhold');
      expect(event.detail.data).toEqual({
        sessionId: 'sess_42',
        purpose: 'hold',
        paymentIntentId: 'pi_3Qhold',
        currency: 'EUR',
        amountMinor: 5000,
        code: 'payment_intent_authentication_failure',
        message: 'The provided PaymentMethod has failed authentication.',
        failedAt: iso(T0 + 300),
      });
    });
  });

  describe('toPaymentRefunded', () => {
    it('maps a succeeded refund with its balance transaction (Stripe keeps the fee: 0, net -amount)', () => {
      const [event, ...rest] = toPaymentRefunded(aRefund());

      expect(rest).toEqual([]);
      expectValid(event);
      expect(event!.detail.metadata).toMatchObject({ id: 'PaymentRefunded:re_3Qrefund:succeeded', occurredAt: iso(CAPTURED + DAY) });
      expect(event!.detail.data).toEqual({
        sessionId: 'sess_42',
        refundId: 're_3Qrefund',
        paymentIntentId: 'pi_3Qhold',
        chargeId: 'ch_3Qhold',
        currency: 'EUR',
        amountMinor: 1200,
        reason: 'requested_by_customer',
        status: 'succeeded',
        balanceTransactionId: 'txn_3Qrefund',
        feeMinor: 0,
        netMinor: -1200,
        availableOn: iso(CAPTURED + DAY),
        refundedAt: iso(CAPTURED + DAY),
      });
    });

    it('maps a refund that failed later as both movements, whichever webhook reads it', () => {
      const failure = aBalanceTransaction({ id: 'txn_3Qrefundfail', amount: 1200, fee: 0, type: 'refund_failure', reporting_category: 'refund_failure', source: 're_3Qrefund', created: CAPTURED + 3 * DAY, available_on: CAPTURED + 3 * DAY });
      const failed = aRefund({ status: 'failed', failure_reason: 'expired_or_canceled_card', failure_balance_transaction: failure });

      const events = toPaymentRefunded(failed);

      expect(events.map((e) => e.detail.metadata.id)).toEqual(['PaymentRefunded:re_3Qrefund:succeeded', 'PaymentRefunded:re_3Qrefund:failed']);
      events.forEach(expectValid);
      expect(events[0]!.detail).toEqual(toPaymentRefunded(aRefund())[0]!.detail);
      expect(events[1]!.detail.data).toMatchObject({ status: 'failed', amountMinor: 1200, balanceTransactionId: 'txn_3Qrefundfail', feeMinor: 0, netMinor: 1200, refundedAt: iso(CAPTURED + 3 * DAY) });
    });

    it.each(['pending', 'requires_action', 'canceled'])('gives nothing for a %s refund (no money fact yet)', (status) => {
      expect(toPaymentRefunded(aRefund({ status }))).toEqual([]);
    });

    it('leaves sessionId and reason out when Stripe has none', () => {
      const data = toPaymentRefunded(aRefund({ reason: null, payment_intent: aPaymentIntent({ metadata: {} }) }))[0]!.detail.data;

      expect(data).not.toHaveProperty('sessionId');
      expect(data).not.toHaveProperty('reason');
    });
  });

  describe('disputes', () => {
    it('maps an opened dispute: amount, dispute fee and the withdrawal', () => {
      const event = toDisputeOpened(aDispute());

      expectValid(event);
      expect(event!.detail.metadata).toMatchObject({ id: 'DisputeOpened:du_1Qdispute', occurredAt: iso(T0 + 10 * DAY) });
      expect(event!.detail.data).toEqual({
        sessionId: 'sess_42',
        disputeId: 'du_1Qdispute',
        chargeId: 'ch_3Qhold',
        paymentIntentId: 'pi_3Qhold',
        currency: 'EUR',
        amountMinor: 3000,
        feeMinor: 1500,
        reason: 'fraudulent',
        balanceTransactionIds: ['txn_3Qwithdrawal'],
        openedAt: iso(T0 + 10 * DAY),
      });
    });

    it('opens identically when read after the dispute was won', () => {
      const won = aDispute({ status: 'won', balance_transactions: [withdrawal, reinstatement] });

      expect(toDisputeOpened(won)!.detail).toEqual(toDisputeOpened(aDispute())!.detail);
    });

    it('gives no DisputeOpened before funds were withdrawn (an inquiry)', () => {
      expect(toDisputeOpened(aDispute({ status: 'warning_needs_response', balance_transactions: [] }))).toBeUndefined();
    });

    it('maps a won dispute: the amount reinstated, the fee kept, dated at the reinstatement', () => {
      const event = toDisputeClosed(aDispute({ status: 'won', balance_transactions: [withdrawal, reinstatement] }), T0 + 30 * DAY);

      expectValid(event);
      expect(event!.detail.metadata).toMatchObject({ id: 'DisputeClosed:du_1Qdispute', occurredAt: iso(T0 + 20 * DAY) });
      expect(event!.detail.data).toEqual({
        sessionId: 'sess_42',
        disputeId: 'du_1Qdispute',
        chargeId: 'ch_3Qhold',
        paymentIntentId: 'pi_3Qhold',
        currency: 'EUR',
        amountMinor: 3000,
        feeMinor: 1500,
        status: 'won',
        reinstatedMinor: 3000,
        balanceTransactionIds: ['txn_3Qwithdrawal', 'txn_3Qreversal'],
        closedAt: iso(T0 + 20 * DAY),
      });
    });

    it('maps a lost dispute: nothing reinstated, dated when Stripe reported the closing', () => {
      const event = toDisputeClosed(aDispute({ status: 'lost' }), T0 + 25 * DAY);

      expectValid(event);
      expect(event!.detail.data).toMatchObject({ status: 'lost', reinstatedMinor: 0, feeMinor: 1500, balanceTransactionIds: ['txn_3Qwithdrawal'], closedAt: iso(T0 + 25 * DAY) });
    });

    it('maps a closed inquiry (warning_closed) with nothing withdrawn', () => {
      const event = toDisputeClosed(aDispute({ status: 'warning_closed', balance_transactions: [] }), T0 + 25 * DAY);

      expectValid(event);
      expect(event!.detail.data).toMatchObject({ status: 'warning_closed', reinstatedMinor: 0, feeMinor: 0, balanceTransactionIds: [] });
    });

    it.each(['needs_response', 'under_review', 'warning_needs_response'])('gives no DisputeClosed while %s', (status) => {
      expect(toDisputeClosed(aDispute({ status: status as Stripe.Dispute.Status }), T0)).toBeUndefined();
    });
  });

  describe('payouts', () => {
    it('maps a paid payout, dated when Stripe reported it', () => {
      const event = toPayoutPaid(aPayout(), T0 + 3 * DAY + 5);

      expectValid(event);
      expect(event!.detail.metadata).toEqual({ id: 'PayoutPaid:po_1Qpayout', version: 1, occurredAt: iso(T0 + 3 * DAY + 5), correlationId: 'PayoutPaid:po_1Qpayout' });
      expect(event!.detail.data).toEqual({
        payoutId: 'po_1Qpayout',
        currency: 'EUR',
        amountMinor: 12_345,
        arrivalDate: iso(T0 + 4 * DAY),
        balanceTransactionId: 'txn_1Qpayout',
        paidAt: iso(T0 + 3 * DAY + 5),
      });
    });

    it('still reports a payout paid that failed afterwards, and no PayoutPaid while pending', () => {
      expect(toPayoutPaid(aPayout({ status: 'failed' }), T0)).toBeDefined();
      expect(toPayoutPaid(aPayout({ status: 'pending' }), T0)).toBeUndefined();
    });

    it('maps a failed payout with Stripe’s failure code, dated at the failure transaction', () => {
      const failure = aBalanceTransaction({ id: 'txn_1Qpayoutfail', amount: 12_345, fee: 0, type: 'payout_failure', reporting_category: 'payout_reversal', created: T0 + 3 * DAY + 60 });
      const event = toPayoutFailed(aPayout({ status: 'failed', failure_code: 'account_closed', failure_message: 'The bank account has been closed.', failure_balance_transaction: failure }), T0 + 4 * DAY);

      expectValid(event);
      expect(event!.detail.metadata.id).toBe('PayoutFailed:po_1Qpayout');
      expect(event!.detail.data).toEqual({
        payoutId: 'po_1Qpayout',
        currency: 'EUR',
        amountMinor: 12_345,
        failureCode: 'account_closed',
        failureMessage: 'The bank account has been closed.',
        failedAt: iso(T0 + 3 * DAY + 60),
      });
    });

    it('gives no PayoutFailed for a payout that did not fail', () => {
      expect(toPayoutFailed(aPayout(), T0)).toBeUndefined();
    });
  });

  describe('toInvoicePaid', () => {
    it('maps a paid membership invoice: subscription, amount paid, Stripe Tax’s VAT, dated when paid', () => {
      const event = toInvoicePaid(anInvoice(), PAID + 7);

      expectValid(event);
      expect(event!.detail.metadata).toEqual({ id: 'InvoicePaid:in_1Qmember', version: 1, occurredAt: iso(PAID), correlationId: 'InvoicePaid:in_1Qmember' });
      expect(event!.detail.data).toEqual({
        invoiceId: 'in_1Qmember',
        customerId: 'cus_driver7',
        currency: 'EUR',
        amountPaidMinor: 1189,
        taxMinor: 190,
        kind: 'membership',
        subscriptionId: 'sub_1Qplus',
        paidAt: iso(PAID),
      });
    });

    it('reads the subscription of an invoice of an API version before 2025-03-31, and takes tax 0 when Stripe computed none', () => {
      const event = toInvoicePaid(anInvoice({ parent: null, subscription: 'sub_1Qold', total_taxes: null }));
      expect(event!.detail.data).toMatchObject({ kind: 'membership', subscriptionId: 'sub_1Qold', taxMinor: 0, amountPaidMinor: 1189 });
    });

    it('maps a paid fleet statement invoice by the invoicer’s metadata: statement and account', () => {
      const event = toInvoicePaid(aFleetInvoice());

      expectValid(event);
      expect(event!.detail.data).toEqual({
        invoiceId: 'in_1Qfleet',
        customerId: 'cus_acme',
        currency: 'EUR',
        amountPaidMinor: 14_280,
        taxMinor: 0,
        kind: 'fleet_statement',
        statementId: 'FS-ACME-2026-09',
        accountId: 'ACME',
        paidAt: iso(PAID),
      });
    });

    it('calls any other paid invoice other', () => {
      const event = toInvoicePaid(aFleetInvoice({ id: 'in_1Qother', metadata: { order: '42' } }));
      expectValid(event);
      expect(event!.detail.data).toMatchObject({ kind: 'other', invoiceId: 'in_1Qother' });
      expect(event!.detail.data).not.toHaveProperty('statementId');
    });

    it('gives the same event for a duplicate or late webhook (dated by the invoice, not the webhook)', () => {
      expect(toInvoicePaid(anInvoice(), PAID + 5)!.detail).toEqual(toInvoicePaid(anInvoice(), PAID + 3 * DAY)!.detail);
    });

    it('gives nothing for an invoice not paid, or paid out of band (no money went through Stripe)', () => {
      expect(toInvoicePaid(anInvoice({ status: 'open', amount_paid: 0, status_transitions: { finalized_at: T0, paid_at: null } }))).toBeUndefined();
      expect(toInvoicePaid(aFleetInvoice({ paid_out_of_band: true }))).toBeUndefined();
    });

    it('invoice.paid runs the membership refresh and publishes InvoicePaid from the invoice re-read at Stripe', async () => {
      const published: unknown[] = [];
      const retrieve = vi.fn(async () => anInvoice());
      const stripe = { invoices: { retrieve } } as unknown as Stripe;
      const syncFromEvent = vi.fn(async () => undefined);
      const handlers = mergeHandlers(membershipEventHandlers({ syncFromEvent } as never), moneyEventHandlers({ stripe, events: { publish: async (e: unknown[]) => void published.push(...e) } as never, clock: systemClock, log: silentLog }));

      // The webhook's snapshot is stale (still open): the handler trusts only what it re-reads.
      await handlers['invoice.paid']!({ id: 'evt_1', type: 'invoice.paid', created: PAID + 1, data: { object: anInvoice({ status: 'open' }) } } as unknown as Stripe.Event);

      expect(syncFromEvent).toHaveBeenCalledWith({ customerId: 'cus_driver7', subscriptionId: 'sub_1Qplus', eventId: 'evt_1' });
      expect(retrieve).toHaveBeenCalledWith('in_1Qmember');
      expect(published.map((e: any) => e.detail.metadata.id)).toEqual(['InvoicePaid:in_1Qmember']);
    });
  });

  describe('mergeHandlers', () => {
    const event = { id: 'evt_1', type: 'payment_intent.succeeded' } as Stripe.Event;

    it('runs every handler of a type, in the order of the maps, and keeps the others', async () => {
      const calls: string[] = [];
      const record = (name: string): StripeEventHandler => async () => void calls.push(name);
      const merged = mergeHandlers({ 'payment_intent.succeeded': record('payments'), 'payout.paid': record('payout') }, { 'payment_intent.succeeded': record('memberships') });

      await merged['payment_intent.succeeded']!(event);

      expect(calls).toEqual(['payments', 'memberships']);
      expect(Object.keys(merged).sort()).toEqual(['payment_intent.succeeded', 'payout.paid']);
    });

    it('runs them one after the other, not concurrently', async () => {
      const calls: string[] = [];
      const slow: StripeEventHandler = async () => {
        calls.push('slow:start');
        await new Promise((resolve) => setTimeout(resolve, 10));
        calls.push('slow:end');
      };
      const merged = mergeHandlers({ t: slow }, { t: async () => void calls.push('fast') });

      await merged.t!(event);

      expect(calls).toEqual(['slow:start', 'slow:end', 'fast']);
    });

    it('throws the failure after running the other handlers, so Stripe retries', async () => {
      const second = vi.fn(async () => {});
      const merged = mergeHandlers({ t: async () => Promise.reject(new Error('ledger down')) }, { t: second });

      await expect(merged.t!(event)).rejects.toThrow('ledger down');
      expect(second).toHaveBeenCalledWith(event);
    });

    it('throws an AggregateError when several fail', async () => {
      const merged = mergeHandlers({ t: async () => Promise.reject(new Error('a')) }, { t: async () => Promise.reject(new Error('b')) });

      await expect(merged.t!(event)).rejects.toBeInstanceOf(AggregateError);
    });

    it('returns a single handler as it is', () => {
      const only: StripeEventHandler = async () => {};

      expect(mergeHandlers({ t: only }, {}).t).toBe(only);
    });
  });
});
