import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { systemClock } from '../shared/clock.ts';
import { log, logger } from '../shared/logger.ts';
import { createCentralSystem } from '../ocpp/central-system.ts';
import { ocppDepsFromEnv, tableNamesFromEnv } from '../ocpp/deps.ts';
import { buildFleetBilling } from '../fleet/deps.ts';
import { buildRoaming } from '../roaming/deps.ts';
import { createAdminApi } from './api.ts';
import type { HttpEvent } from '../shared/http.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { requireEnv } from '../shared/env.ts';
import { buildMembershipDeps, membershipPolicyFromEnv } from '../entitlements/deps.ts';
import { stripeSecretsFromEnv } from '../shared/stripe.ts';
import { once } from '../shared/once.ts';
import { paymentDepsFromEnv } from '../payments/deps.ts';
import { StripeSubscriptionSource, stripeFromEnv } from '../entitlements/adapters/stripe-subscriptions.ts';
import { lazySubscriptionSource } from '../entitlements/domain/lazy-source.ts';
import { accountingDepsFromEnv } from '../accounting/handlers.ts';

const deps = ocppDepsFromEnv();
// Stripe is read only when a driver is saved or a resync is asked for; the secrets on first use.
const stripeConfigured = Boolean(process.env.STRIPE_SECRETS_ARN || process.env.STRIPE_SECRET_KEY);
const memberships = buildMembershipDeps({
  dynamo: new DynamoDBClient({}),
  entitlementsTable: requireEnv('ENTITLEMENTS_TABLE'),
  subscriptions: lazySubscriptionSource(async () => new StripeSubscriptionSource(stripeFromEnv(process.env, (await stripeSecretsFromEnv()).secretKey))),
  policy: membershipPolicyFromEnv(),
  log,
});
const dynamo = new DynamoDBClient({});
const tables = tableNamesFromEnv();
// Fleet statements invoice through Stripe (the secret is read on the first issue) and announce FleetStatementIssued.
const fleet = buildFleetBilling({
  dynamo,
  tables,
  stripe: async () => stripeFromEnv(process.env, (await stripeSecretsFromEnv()).secretKey),
  events: deps.events,
  clock: systemClock,
  log,
});
const roaming = buildRoaming({ dynamo, tables, events: deps.events, clock: systemClock, log });
// Card payment routes need the Stripe key: built on the first invocation (the secrets extension
// only answers inside one) and kept warm.
const api = once(async () =>
  createAdminApi({
    stores: deps.stores,
    system: createCentralSystem(deps),
    clock: systemClock,
    log,
    // On AWS the HTTP API's IAM authorizer guards every route; a token is only for the local stack.
    adminToken: process.env.ADMIN_TOKEN || undefined,
    memberships: { ...memberships, stripeConfigured },
    ...(stripeConfigured ? { payments: (await paymentDepsFromEnv(log)).payment } : {}),
    fleet,
    roaming,
    // Stripe (reconciliation) and the accounting webhook (replay) are read on first use.
    accounting: accountingDepsFromEnv(stripeConfigured ? { stripe: async () => stripeFromEnv(process.env, (await stripeSecretsFromEnv()).secretKey) } : {}),
  }),
);

/** Lambda behind the admin HTTP API (IAM auth). */
export const handler = middy(async (event: HttpEvent) => (await api())(event)).use(injectLambdaContext(logger));
