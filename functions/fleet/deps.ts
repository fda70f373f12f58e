import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import type { TableNames } from '../../lib/tables.ts';
import { DynamoMembershipStore } from '../entitlements/adapters/dynamo-memberships.ts';
import type { EventPort } from '../ocpp/domain/ports.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { DynamoFleetStore } from './adapters/dynamo-fleet.ts';
import { StripeFleetInvoicer } from './adapters/stripe-invoicer.ts';
import { createFleetBilling } from './fleet-billing.ts';

/** An EventPort for functions that must not publish (the fleet consumer has no PutEvents grant). */
export const NO_EVENTS: EventPort = { publish: () => Promise.reject(new Error('this function publishes no events')) };

/** Fleet billing over the Fleet and Entitlements tables, Stripe invoicing when a client is given. */
export function buildFleetBilling(input: { dynamo: DynamoDBClient; tables: Pick<TableNames, 'Fleet' | 'Entitlements'>; stripe?: Stripe | (() => Promise<Stripe>); events: EventPort; clock: Clock; log: Log }) {
  const { stripe } = input;
  const invoicer =
    stripe === undefined
      ? undefined
      : typeof stripe === 'function'
        ? { invoice: async (args: Parameters<StripeFleetInvoicer['invoice']>[0]) => new StripeFleetInvoicer(await stripe(), input.clock).invoice(args) }
        : new StripeFleetInvoicer(stripe, input.clock);
  return createFleetBilling({
    store: new DynamoFleetStore(input.dynamo, input.tables.Fleet),
    accounts: new DynamoMembershipStore(input.dynamo, input.tables.Entitlements),
    ...(invoicer ? { invoicer } : {}),
    events: input.events,
    clock: input.clock,
    log: input.log,
  });
}
