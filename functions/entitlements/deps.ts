import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLES } from '../../lib/tables.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { intFromEnv, requireEnv } from '../shared/env.ts';
import { ConfigurationError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
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

/** Stripe credentials: STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET directly (local), or from Secrets Manager (AWS). */
export interface StripeSecrets {
  secretKey: string;
  webhookSecret: string;
}

/**
 * Reads the Stripe secrets. With STRIPE_SECRETS_ARN (AWS) the secret is a JSON object
 * `{ "secretKey": "sk_...", "webhookSecret": "whsec_..." }` read through the AWS Parameters and
 * Secrets Lambda extension (a local HTTP endpoint, cached by the extension), so no Secrets Manager
 * SDK is bundled; otherwise STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are read from the environment.
 */
export async function stripeSecretsFromEnv(env: NodeJS.ProcessEnv = process.env, fetchImpl: typeof fetch = fetch): Promise<StripeSecrets> {
  const arn = env.STRIPE_SECRETS_ARN;
  if (!arn) return { secretKey: requireEnv('STRIPE_SECRET_KEY', env), webhookSecret: requireEnv('STRIPE_WEBHOOK_SECRET', env) };
  const port = env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
  const response = await fetchImpl(`http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(arn)}`, {
    headers: { 'X-Aws-Parameters-Secrets-Token': requireEnv('AWS_SESSION_TOKEN', env) },
  });
  if (!response.ok) throw new ConfigurationError(`could not read ${arn} through the secrets extension: HTTP ${response.status}`);
  const secret = JSON.parse(((await response.json()) as { SecretString?: string }).SecretString ?? '{}') as Partial<StripeSecrets>;
  if (!secret.secretKey || !secret.webhookSecret) throw new ConfigurationError(`secret ${arn} must hold {"secretKey": "sk_...", "webhookSecret": "whsec_..."}`);
  return { secretKey: secret.secretKey, webhookSecret: secret.webhookSecret };
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

/** Memoizes an async factory; a failed attempt is forgotten so the next invocation tries again. */
export function once<T>(build: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= build().catch((error) => {
      value = undefined;
      throw error;
    });
    return value;
  };
}
