import Stripe from 'stripe';
import { json, type HttpEvent, type HttpResult } from '../shared/http.ts';
import type { Clock } from '../shared/clock.ts';
import type { Log } from '../shared/log.ts';
import { invoiceSubscriptionId, type StripeEventHandler } from '../shared/stripe.ts';
import type { MembershipStore } from './domain/ports.ts';
import type { MembershipSync } from './membership-sync.ts';

/** Stripe's own default; events signed longer ago than this are refused as replays. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** Stripe retries a failed delivery for up to three days; remember event ids well beyond that. */
const DEDUPE_RETENTION_SECONDS = 30 * 24 * 3600;

export interface StripeWebhookDeps {
  /** The endpoint's signing secret (`whsec_...`). */
  secret: string;
  toleranceSeconds?: number;
  /** Handlers by event type; types without one are acknowledged and ignored. */
  handlers: Readonly<Record<string, StripeEventHandler>>;
  store: Pick<MembershipStore, 'webhookProcessed' | 'recordWebhook'>;
  clock: Clock;
  log: Log;
}

const header = (event: HttpEvent, name: string) => Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];

/**
 * The Stripe webhook endpoint, shaped as an API Gateway HTTP API (payload v2) handler:
 *
 * - verifies `Stripe-Signature` over the exact raw body (decoded from base64 when API Gateway
 *   encoded it) with the tolerance; a bad or stale signature is a 400 and nothing changes;
 * - a duplicate event id is a 200 without processing (the record is written only after the
 *   handler succeeded, so a failed attempt leaves nothing behind and Stripe's retry runs it);
 * - an unknown type is a 200 and ignored; a failed handler is a 500 so Stripe retries.
 *
 * Handlers re-read state from Stripe, so two concurrent deliveries of one event are harmless.
 */
export function createStripeWebhook(deps: StripeWebhookDeps) {
  const { secret, handlers, store, clock, log } = deps;
  const tolerance = deps.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;

  return async function handle(request: HttpEvent): Promise<HttpResult> {
    if (request.requestContext.http.method.toUpperCase() !== 'POST') return json(405, { error: 'MethodNotAllowed', message: 'POST only' });
    const signature = header(request, 'stripe-signature');
    if (!signature) return json(400, { error: 'BadSignature', message: 'Stripe-Signature header is missing' });
    // The signature covers the bytes Stripe sent; re-encoding a parsed body would break it.
    const raw = request.isBase64Encoded ? Buffer.from(request.body ?? '', 'base64') : (request.body ?? '');
    let event: Stripe.Event;
    try {
      event = Stripe.webhooks.constructEvent(raw, signature, secret, tolerance, undefined, clock.now().getTime());
    } catch (error) {
      log.warn('Stripe webhook refused: signature', { error: (error as Error).message });
      return json(400, { error: 'BadSignature', message: (error as Error).message });
    }

    const handler = Object.hasOwn(handlers, event.type) ? handlers[event.type] : undefined;
    if (!handler) return json(200, { received: true, ignored: true, type: event.type });
    if (await store.webhookProcessed(event.id)) return json(200, { received: true, duplicate: true, id: event.id });
    try {
      await handler(event);
    } catch (error) {
      log.error('Stripe webhook processing failed; Stripe will retry', { eventId: event.id, type: event.type, error: String(error) });
      return json(500, { error: 'ProcessingFailed', message: 'the event could not be processed; it will be retried' });
    }
    const now = clock.now();
    await store.recordWebhook(event.id, event.type, now.toISOString(), Math.floor(now.getTime() / 1000) + DEDUPE_RETENTION_SECONDS);
    log.info('Stripe webhook processed', { eventId: event.id, type: event.type });
    return json(200, { received: true, id: event.id });
  };
}

const customerOf = (customer: string | { id: string } | null | undefined) => (typeof customer === 'string' ? customer : customer?.id);

/**
 * The membership handlers: every subscription lifecycle event and the invoice outcomes refresh the
 * driver from Stripe. The event's own snapshot only says whom to refresh, never what is true.
 * Other issues add their handlers (payments) to the same map.
 */
export function membershipEventHandlers(sync: Pick<MembershipSync, 'syncFromEvent'>): Record<string, StripeEventHandler> {
  const fromSubscription: StripeEventHandler = async (event) => {
    const subscription = event.data.object as Stripe.Subscription;
    const customerId = customerOf(subscription.customer);
    if (customerId) await sync.syncFromEvent({ customerId, subscriptionId: subscription.id, eventId: event.id });
  };
  const fromInvoice: StripeEventHandler = async (event) => {
    const invoice = event.data.object as Stripe.Invoice;
    const customerId = customerOf(invoice.customer);
    const subscriptionId = invoiceSubscriptionId(invoice);
    if (customerId) await sync.syncFromEvent({ customerId, ...(subscriptionId ? { subscriptionId } : {}), eventId: event.id });
  };
  return {
    'customer.subscription.created': fromSubscription,
    'customer.subscription.updated': fromSubscription,
    'customer.subscription.deleted': fromSubscription,
    'customer.subscription.paused': fromSubscription,
    'customer.subscription.resumed': fromSubscription,
    'invoice.paid': fromInvoice,
    'invoice.payment_failed': fromInvoice,
  };
}
