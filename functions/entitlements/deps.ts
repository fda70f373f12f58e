import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import { systemClock, type Clock } from '../shared/clock.ts';
import { type Env, intFromEnv } from '../shared/env.ts';
import { ConfigurationError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { perPlatform, type Platform } from '../shared/platform.ts';
import { DynamoMembershipStore } from './adapters/dynamo-memberships.ts';
import { StripeSubscriptionSource } from './adapters/stripe-subscriptions.ts';
import { lazySubscriptionSource } from './domain/lazy-source.ts';
import { parseGrantingStatuses } from './domain/membership.ts';
import { DEFAULT_MEMBERSHIP_POLICY, SUBSCRIPTION_STATUSES, type MembershipPolicy } from './domain/model.ts';
import type { SubscriptionSource } from './domain/ports.ts';
import { createMembershipSync } from './membership-sync.ts';


/**
 * The membership policy from MEMBER_GRANTING_STATUSES (default `trialing,active`) and
 * PAST_DUE_GRACE_HOURS (default 0). Fails naming the variable on a status Stripe does not have.
 */
export function membershipPolicyFromEnv(env: Env = process.env): MembershipPolicy {
  const raw = env.MEMBER_GRANTING_STATUSES;
  let statuses = DEFAULT_MEMBERSHIP_POLICY.grantingStatuses;
  if (raw !== undefined && raw.trim() !== '') {
    const parsed = parseGrantingStatuses(raw, SUBSCRIPTION_STATUSES);
    if (parsed.unknown.length) {
      throw new ConfigurationError(`MEMBER_GRANTING_STATUSES names unknown Stripe statuses: ${parsed.unknown.join(', ')} (known: ${SUBSCRIPTION_STATUSES.join(', ')})`);
    }
    statuses = parsed.statuses;
  }
  const pastDueGraceHours = intFromEnv('PAST_DUE_GRACE_HOURS', 0, env);
  if (pastDueGraceHours < 0) throw new ConfigurationError('PAST_DUE_GRACE_HOURS must be 0 or more');
  return { grantingStatuses: statuses, pastDueGraceHours };
}

/** The membership store and sync from explicit clients (local stack, tests, CLI). */
export function buildMembershipDeps(input: {
  dynamo: DynamoDBClient;
  entitlementsTable: string;
  subscriptions: SubscriptionSource;
  policy?: MembershipPolicy;
  clock?: Clock;
  log: Log;
}) {
  const store = new DynamoMembershipStore(input.dynamo, input.entitlementsTable);
  const sync = createMembershipSync({
    store,
    subscriptions: input.subscriptions,
    policy: input.policy ?? DEFAULT_MEMBERSHIP_POLICY,
    clock: input.clock ?? systemClock,
    log: input.log,
  });
  return { store, sync };
}

/** Subscriptions read from Stripe through the SDK client `client` resolves (asked for on first use). */
export function stripeSubscriptions(client: () => Promise<Stripe>): SubscriptionSource {
  return lazySubscriptionSource(async () => new StripeSubscriptionSource(await client()));
}

/** Where subscriptions are read when the platform has no Stripe: every read fails, saying so. */
const NO_STRIPE: SubscriptionSource = {
  retrieve: () => Promise.reject(new ConfigurationError('no Stripe configured (STRIPE_SECRETS_ARN or STRIPE_SECRET_KEY)')),
  listForCustomer: () => Promise.reject(new ConfigurationError('no Stripe configured (STRIPE_SECRETS_ARN or STRIPE_SECRET_KEY)')),
  list: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new ConfigurationError('no Stripe configured (STRIPE_SECRETS_ARN or STRIPE_SECRET_KEY)')) }) }),
};

/**
 * The entitlements context's composition root over a platform: the membership store and sync,
 * subscriptions read from the platform's Stripe (on first use) unless the caller gives a source,
 * the policy from MEMBER_GRANTING_STATUSES / PAST_DUE_GRACE_HOURS unless given. Built once per platform.
 */
export const composeMemberships = perPlatform((platform: Platform, overrides: { subscriptions?: SubscriptionSource; policy?: MembershipPolicy } = {}) => {
  const stripe = platform.stripe;
  const subscriptions = overrides.subscriptions ?? (stripe ? stripeSubscriptions(() => stripe.client()) : NO_STRIPE);
  return buildMembershipDeps({
    dynamo: platform.dynamo,
    entitlementsTable: platform.tables.Entitlements,
    subscriptions,
    policy: overrides.policy ?? membershipPolicyFromEnv(platform.env),
    clock: platform.clock,
    log: platform.log,
  });
});
