import type Stripe from 'stripe';
import { buildEvent, type EventContract, type EventData, type OutgoingEvent } from '../../events/contract.ts';
import {
  DisputeClosed,
  DisputeOpened,
  InvoicePaid,
  PaymentCaptured,
  PaymentFailed,
  PaymentHoldReleased,
  PaymentPurpose,
  PaymentRefunded,
  PayoutFailed,
  PayoutPaid,
} from '../../events/payment-events.ts';
import { invoiceSubscriptionId, type StripeEventHandler } from '../shared/stripe.ts';
import type { EventPort } from '../ocpp/domain/ports.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { fromStripeAmount } from '../shared/money.ts';

// ---------------------------------------------------------------------------------------------
// Mapping: Stripe objects (as re-read from Stripe, expanded) to VoltLedger money facts. Pure: the
// same objects give the same events, ids, data and `occurredAt` (the fact's own time, never the
// clock), so a duplicate or out-of-order webhook republishes an identical event.
// ---------------------------------------------------------------------------------------------

type Ref<T> = string | T | null | undefined;

const idOf = (ref: Ref<{ id: string }>): string | undefined => (typeof ref === 'string' ? ref : (ref?.id ?? undefined));
const expanded = <T extends { id: string }>(ref: Ref<T>): T | undefined => (ref && typeof ref === 'object' ? ref : undefined);
const isoFromUnix = (seconds: number): string => new Date(seconds * 1000).toISOString();
/** Stripe writes `eur`; pricing, OCPI and the contracts write `EUR`. */
const currencyOf = (stripeCurrency: string): string => stripeCurrency.toUpperCase();
/**
 * A Stripe amount of an object in `stripeCurrency` as the product's minor units (ISO 4217; ISK
 * and UGX are hundredths at Stripe, MGA whole ariary): the contracts carry the product's units.
 */
const minorOf = (amount: number, stripeCurrency: string): number => fromStripeAmount(amount, stripeCurrency);

/** Drops undefined fields: contracts are strict objects whose optional fields are absent, not undefined. */
function defined<T extends Record<string, unknown>>(fields: T): T {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as T;
}

function fact<C extends EventContract>(contract: C, id: string, data: EventData<C>, at: string, correlationId?: string): OutgoingEvent<C> {
  return buildEvent(contract, defined(data as Record<string, unknown>) as EventData<C>, { id, occurredAt: new Date(at), correlationId: correlationId ?? id });
}

/**
 * What VoltLedger wrote on its PaymentIntent: `metadata.sessionId` and `metadata.purpose`
 * (`hold` | `top_up` | `off_session_charge`). Absent for payments VoltLedger did not make, and a
 * purpose outside the contract's list is left out rather than failing the webhook.
 */
export function paymentReference(metadata: Stripe.Metadata | null | undefined): { sessionId?: string; purpose?: PaymentPurpose } {
  const purpose = PaymentPurpose.safeParse(metadata?.purpose);
  return defined({ sessionId: metadata?.sessionId || undefined, purpose: purpose.success ? purpose.data : undefined });
}

/** Stripe's fee, net and availability of one balance movement; only the id when it was not expanded. */
export function balanceFacts(transaction: Ref<Stripe.BalanceTransaction>): {
  balanceTransactionId?: string;
  feeMinor?: number;
  netMinor?: number;
  availableOn?: string;
} {
  if (!transaction) return {};
  if (typeof transaction === 'string') return { balanceTransactionId: transaction };
  // In the balance transaction's own currency (the settlement currency), as Stripe states them.
  const minor = (amount: number) => minorOf(amount, transaction.currency);
  return { balanceTransactionId: transaction.id, feeMinor: minor(transaction.fee), netMinor: minor(transaction.net), availableOn: isoFromUnix(transaction.available_on) };
}

/** The card details of a charge, whichever kind (`card`, `card_present`). */
function cardDetails(charge: Stripe.Charge): { capture_before?: number } | undefined {
  const details = charge.payment_method_details as (Stripe.Charge.PaymentMethodDetails & Record<string, unknown>) | null;
  const own = details ? details[details.type] : undefined;
  return own && typeof own === 'object' ? (own as { capture_before?: number }) : undefined;
}

