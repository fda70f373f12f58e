import type Stripe from 'stripe';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableNames } from '../../lib/tables.ts';
import { DynamoMembershipStore } from '../entitlements/adapters/dynamo-memberships.ts';
import { stripeFromEnv } from '../entitlements/adapters/stripe-subscriptions.ts';
import { stripeSecretsFromEnv } from '../shared/stripe.ts';
import { createCentralSystem, type CentralSystem } from '../ocpp/central-system.ts';
import { ocppDepsFromEnv, tableNamesFromEnv, type OcppStores } from '../ocpp/deps.ts';
import type { EventPort } from '../ocpp/domain/ports.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { DynamoPaymentStore } from './adapters/dynamo-payments.ts';
import { StripePaymentGateway } from './adapters/stripe-gateway.ts';
import { createPayments } from './payments.ts';
import { createReaders } from './readers.ts';
import { createRefunds } from './refunds.ts';
import { commandPathStopper } from './session-commands.ts';

/**
 * Everything card payments need, from explicit clients: the same wiring serves the Lambda
 * functions (payments consumer, Stripe webhook, admin API, sweep) and the local stack.
 */
export function buildPaymentDeps(input: {
  dynamo: DynamoDBClient;
  tables: TableNames;
  stores: OcppStores;
  stripe: Stripe;
  system: Pick<CentralSystem, 'sendCommand'>;
  events: EventPort;
  clock: Clock;
  log: Log;
}) {
  const store = new DynamoPaymentStore(input.dynamo, input.tables.Payments);
  const gateway = new StripePaymentGateway(input.stripe, input.clock);
  const stopper = commandPathStopper(input.system);
  // The memberships' store as payments' DriverReader (domain/ports.ts): this composition root is the
  // one place payments names another context's adapters (the OCPP stores arrive as `stores`).
  const drivers = new DynamoMembershipStore(input.dynamo, input.tables.Entitlements);
  const payments = createPayments({
    store,
    gateway,
    stopper,
    sessions: input.stores.sessions,
    registry: input.stores.registry,
    tariffs: input.stores.tariffs,
    entitlements: input.stores.entitlements,
    drivers,
    events: input.events,
    clock: input.clock,
    log: input.log,
    // A reader's session is paid: the reader is ready for the next driver.
    afterSettled: async (payment) => {
      if (payment.channel === 'reader' && payment.readerId) await readers.rearm(payment.readerId, `after-session:${payment.sessionId}`);
    },
  });
  const readers = createReaders({
    store,
    gateway,
    stopper,
    payments,
    registry: input.stores.registry,
    tariffs: input.stores.tariffs,
    entitlements: input.stores.entitlements,
    clock: input.clock,
    log: input.log,
  });
  const refunds = createRefunds({ store, gateway, clock: input.clock, log: input.log });
  return { store, gateway, payments, readers, refunds };
}

export type PaymentDeps = ReturnType<typeof buildPaymentDeps>;

/**
 * The Lambda functions' payment dependencies: the tables and bus of ocppDepsFromEnv (including the
 * @connections endpoint, for RemoteStop/RemoteStart), and Stripe from the secrets (STRIPE_SECRETS_ARN
 * through the secrets extension, or STRIPE_SECRET_KEY locally). Call inside an invocation.
 */
export async function paymentDepsFromEnv(log: Log, env: NodeJS.ProcessEnv = process.env) {
  const ocpp = ocppDepsFromEnv(env, log);
  const system = createCentralSystem(ocpp);
  const secrets = await stripeSecretsFromEnv(env);
  const stripe = stripeFromEnv(env, secrets.secretKey);
  const payment = buildPaymentDeps({ dynamo: new DynamoDBClient({}), tables: tableNamesFromEnv(env), stores: ocpp.stores, stripe, system, events: ocpp.events, clock: systemClock, log });
  return { ocpp, system, stripe, secrets, payment };
}
