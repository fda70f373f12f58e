import type Stripe from 'stripe';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TableNames } from '../../lib/tables.ts';
import type { CentralSystem } from '../ocpp/central-system.ts';
import { composeOcpp, type OcppStores } from '../ocpp/deps.ts';
import type { EventPort } from '../ocpp/domain/ports.ts';
import type { Clock } from '../shared/clock.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { perPlatform, type Platform } from '../shared/platform.ts';
import type { Log } from '../shared/log.ts';
import { DynamoDriverReader } from './adapters/dynamo-drivers.ts';
import { DynamoPaymentStore } from './adapters/dynamo-payments.ts';
import { StripePaymentGateway } from './adapters/stripe-gateway.ts';
import { pricingCostEstimator, pricingTariffParser } from './adapters/pricing-rules.ts';
import { createPayments } from './domain/card-payments.ts';
import { createReaders } from './domain/readers.ts';
import { createRefunds } from './domain/refunds.ts';
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
  // Payments' DriverReader (domain/ports.ts) over the driver records entitlements keeps in the Entitlements table.
  const drivers = new DynamoDriverReader(input.dynamo, input.tables.Entitlements);
  const payments = createPayments({
    store,
    gateway,
    stopper,
    sessions: input.stores.sessions,
    registry: input.stores.registry,
    tariffs: input.stores.tariffs,
    tariffParser: pricingTariffParser,
    costs: pricingCostEstimator,
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
    tariffParser: pricingTariffParser,
    entitlements: input.stores.entitlements,
    clock: input.clock,
    log: input.log,
  });
  const refunds = createRefunds({ store, gateway, clock: input.clock, log: input.log });
  return { store, gateway, payments, readers, refunds };
}

export type PaymentDeps = ReturnType<typeof buildPaymentDeps>;

/**
 * The payments context's composition root over a platform: undefined when the platform has no
 * Stripe (card payments off). The OCPP context's stores and central system come from its own root
 * (composeOcpp), for the session reads and the remote stop. Built once per platform.
 */
export const composePayments = perPlatform(async (platform: Platform): Promise<PaymentDeps | undefined> => {
  const stripe = platform.stripe;
  if (!stripe) return undefined;
  const ocpp = composeOcpp(platform);
  return buildPaymentDeps({
    dynamo: platform.dynamo,
    tables: platform.tables,
    stores: ocpp.stores,
    stripe: await stripe.client(),
    system: ocpp.system,
    events: platform.events,
    clock: platform.clock,
    log: platform.log,
  });
});

/** The payments composition, or a ConfigurationError naming what is missing (a function that takes card payments needs Stripe). */
export async function requirePayments(platform: Platform): Promise<PaymentDeps> {
  const payments = await composePayments(platform);
  if (!payments) throw new ConfigurationError('card payments need Stripe: STRIPE_SECRETS_ARN or STRIPE_SECRET_KEY');
  return payments;
}