/**
 * A captured charge as `PaymentCaptured` (id `PaymentCaptured:<chargeId>`), or undefined when the
 * charge is not captured or belongs to no PaymentIntent. Expects `balance_transaction` expanded
 * (fee, net, available_on, and the capture time: the charge's `created` is its authorization) and
 * the PaymentIntent, passed or expanded, for the session metadata.
 *
 * `authorizedMinor` is the charge amount (after any incremental authorization), `releasedMinor`
 * what a partial capture gave back. Stripe also counts that release in `amount_refunded`, so it is
 * computed from `amount - amount_captured`, which refunds never change.
 */
export function toPaymentCaptured(charge: Stripe.Charge, intent?: Stripe.PaymentIntent): OutgoingEvent<typeof PaymentCaptured> | undefined {
  const paymentIntentId = idOf(charge.payment_intent) ?? intent?.id;
  if (!charge.captured || charge.status !== 'succeeded' || !paymentIntentId) return undefined;
  const pi = intent ?? expanded(charge.payment_intent);
  const reference = paymentReference(pi?.metadata ?? charge.metadata);
  const transaction = expanded(charge.balance_transaction);
  const capturedAt = isoFromUnix(transaction?.created ?? charge.created);
  return fact(
    PaymentCaptured,
    `PaymentCaptured:${charge.id}`,
    {
      ...reference,
      paymentIntentId,
      chargeId: charge.id,
      customerId: idOf(charge.customer),
      currency: currencyOf(charge.currency),
      authorizedMinor: minorOf(charge.amount, charge.currency),
      capturedMinor: minorOf(charge.amount_captured, charge.currency),
      releasedMinor: minorOf(charge.amount - charge.amount_captured, charge.currency),
      ...balanceFacts(charge.balance_transaction),
      capturedAt,
    },
    capturedAt,
    reference.sessionId,
  );
}

const EXPIRY_REASONS: ReadonlyArray<string> = ['automatic', 'expired'];

/**
 * A hold that ended without any capture as `PaymentHoldReleased` (id
 * `PaymentHoldReleased:<paymentIntentId>`), or undefined when it is no release: nothing was ever
 * authorized (a declined intent canceled), something was captured (a partial capture released the
 * rest, which `PaymentCaptured.releasedMinor` reports), or the hold is still in place.
 *
 * `expired` when Stripe let the authorization lapse: the intent canceled `automatic`ally, or the
 * charge released (`charge.expired`, `lapsed`) before the intent was canceled. An expiry is dated
 * at the charge's `capture_before`, a cancellation at the intent's `canceled_at`, so the
 * `charge.expired` and `payment_intent.canceled` webhooks of one expiry give the same event.
 */
export function toPaymentHoldReleased(
  intent: Stripe.PaymentIntent,
  charge: Stripe.Charge | undefined = expanded(intent.latest_charge),
  options: { lapsed?: boolean } = {},
): OutgoingEvent<typeof PaymentHoldReleased> | undefined {
  if (charge?.status !== 'succeeded') return undefined;
  if (charge.captured || intent.amount_received > 0) return undefined;
  const canceled = intent.status === 'canceled';
  if (!canceled && !options.lapsed && !charge.refunded) return undefined;
  const expired = canceled ? EXPIRY_REASONS.includes(intent.cancellation_reason ?? '') : true;
  const captureBefore = cardDetails(charge)?.capture_before;
  const releasedAt = isoFromUnix((expired ? (captureBefore ?? intent.canceled_at) : intent.canceled_at) ?? charge.created);
  const reference = paymentReference(intent.metadata);
  return fact(
    PaymentHoldReleased,
    `PaymentHoldReleased:${intent.id}`,
    {
      ...reference,
      paymentIntentId: intent.id,
      chargeId: charge.id,
      currency: currencyOf(charge.currency),
      amountMinor: minorOf(charge.amount, charge.currency),
      reason: expired ? 'expired' : 'canceled',
      releasedAt,
    },
    releasedAt,
    reference.sessionId ?? intent.id,
  );
}

