import type Stripe from 'stripe';
import type { StripeEventHandler } from '../shared/stripe.ts';
import type { EventPort } from '../ocpp/domain/ports.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { readerApprovalOf, readerRefusalOf, refundIdOf } from './adapters/stripe-webhook-events.ts';
import type { PaymentDeps } from './deps.ts';
import { mergeHandlers, moneyEventHandlers } from './stripe-money-events.ts';

/**
 * The payment side of the Stripe webhook: reader actions (a card approved or refused at a charger's
 * reader), refunds kept in step on the session's payment, and the money facts for accounting
 * (PaymentCaptured, PaymentRefunded, DisputeOpened, PayoutPaid, ...).
 */
export function paymentEventHandlers(deps: { payment: Pick<PaymentDeps, 'readers' | 'refunds' | 'payments'>; stripe: Stripe; events: EventPort; clock: Clock; log: Log }): Record<string, StripeEventHandler> {
  const { readers, refunds, payments } = deps.payment;
  const own: Record<string, StripeEventHandler> = {
    'payment_intent.amount_capturable_updated': (event) => payments.onHoldUpdated((event.data.object as Stripe.PaymentIntent).id),
    'terminal.reader.action_succeeded': (event) => readers.onActionSucceeded(readerApprovalOf(event)),
    'terminal.reader.action_failed': (event) => readers.onActionFailed(readerRefusalOf(event)),
    'refund.created': (event) => refunds.onRefundEvent(refundIdOf(event)),
    'refund.updated': (event) => refunds.onRefundEvent(refundIdOf(event)),
    'refund.failed': (event) => refunds.onRefundEvent(refundIdOf(event)),
  };
  return mergeHandlers(own, moneyEventHandlers({ stripe: deps.stripe, events: deps.events, clock: deps.clock, log: deps.log }));
}
