import Stripe from 'stripe';
import { SubscriptionSourceError } from '../domain/errors.ts';
import type { SubscriptionSnapshot } from '../domain/model.ts';
import type { SubscriptionSource } from '../domain/ports.ts';

const iso = (epochSeconds: number | null | undefined) => (typeof epochSeconds === 'number' ? new Date(epochSeconds * 1000).toISOString() : undefined);

/**
 * Maps a Stripe Subscription to what the membership decision reads. Since API version 2025-03-31
 * the billing period lives on the subscription items; older objects carried it on the subscription,
 * so both are read.
 */
export function toSnapshot(subscription: Stripe.Subscription): SubscriptionSnapshot {
  const items = subscription.items?.data ?? [];
  const legacy = subscription as unknown as { current_period_start?: number; current_period_end?: number };
  const starts = items.map((i) => i.current_period_start).filter((n): n is number => typeof n === 'number');
  const ends = items.map((i) => i.current_period_end).filter((n): n is number => typeof n === 'number');
  const start = iso(starts.length ? Math.min(...starts) : legacy.current_period_start);
  const end = iso(ends.length ? Math.min(...ends) : legacy.current_period_end);
  return {
    id: subscription.id,
    customerId: typeof subscription.customer === 'string' ? subscription.customer : subscription.customer.id,
    status: subscription.status,
    priceIds: items.map((i) => i.price?.id).filter((p): p is string => typeof p === 'string'),
    ...(start ? { currentPeriodStart: start } : {}),
    ...(end ? { currentPeriodEnd: end } : {}),
    collectionPaused: Boolean(subscription.pause_collection),
    createdAt: iso(subscription.created) ?? new Date(0).toISOString(),
  };
}

/** Subscriptions read through the official SDK: Stripe, Stripe's test mode, or a local Stripe-compatible server. */
export class StripeSubscriptionSource implements SubscriptionSource {
  constructor(private readonly stripe: Stripe) {}

  async retrieve(subscriptionId: string): Promise<SubscriptionSnapshot | undefined> {
    try {
      return toSnapshot(await this.stripe.subscriptions.retrieve(subscriptionId));
    } catch (error) {
      // Canceled subscriptions stay retrievable; only one Stripe never had (or purged) is missing.
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing') return undefined;
      throw new SubscriptionSourceError(`could not read subscription ${subscriptionId} from Stripe: ${(error as Error).message}`, { cause: error });
    }
  }

  async *list(): AsyncIterable<SubscriptionSnapshot> {
    try {
      // status=all: canceled and incomplete_expired ones too, or a lapse would never be seen.
      for await (const subscription of this.stripe.subscriptions.list({ status: 'all', limit: 100 })) yield toSnapshot(subscription);
    } catch (error) {
      throw new SubscriptionSourceError(`could not list subscriptions from Stripe: ${(error as Error).message}`, { cause: error });
    }
  }

  async listForCustomer(customerId: string): Promise<SubscriptionSnapshot[]> {
    const out: SubscriptionSnapshot[] = [];
    try {
      for await (const subscription of this.stripe.subscriptions.list({ customer: customerId, status: 'all', limit: 100 })) out.push(toSnapshot(subscription));
    } catch (error) {
      throw new SubscriptionSourceError(`could not list subscriptions of ${customerId} from Stripe: ${(error as Error).message}`, { cause: error });
    }
    return out;
  }
}