/**
 * A failed authorization or charge attempt as `PaymentFailed` (id `PaymentFailed:<chargeId>`, or
 * `PaymentFailed:<paymentIntentId>` when no charge was made, e.g. failed 3-D Secure). `intent` is
 * the webhook's snapshot: its `last_payment_error` describes this attempt and is gone from Stripe
 * once the intent is retried. `charge` is the failed charge re-read from Stripe (its amount is the
 * attempted one even when the intent's amount changed since). `reportedAt`: the webhook's
 * `created`, the time when there is no charge.
 */
export function toPaymentFailed(intent: Stripe.PaymentIntent, charge: Stripe.Charge | undefined, reportedAt: number): OutgoingEvent<typeof PaymentFailed> {
  const error = intent.last_payment_error;
  const declinedByIssuer = charge?.outcome?.type === 'issuer_declined' ? (charge.outcome.reason ?? undefined) : undefined;
  const failedAt = isoFromUnix(charge?.created ?? reportedAt);
  const reference = paymentReference(intent.metadata);
  const id = `PaymentFailed:${charge?.id ?? intent.id}`;
  return fact(
    PaymentFailed,
    id,
    {
      ...reference,
      paymentIntentId: intent.id,
      chargeId: charge?.id,
      currency: currencyOf(charge?.currency ?? intent.currency),
      amountMinor: charge ? minorOf(charge.amount, charge.currency) : minorOf(intent.amount, intent.currency),
      code: error?.code ?? charge?.failure_code ?? undefined,
      declineCode: error?.decline_code ?? declinedByIssuer,
      message: error?.message ?? charge?.failure_message ?? 'The payment failed.',
      failedAt,
    },
    failedAt,
    reference.sessionId ?? intent.id,
  );
}

/**
 * A refund's money movements as `PaymentRefunded` events (id `PaymentRefunded:<refundId>:<status>`):
 * `succeeded` when it left the balance; a refund that failed later gives `succeeded` and `failed`
 * (the money returned), so the ledger balances whichever webhook arrives first. Pending, canceled
 * and action-required refunds give nothing yet: `refund.updated` follows when they settle.
 * Expects `balance_transaction`, `failure_balance_transaction` and `payment_intent` expanded.
 */
export function toPaymentRefunded(refund: Stripe.Refund, intent: Stripe.PaymentIntent | undefined = expanded(refund.payment_intent)): OutgoingEvent<typeof PaymentRefunded>[] {
  const chargeId = idOf(refund.charge);
  if (!chargeId || (refund.status !== 'succeeded' && refund.status !== 'failed')) return [];
  const reference = paymentReference(intent?.metadata);
  const base = {
    sessionId: reference.sessionId,
    refundId: refund.id,
    paymentIntentId: idOf(refund.payment_intent),
    chargeId,
    currency: currencyOf(refund.currency),
    amountMinor: minorOf(refund.amount, refund.currency),
    reason: refund.reason ?? undefined,
  };
  const movement = (status: 'succeeded' | 'failed', transaction: Ref<Stripe.BalanceTransaction>) => {
    const refundedAt = isoFromUnix(expanded(transaction)?.created ?? refund.created);
    return fact(PaymentRefunded, `PaymentRefunded:${refund.id}:${status}`, { ...base, status, ...balanceFacts(transaction), refundedAt }, refundedAt, reference.sessionId);
  };
  const events = [movement('succeeded', refund.balance_transaction)];
  if (refund.status === 'failed') events.push(movement('failed', refund.failure_balance_transaction));
  return events;
}

