import { composePayments } from '../payments/deps.ts';
import { mergeHandlers } from '../payments/stripe-money-events.ts';
import { paymentEventHandlers } from '../payments/webhook-handlers.ts';
import { perPlatform, type Platform } from '../shared/platform.ts';
import type { StripeEventHandler } from '../shared/stripe.ts';
import { composeMemberships } from './deps.ts';
import { createStripeWebhook, membershipEventHandlers } from './stripe-webhook.ts';

// The composition of the one Stripe webhook endpoint, which serves memberships and card payments'
// money events: apart from entitlements' deps.ts so that the functions composing memberships alone
// (the hourly resync) do not carry card payments.

/**
 * The Stripe webhook endpoint over a platform: membership events, and card payments' money events
 * when the platform takes card payments, plus the caller's handlers. The signing secret is the
 * platform's (read on first use) unless given; undefined when there is none (the endpoint answers
 * 503). Built once per platform.
 */
export const composeStripeWebhook = perPlatform(
  async (platform: Platform, overrides: { secret?: string; toleranceSeconds?: number; handlers?: Record<string, StripeEventHandler> } = {}) => {
    const stripe = platform.stripe;
    const secret = overrides.secret ?? (stripe ? await stripe.webhookSecret() : undefined);
    if (!secret) return undefined;
    const memberships = composeMemberships(platform);
    const payments = await composePayments(platform);
    const handlers = mergeHandlers(
      membershipEventHandlers(memberships.sync),
      payments && stripe ? paymentEventHandlers({ payment: payments, stripe: await stripe.client(), events: platform.events, clock: platform.clock, log: platform.log }) : {},
      overrides.handlers ?? {},
    );
    return createStripeWebhook({
      secret,
      ...(overrides.toleranceSeconds === undefined ? {} : { toleranceSeconds: overrides.toleranceSeconds }),
      handlers,
      store: memberships.store,
      clock: platform.clock,
      log: platform.log,
    });
  },
);
