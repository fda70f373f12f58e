import Stripe from 'stripe';
import { stripeEvent } from '../../lib/local/stripe-webhook-client.ts';

// The Stripe side of the membership webhooks lives beside the local stack (the benchmarks use it
// too); tests read it under their usual names.
export {
  InMemorySubscriptions,
  LOCAL_WEBHOOK_SECRET as WEBHOOK_SECRET,
  postWebhook,
  signWebhook as sign,
  stripeEvent,
  subscriptionEvent,
} from '../../lib/local/stripe-webhook-client.ts';

/** An invoice event body in the 2025-03-31+ shape (`parent.subscription_details.subscription`). */
export const invoiceEvent = (type: string, invoice: { id?: string; customer: string; subscription: string }, id?: string) =>
  stripeEvent(
    type,
    {
      object: 'invoice',
      id: invoice.id ?? `in_${Math.random().toString(36).slice(2, 10)}`,
      customer: invoice.customer,
      parent: { type: 'subscription_details', subscription_details: { subscription: invoice.subscription, metadata: {} }, quote_details: null },
    },
    id,
  );

/** The StripeError a call is refused with (a call that succeeds fails the test). */
export async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error;
    throw error;
  }
  throw new Error('expected the Stripe call to fail');
}