/** Withdrawals (negative) and reinstatements (positive) among a dispute's balance transactions. */
const withdrawals = (dispute: Stripe.Dispute) => dispute.balance_transactions.filter((t) => t.amount < 0);
const reinstatements = (dispute: Stripe.Dispute) => dispute.balance_transactions.filter((t) => t.amount > 0);
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/**
 * An opened dispute as `DisputeOpened` (id `DisputeOpened:<disputeId>`) once its funds were
 * withdrawn, or undefined before that (an inquiry withdraws nothing). Only the withdrawal
 * transactions count, so a late `charge.dispute.created` for a dispute already won gives the same
 * event. Expects `payment_intent` expanded for the session.
 */
export function toDisputeOpened(dispute: Stripe.Dispute): OutgoingEvent<typeof DisputeOpened> | undefined {
  const withdrawn = withdrawals(dispute);
  const chargeId = idOf(dispute.charge);
  if (withdrawn.length === 0 || !chargeId) return undefined;
  const reference = paymentReference(expanded(dispute.payment_intent)?.metadata);
  const openedAt = isoFromUnix(dispute.created);
  return fact(
    DisputeOpened,
    `DisputeOpened:${dispute.id}`,
    {
      sessionId: reference.sessionId,
      disputeId: dispute.id,
      chargeId,
      paymentIntentId: idOf(dispute.payment_intent),
      currency: currencyOf(dispute.currency),
      amountMinor: minorOf(dispute.amount, dispute.currency),
      feeMinor: sum(withdrawn.map((t) => minorOf(t.fee, t.currency))),
      reason: dispute.reason,
      balanceTransactionIds: withdrawn.map((t) => t.id),
      openedAt,
    },
    openedAt,
    reference.sessionId,
  );
}

const CLOSED_DISPUTE_STATUSES = ['won', 'lost', 'warning_closed'] as const;
type ClosedDisputeStatus = (typeof CLOSED_DISPUTE_STATUSES)[number];

/**
 * A closed dispute as `DisputeClosed` (id `DisputeClosed:<disputeId>`), or undefined while it is
 * open. `reinstatedMinor` sums the positive balance transactions (the amount, when won), `feeMinor`
 * the fees Stripe kept over all of them. Stripe's dispute has no closing time: a won dispute is
 * dated at its reinstatement, otherwise at `reportedAt` (the `charge.dispute.closed` webhook's
 * `created`, the only webhook a lost dispute sends).
 */
export function toDisputeClosed(dispute: Stripe.Dispute, reportedAt: number): OutgoingEvent<typeof DisputeClosed> | undefined {
  const status = CLOSED_DISPUTE_STATUSES.find((s) => s === dispute.status) as ClosedDisputeStatus | undefined;
  const chargeId = idOf(dispute.charge);
  if (!status || !chargeId) return undefined;
  const reinstated = reinstatements(dispute);
  const reference = paymentReference(expanded(dispute.payment_intent)?.metadata);
  const closedAt = isoFromUnix(reinstated.length > 0 ? Math.max(...reinstated.map((t) => t.created)) : reportedAt);
  return fact(
    DisputeClosed,
    `DisputeClosed:${dispute.id}`,
    {
      sessionId: reference.sessionId,
      disputeId: dispute.id,
      chargeId,
      paymentIntentId: idOf(dispute.payment_intent),
      currency: currencyOf(dispute.currency),
      amountMinor: minorOf(dispute.amount, dispute.currency),
      feeMinor: Math.max(0, sum(dispute.balance_transactions.map((t) => minorOf(t.fee, t.currency)))),
      status,
      reinstatedMinor: sum(reinstated.map((t) => minorOf(t.amount, t.currency))),
      balanceTransactionIds: dispute.balance_transactions.map((t) => t.id),
      closedAt,
    },
    closedAt,
    reference.sessionId,
  );
}

/**
 * A paid payout as `PayoutPaid` (id `PayoutPaid:<payoutId>`). A payout that failed after it was
 * paid still was paid: a late `payout.paid` publishes it, `PayoutFailed` returns the money. Stripe
 * gives no paid time, so `paidAt` is `reportedAt` (the `payout.paid` webhook's `created`).
 */
