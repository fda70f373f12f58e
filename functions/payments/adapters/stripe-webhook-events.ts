import type Stripe from 'stripe';
import type { ReaderApproval, ReaderRefusal } from '../domain/readers.ts';

const idOf = (ref: string | { id: string } | null | undefined) => (typeof ref === 'string' ? ref : ref?.id);
const createdAt = (event: Stripe.Event) => new Date(event.created * 1000).toISOString();

/** terminal.reader.action_succeeded as the reader flow reads it: the PaymentIntent of a process_payment_intent action. */
export function readerApprovalOf(event: Stripe.Event): ReaderApproval {
  const reader = event.data.object as Stripe.Terminal.Reader;
  const action = reader.action;
  const paymentIntentId = action?.type === 'process_payment_intent' ? idOf(action.process_payment_intent?.payment_intent) : undefined;
  return { readerId: reader.id, ...(paymentIntentId ? { paymentIntentId } : {}), occurredAt: createdAt(event) };
}

/** terminal.reader.action_failed as the reader flow reads it: the refused PaymentIntent, if any, and Stripe's failure. */
export function readerRefusalOf(event: Stripe.Event): ReaderRefusal {
  const reader = event.data.object as Stripe.Terminal.Reader;
  const action = reader.action;
  const paymentIntentId = idOf(action?.process_payment_intent?.payment_intent);
  return {
    eventId: event.id,
    readerId: reader.id,
    ...(paymentIntentId ? { paymentIntentId } : {}),
    ...(action?.failure_code ? { failureCode: action.failure_code } : {}),
    ...(action?.failure_message ? { failureMessage: action.failure_message } : {}),
    occurredAt: createdAt(event),
  };
}

/** The refund a refund.created / refund.updated / refund.failed event is about. */
export function refundIdOf(event: Stripe.Event): string {
  return (event.data.object as { id: string }).id;
}
