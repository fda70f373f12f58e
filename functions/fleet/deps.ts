import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import type { TableNames } from '../../lib/tables.ts';
import type { EventPort } from '../ocpp/domain/ports.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { perPlatform, type Platform } from '../shared/platform.ts';
import { DynamoFleetAccounts } from './adapters/dynamo-fleet-accounts.ts';
import { DynamoFleetStore } from './adapters/dynamo-fleet.ts';
import { StripeFleetInvoicer } from './adapters/stripe-invoicer.ts';
import type { FleetAccountStore } from './domain/ports.ts';
import { createFleetBilling } from './fleet-billing.ts';
import { createStatementRun } from './statement-run.ts';

/** An EventPort for callers that must not publish (the CLI's read-only fleet commands). */
export const NO_EVENTS: EventPort = { publish: () => Promise.reject(new Error('this function publishes no events')) };

/** Fleet accounts in the Entitlements table (fleet's own adapter; the admin API and the statement run use it too). */
export function buildFleetAccounts(dynamo: DynamoDBClient, tables: Pick<TableNames, 'Entitlements'>): FleetAccountStore {
  return new DynamoFleetAccounts(dynamo, tables.Entitlements);
}

/** Fleet billing over the Fleet and Entitlements tables, Stripe invoicing when a client is given; `accounts` for the account routes. */
export function buildFleetBilling(input: { dynamo: DynamoDBClient; tables: Pick<TableNames, 'Fleet' | 'Entitlements'>; stripe?: Stripe | (() => Promise<Stripe>); events: EventPort; clock: Clock; log: Log }) {
  const { stripe } = input;
  const invoicer =
    stripe === undefined
      ? undefined
      : typeof stripe === 'function'
        ? { invoice: async (args: Parameters<StripeFleetInvoicer['invoice']>[0]) => new StripeFleetInvoicer(await stripe(), input.clock).invoice(args) }
        : new StripeFleetInvoicer(stripe, input.clock);
  const accounts = buildFleetAccounts(input.dynamo, input.tables);
  const billing = createFleetBilling({
    store: new DynamoFleetStore(input.dynamo, input.tables.Fleet),
    accounts,
    ...(invoicer ? { invoicer } : {}),
    events: input.events,
    clock: input.clock,
    log: input.log,
  });
  return { ...billing, accounts };
}

/**
 * The fleet context's composition root over a platform: billing and the account store, invoicing
 * through the platform's Stripe (on first issue) when it has one. Built once per platform.
 */
export const composeFleet = perPlatform((platform: Platform) => {
  const stripe = platform.stripe;
  return buildFleetBilling({
    dynamo: platform.dynamo,
    tables: platform.tables,
    ...(stripe ? { stripe: () => stripe.client() } : {}),
    events: platform.events,
    clock: platform.clock,
    log: platform.log,
  });
});

/** The monthly statement run over a platform's fleet composition. */
export const composeStatementRun = perPlatform((platform: Platform) => {
  const fleet = composeFleet(platform);
  return createStatementRun({ billing: fleet, accounts: fleet.accounts, clock: platform.clock, log: platform.log });
});