export function toPayoutPaid(payout: Stripe.Payout, reportedAt: number): OutgoingEvent<typeof PayoutPaid> | undefined {
  if (payout.status !== 'paid' && payout.status !== 'failed') return undefined;
  const paidAt = isoFromUnix(reportedAt);
  return fact(
    PayoutPaid,
    `PayoutPaid:${payout.id}`,
    {
      payoutId: payout.id,
      currency: currencyOf(payout.currency),
      amountMinor: minorOf(payout.amount, payout.currency),
      arrivalDate: isoFromUnix(payout.arrival_date),
      balanceTransactionId: idOf(payout.balance_transaction),
      paidAt,
    },
    paidAt,
  );
}

/** A failed payout as `PayoutFailed` (id `PayoutFailed:<payoutId>`), dated at the failure's balance transaction (expanded) or `reportedAt`. */
export function toPayoutFailed(payout: Stripe.Payout, reportedAt: number): OutgoingEvent<typeof PayoutFailed> | undefined {
  if (payout.status !== 'failed') return undefined;
  const failedAt = isoFromUnix(expanded(payout.failure_balance_transaction)?.created ?? reportedAt);
  return fact(
    PayoutFailed,
    `PayoutFailed:${payout.id}`,
    {
      payoutId: payout.id,
      currency: currencyOf(payout.currency),
      amountMinor: minorOf(payout.amount, payout.currency),
      failureCode: payout.failure_code ?? undefined,
      failureMessage: payout.failure_message ?? undefined,
      failedAt,
    },
    failedAt,
  );
}

/** The invoice metadata the fleet invoicer writes (functions/fleet/adapters/stripe-invoicer.ts). */
export const FLEET_STATEMENT_METADATA = { statementId: 'voltledger_statement_id', accountId: 'voltledger_account_id' } as const;

/**
 * A paid invoice as `InvoicePaid` (id `InvoicePaid:<invoiceId>`), or undefined while it is not
 * paid, or when it was marked paid out of band (no money went through Stripe, so there is nothing
 * in unallocated receipts to reclassify). `kind`: `fleet_statement` when the fleet invoicer's
 * metadata names a statement and its account, `membership` when it belongs to a subscription,
 * else `other`. `taxMinor` sums the invoice's `total_taxes` (0 when Stripe computed none; a fleet
 * statement carries its VAT as an item). Dated at `status_transitions.paid_at`.
 */
export function toInvoicePaid(invoice: Stripe.Invoice, reportedAt?: number): OutgoingEvent<typeof InvoicePaid> | undefined {
  const customerId = idOf(invoice.customer);
  const outOfBand = (invoice as unknown as { paid_out_of_band?: boolean }).paid_out_of_band === true;
  if (invoice.status !== 'paid' || !invoice.id || !customerId || outOfBand) return undefined;
  const statementId = invoice.metadata?.[FLEET_STATEMENT_METADATA.statementId] || undefined;
  const accountId = invoice.metadata?.[FLEET_STATEMENT_METADATA.accountId] || undefined;
  const subscriptionId = invoiceSubscriptionId(invoice);
  const kind = statementId && accountId ? 'fleet_statement' : subscriptionId ? 'membership' : 'other';
  const taxMinor = minorOf(Math.min(invoice.amount_paid, sum((invoice.total_taxes ?? []).map((t) => t.amount))), invoice.currency);
  const paidSeconds = invoice.status_transitions?.paid_at ?? reportedAt ?? invoice.created;
  const paidAt = isoFromUnix(paidSeconds);
  return fact(
    InvoicePaid,
    `InvoicePaid:${invoice.id}`,
    {
      invoiceId: invoice.id,
      customerId,
      currency: currencyOf(invoice.currency),
      amountPaidMinor: minorOf(invoice.amount_paid, invoice.currency),
      taxMinor,
      kind,
      subscriptionId,
      statementId: kind === 'fleet_statement' ? statementId : undefined,
      accountId: kind === 'fleet_statement' ? accountId : undefined,
      paidAt,
    },
    paidAt,
  );
}

// ---------------------------------------------------------------------------------------------
// Handlers: re-read the object from Stripe (the webhook snapshot only says which one), map, publish.
// ---------------------------------------------------------------------------------------------

