import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLES } from '../../lib/tables.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { intFromEnv, requireEnv } from '../shared/env.ts';
import { ConfigurationError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { stripeSecretsFromEnv } from '../shared/stripe.ts';
import { DynamoMembershipStore } from './adapters/dynamo-memberships.ts';
import { StripeSubscriptionSource, stripeFromEnv } from './adapters/stripe-subscriptions.ts';
import { parseGrantingStatuses } from './domain/membership.ts';
import { DEFAULT_MEMBERSHIP_POLICY, SUBSCRIPTION_STATUSES, type MembershipPolicy } from './domain/model.ts';
import type { SubscriptionSource } from './domain/ports.ts';
import { createMembershipSync } from './membership-sync.ts';


/**
 * The membership policy from MEMBER_GRANTING_STATUSES (default `trialing,active`) and
 * PAST_DUE_GRACE_HOURS (default 0). Fails naming the variable on a status Stripe does not have.
 */
export function membershipPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): MembershipPolicy {
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

/** The Lambda functions' membership dependencies: ENTITLEMENTS_TABLE, the Stripe secrets, the policy. */
export async function membershipDepsFromEnv(log: Log, env: NodeJS.ProcessEnv = process.env) {
  const secrets = await stripeSecretsFromEnv(env);
  const deps = buildMembershipDeps({
    dynamo: new DynamoDBClient({}),
    entitlementsTable: requireEnv(TABLES.Entitlements.envVar, env),
    subscriptions: new StripeSubscriptionSource(stripeFromEnv(env, secrets.secretKey)),
    policy: membershipPolicyFromEnv(env),
    log,
  });
  return { ...deps, secrets };
}