export interface MoneyEventDeps {
  stripe: Stripe;
  events: EventPort;
  clock: Clock;
  log: Log;
}

const REFUND_EXPAND = ['balance_transaction', 'failure_balance_transaction', 'payment_intent'];

/**
 * The Stripe webhook handlers that turn money movements into VoltLedger events for accounting
 * (merge them into `createStripeWebhook`'s `handlers`, with {@link mergeHandlers} where another map
 * handles the same type):
 *
 * | Stripe event | Event (id) |
 * | --- | --- |
 * | `charge.captured`, `payment_intent.succeeded` | `PaymentCaptured:<chargeId>` |
 * | `payment_intent.canceled`, `charge.expired` | `PaymentHoldReleased:<paymentIntentId>` |
 * | `payment_intent.payment_failed` | `PaymentFailed:<chargeId or paymentIntentId>` |
 * | `charge.refunded`, `refund.created/updated/failed` | `PaymentRefunded:<refundId>:<succeeded or failed>` |
 * | `charge.dispute.created/funds_withdrawn` | `DisputeOpened:<disputeId>` |
 * | `charge.dispute.closed/funds_reinstated` | `DisputeClosed:<disputeId>` |
 * | `payout.paid` | `PayoutPaid:<payoutId>` |
 * | `payout.failed` | `PayoutFailed:<payoutId>` |
 * | `invoice.paid` | `InvoicePaid:<invoiceId>` (merged with the membership handler of the same type) |
 *
 * Two webhooks for one fact (a capture's `charge.captured` and `payment_intent.succeeded`) publish
 * the same event id and data; consumers dedupe on the id. A failure to read Stripe or to publish
 * throws, so the endpoint answers 500 and Stripe retries.
 */
export function moneyEventHandlers(deps: MoneyEventDeps): Record<string, StripeEventHandler> {
  const { stripe, events, log } = deps;

  const publish = async (event: Stripe.Event, outgoing: Array<OutgoingEvent | undefined>) => {
    const ready = outgoing.filter((e): e is OutgoingEvent => e !== undefined);
    if (ready.length === 0) {
      log.debug('Stripe event gives no money fact', { eventId: event.id, type: event.type });
      return;
    }
    await events.publish(ready);
    log.info('Stripe money facts published', { eventId: event.id, type: event.type, ids: ready.map((e) => e.detail.metadata.id) });
  };
  const objectId = (event: Stripe.Event) => (event.data.object as { id: string }).id;

  const captured: StripeEventHandler = async (event) => {
    const charge = await stripe.charges.retrieve(objectId(event), { expand: ['balance_transaction', 'payment_intent'] });
    await publish(event, [toPaymentCaptured(charge)]);
  };
  const intentSucceeded: StripeEventHandler = async (event) => {
    const intent = await stripe.paymentIntents.retrieve(objectId(event), { expand: ['latest_charge.balance_transaction'] });
    const charge = expanded(intent.latest_charge);
    await publish(event, [charge ? toPaymentCaptured(charge, intent) : undefined]);
  };
  const intentCanceled: StripeEventHandler = async (event) => {
    const intent = await stripe.paymentIntents.retrieve(objectId(event), { expand: ['latest_charge'] });
    await publish(event, [toPaymentHoldReleased(intent)]);
  };
  const chargeExpired: StripeEventHandler = async (event) => {
    const charge = await stripe.charges.retrieve(objectId(event), { expand: ['payment_intent'] });
    const intent = expanded(charge.payment_intent);
    await publish(event, [intent ? toPaymentHoldReleased(intent, charge, { lapsed: true }) : undefined]);
  };
  const intentFailed: StripeEventHandler = async (event) => {
    const snapshot = event.data.object as Stripe.PaymentIntent;
    const chargeId = snapshot.last_payment_error?.charge;
    const charge = chargeId ? await stripe.charges.retrieve(chargeId) : undefined;
    await publish(event, [toPaymentFailed(snapshot, charge?.status === 'failed' ? charge : undefined, event.created)]);
  };
  const chargeRefunded: StripeEventHandler = async (event) => {
    const refunds: OutgoingEvent[] = [];
    // A released hold also reports `charge.refunded`, without Refund objects: nothing to publish.
    for await (const refund of stripe.refunds.list({ charge: objectId(event), limit: 100, expand: REFUND_EXPAND.map((path) => `data.${path}`) })) {
      refunds.push(...toPaymentRefunded(refund));
    }
    await publish(event, refunds);
  };
  const refundChanged: StripeEventHandler = async (event) => {
    const refund = await stripe.refunds.retrieve(objectId(event), { expand: REFUND_EXPAND });
    await publish(event, toPaymentRefunded(refund));
  };
  const disputeOpened: StripeEventHandler = async (event) => {
    const dispute = await stripe.disputes.retrieve(objectId(event), { expand: ['payment_intent'] });
    await publish(event, [toDisputeOpened(dispute)]);
  };
  const disputeClosed: StripeEventHandler = async (event) => {
    const dispute = await stripe.disputes.retrieve(objectId(event), { expand: ['payment_intent'] });
    await publish(event, [toDisputeClosed(dispute, event.created)]);
  };
  const payoutPaid: StripeEventHandler = async (event) => {
    const payout = await stripe.payouts.retrieve(objectId(event));
    await publish(event, [toPayoutPaid(payout, event.created)]);
  };
  const invoicePaid: StripeEventHandler = async (event) => {
    const invoice = await stripe.invoices.retrieve(objectId(event));
    await publish(event, [toInvoicePaid(invoice, event.created)]);
  };
  const payoutFailed: StripeEventHandler = async (event) => {
    const payout = await stripe.payouts.retrieve(objectId(event), { expand: ['failure_balance_transaction'] });
    await publish(event, [toPayoutFailed(payout, event.created)]);
  };

  return {
    'charge.captured': captured,
    'payment_intent.succeeded': intentSucceeded,
    'payment_intent.canceled': intentCanceled,
    'charge.expired': chargeExpired,
    'payment_intent.payment_failed': intentFailed,
    'charge.refunded': chargeRefunded,
    'refund.created': refundChanged,
    'refund.updated': refundChanged,
    'refund.failed': refundChanged,
    'charge.dispute.created': disputeOpened,
    'charge.dispute.funds_withdrawn': disputeOpened,
    'charge.dispute.closed': disputeClosed,
    'charge.dispute.funds_reinstated': disputeClosed,
    'payout.paid': payoutPaid,
    'payout.failed': payoutFailed,
    'invoice.paid': invoicePaid,
  };
}

/**
 * Combines handler maps; where several handle one event type, each runs, one after the other in
 * the order given. Every handler runs even when an earlier one failed (one context's failure does
 * not starve another's), then the first failure is thrown, or an AggregateError for several, so
 * the endpoint answers 500 and Stripe retries the event (handlers are idempotent).
 *
 * @example
 * createStripeWebhook({ handlers: mergeHandlers(membershipEventHandlers(sync), moneyEventHandlers(deps)), ... })
 */
export function mergeHandlers(...maps: ReadonlyArray<Readonly<Record<string, StripeEventHandler>>>): Record<string, StripeEventHandler> {
  const byType = new Map<string, StripeEventHandler[]>();
  for (const map of maps) {
    for (const [type, handler] of Object.entries(map)) byType.set(type, [...(byType.get(type) ?? []), handler]);
  }
  const merged: Record<string, StripeEventHandler> = {};
  for (const [type, handlers] of byType) {
    merged[type] =
      handlers.length === 1
        ? handlers[0]!
        : async (event) => {
            const errors: unknown[] = [];
            for (const handler of handlers) {
              try {
                await handler(event);
              } catch (error) {
                errors.push(error);
              }
            }
            if (errors.length === 1) throw errors[0];
            if (errors.length > 1) throw new AggregateError(errors, `${errors.length} handlers failed for ${type}`);
          };
  }
  return merged;
}
