import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import Stripe from 'stripe';
import { VoltLedgerError } from '../../../functions/shared/errors.ts';
import { systemClock, type Clock } from '../../../functions/shared/clock.ts';
import { silentLog, type Log } from '../../../functions/shared/log.ts';
import { StripeEngine, type EngineOptions, type RequestContext, type SubscriptionStatus } from './engine.ts';
import { StripeApiError, invalidParam } from './errors.ts';
import { invoicingRoutes } from './invoicing.ts';
import { parseForm, type FormObject } from './form.ts';
import { loadState, saveState, type StripeObject } from './state.ts';
import { StripeTerminal, type ReaderStatus } from './terminal.ts';
import { WebhookDispatcher, type DeliveryAttempt, type DeliveryChaos, type WebhookEndpoint } from './webhooks.ts';

export { TEST_CARDS, CARD_PRESENT_TEST_CARDS, type TestCard, type SubscriptionStatus } from './engine.ts';
export { MINIMUM_AMOUNTS } from './currencies.ts';
export type { ReaderStatus } from './terminal.ts';
export { StripeApiError } from './errors.ts';
export { signatureHeader, type DeliveryAttempt, type DeliveryChaos, type WebhookEndpoint } from './webhooks.ts';

/** Thrown when the emulator cannot start (bad options, port in use). */
export class StripeEmulatorError extends VoltLedgerError {}

/** What an injected fault does to a matching request. */
export type FaultKind = 'api_error' | 'timeout' | 'card_declined';

/**
 * A fault for the next `count` requests whose path matches `path` (`*` matches one path segment,
 * `**` anything: `/v1/payment_intents/* /capture`).
 * - `api_error`: answer 500 `api_error`. `when: 'before'` (default) does nothing else, so a retry
 *   with the same Idempotency-Key executes; `'after'` applies the request first and loses the
 *   answer, so a retry replays the stored result.
 * - `timeout`: hold the connection open for `hangMs` (default 60 s, past any sane client timeout)
 *   and then drop it. `when: 'after'` (default) applies the request before hanging.
 * - `card_declined`: the authorization the request makes is declined (`decline_code`, default
 *   `generic_decline`); requests that authorize nothing answer 402 without applying anything.
 */
export interface FaultSpec {
  path: string;
  method?: string;
  kind: FaultKind;
  count?: number;
  when?: 'before' | 'after';
  hangMs?: number;
  declineCode?: string;
}

export interface StripeEmulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Keeps state in `${dataDir}/stripe/state.json` across restarts; in memory only when unset. */
  dataDir?: string;
  /** The `whsec_...` secret webhooks are signed with. */
  webhookSecret: string;
  /** Endpoints that receive every event. */
  webhookUrls?: string[];
  log?: Log;
  /** Percentage fee per captured charge; default 1.5. */
  feePercent?: number;
  /** Fixed fee per captured charge in minor units; default 25. */
  feeFixedMinor?: number;
  /** Money and time model beyond the fee (dispute fee, availability delay, hold validity). */
  engine?: Omit<EngineOptions, 'feePercent' | 'feeFixedMinor'>;
  /** Webhook retry backoff: first delay (default 500 ms, doubling) and attempts (default 8). */
  webhookRetry?: { baseDelayMs?: number; maxAttempts?: number };
  /** Faults armed at start. */
  faults?: FaultSpec[];
  /**
   * The instant the emulator starts from (default the system clock): the stack passes its own, so
   * Stripe's timestamps and webhook signatures agree with the product's "now". `advanceTime` adds
   * to it.
   */
  clock?: Clock;
}

/** The test-control surface: also served over HTTP under `/_emulator/`. */
export interface StripeEmulatorControl {
  /** Moves the emulator's clock forward; expires holds past `capture_before`, renews subscriptions. Returns the new time. */
  advanceTime(seconds: number): number;
  /** The emulator's clock, Unix seconds. */
  now(): number;
  /** Arms a fault for the next matching requests. */
  failNext(fault: FaultSpec): void;
  /** Disarms every fault. */
  clearFaults(): void;
  /** Opens a dispute on a captured charge (`charge.dispute.created`); amount defaults to what is not refunded. */
  openDispute(chargeId: string, options?: { amount?: number; reason?: string }): StripeObject;
  /** Closes a dispute as won (amount reinstated, fee kept) or lost. */
  closeDispute(disputeId: string, outcome: 'won' | 'lost'): StripeObject;
  /** Pays out the available balance per currency (`payout.created` then `payout.paid`, or `payout.failed`). */
  payout(options?: { currency?: string; fail?: boolean }): StripeObject[];
  /** Moves a subscription to a status, with the invoices and events Stripe would produce. */
  setSubscriptionStatus(subscriptionId: string, status: SubscriptionStatus): StripeObject;
  /** Completes 3-D Secure for a PaymentIntent in `requires_action` (or fails it). */
  authenticate(paymentIntentId: string, succeed?: boolean): StripeObject;
  /** Makes a succeeded refund fail (`refund.updated`, `refund.failed`); the money returns to the balance. */
  failRefund(refundId: string): StripeObject;
  /** Delivery chaos: deliver each event twice and/or out of order. */
  setDeliveryChaos(chaos: DeliveryChaos): void;
  /** Holds webhook deliveries until {@link resumeWebhooks}. */
  pauseWebhooks(): void;
  /** Releases held deliveries in order, reversed or shuffled. */
  resumeWebhooks(order?: 'original' | 'reverse' | 'shuffle'): void;
  /** Every delivery attempt so far, oldest first. */
  deliveries(): readonly DeliveryAttempt[];
  /** Resolves once no webhook delivery is running or waiting for a retry. */
  drainWebhooks(): Promise<void>;
  /** Every event so far, oldest first. */
  events(): StripeObject[];
  /** Takes a Terminal reader offline (its actions answer `terminal_reader_offline`) or back online. */
  setReaderStatus(readerId: string, status: ReaderStatus): StripeObject;
  /** Every Terminal reader that is not deleted, oldest first. */
  readers(): StripeObject[];
}

export interface StripeEmulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  port: number;
  host: string;
  control: StripeEmulatorControl;
  /** Adds an endpoint that receives every event from now on; returns its id. */
  addWebhookEndpoint(url: string): string;
  /** Stops listening, drops hanging connections, stops deliveries (pending ones persist), saves state. */
  close(): Promise<void>;
}

interface Route {
  method: string;
  pattern: RegExp;
  /** Whether the request authorizes a card (a decline fault then declines it). */
  authorizes?: boolean;
  handle: (params: FormObject, match: string[], context: RequestContext) => StripeObject;
}

function faultMatcher(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => (segment === '**' ? '.*' : segment === '*' ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}

/** Expands `expand[]` paths (`latest_charge`, `latest_charge.balance_transaction`, `data.customer`). */
function expand(engine: StripeEngine, object: StripeObject, paths: string[]): StripeObject {
  for (const path of paths) {
    const [head, ...rest] = path.split('.') as [string, ...string[]];
    if (head === 'data' && Array.isArray(object.data)) {
      object.data = object.data.map((item: StripeObject) => (rest.length ? expand(engine, item, [rest.join('.')]) : item));
      continue;
    }
    let value = object[head];
    if (typeof value === 'string') {
      const found = engine.find(value);
      if (found) value = engine.render(found);
    }
    if (value && typeof value === 'object' && rest.length) value = expand(engine, value, [rest.join('.')]);
    object[head] = value;
  }
  return object;
}

/**
 * Starts a local Stripe-compatible server for the real `stripe` SDK: PaymentIntents with holds,
 * captures, incremental authorization and expiry; refunds, disputes, balance transactions and
 * payouts; customers, payment methods, prices, subscriptions and invoices; Terminal locations and
 * simulated readers (`process_payment_intent`, `present_payment_method`); events delivered as
 * signed webhooks; idempotency keys; and a test-control API (`/_emulator/...`, or
 * {@link StripeEmulator.control}) for time, faults, disputes, payouts and subscription status.
 *
 * @example
 * const emulator = await startStripeEmulator({ webhookSecret: 'whsec_local', webhookUrls: ['http://127.0.0.1:3000/stripe'] });
 * const stripe = stripeClientFor(emulator);
 * const hold = await stripe.paymentIntents.create({ amount: 5000, currency: 'eur', payment_method: 'pm_card_visa', confirm: true, capture_method: 'manual' });
 */
export async function startStripeEmulator(options: StripeEmulatorOptions): Promise<StripeEmulator> {
  if (!options.webhookSecret) throw new StripeEmulatorError('webhookSecret is required (whsec_...)');
  const log = options.log ?? silentLog;
  const statePath = options.dataDir ? join(options.dataDir, 'stripe', 'state.json') : undefined;
  const state = loadState(statePath);
  let saveTimer: NodeJS.Immediate | undefined;
  let closed = false;
  const save = () => {
    if (saveTimer) clearImmediate(saveTimer);
    saveTimer = undefined;
    if (statePath) saveState(statePath, state);
  };
  /** Coalesces the saves webhook bookkeeping asks for; nothing is written after close. */
  const saveSoon = () => {
    if (!statePath || saveTimer || closed) return;
    saveTimer = setImmediate(() => {
      saveTimer = undefined;
      if (closed) return;
      try {
        save();
      } catch (error) {
        log.error('stripe emulator could not save its state', { error: String(error) });
      }
    });
  };

  const endpoints = () => Object.values(state.objects.webhook_endpoints) as WebhookEndpoint[];
  const clock = options.clock ?? systemClock;
  const dispatcher = new WebhookDispatcher({
    secret: options.webhookSecret,
    clock,
    log,
    retryBaseDelayMs: options.webhookRetry?.baseDelayMs,
    maxAttempts: options.webhookRetry?.maxAttempts,
    event: (id) => state.objects.events[id],
    endpoint: (id) => state.objects.webhook_endpoints[id] as WebhookEndpoint | undefined,
    onChange: (pending) => {
      state.pendingDeliveries = pending;
      saveSoon();
    },
  });

  let engine!: StripeEngine;
  engine = new StripeEngine(
    state,
    (type, object, previousAttributes, context) => {
      const event: StripeObject = {
        id: engine.newId('evt'),
        object: 'event',
        api_version: Stripe.API_VERSION,
        created: engine.now(),
        data: previousAttributes && Object.keys(previousAttributes).length > 0 ? { object, previous_attributes: previousAttributes } : { object },
        livemode: false,
        pending_webhooks: endpoints().filter((e) => e.enabled_events.includes('*') || e.enabled_events.includes(type)).length,
        request: { id: context.requestId, idempotency_key: context.idempotencyKey },
        type,
      };
      state.objects.events[event.id] = event;
      state.seq[event.id] = state.nextSeq++;
      log.debug('stripe emulator event', { id: event.id, type });
      dispatcher.enqueue(event, endpoints());
    },
    { ...options.engine, feePercent: options.feePercent, feeFixedMinor: options.feeFixedMinor, clock },
  );
  const terminal = new StripeTerminal(engine);

  const addWebhookEndpoint = (url: string, enabledEvents: string[] = ['*']): string => {
    const existing = endpoints().find((e) => e.url === url);
    if (existing) return existing.id;
    const endpoint: StripeObject = {
      id: engine.newId('we'),
      object: 'webhook_endpoint',
      api_version: null,
      created: engine.now(),
      enabled_events: enabledEvents,
      livemode: false,
      metadata: {},
      status: 'enabled',
      url,
    };
    state.objects.webhook_endpoints[endpoint.id] = endpoint;
    state.seq[endpoint.id] = state.nextSeq++;
    save();
    return endpoint.id;
  };
  for (const url of options.webhookUrls ?? []) addWebhookEndpoint(url);

  // ---- faults -------------------------------------------------------------------------------
  const faults: Array<FaultSpec & { remaining: number; matcher: RegExp }> = [];
  const failNext = (fault: FaultSpec) => {
    if (!['api_error', 'timeout', 'card_declined'].includes(fault.kind)) throw invalidParam(`Unknown fault kind ${fault.kind}`, 'kind');
    faults.push({ ...fault, remaining: fault.count ?? 1, matcher: faultMatcher(fault.path) });
  };
  for (const fault of options.faults ?? []) failNext(fault);
  const takeFault = (method: string, path: string) => {
    const index = faults.findIndex((f) => f.remaining > 0 && (!f.method || f.method.toUpperCase() === method) && f.matcher.test(path));
    if (index === -1) return undefined;
    const fault = faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining === 0) faults.splice(index, 1);
    return fault;
  };

  // ---- routes -------------------------------------------------------------------------------
  const id = '([A-Za-z0-9_]+)';
  const routes: Route[] = [
    { method: 'POST', pattern: /^\/v1\/customers$/, handle: (p, _m, c) => engine.createCustomer(p, c) },
    { method: 'GET', pattern: new RegExp(`^/v1/customers/${id}$`), handle: (_p, m) => engine.render(engine.get('customers', m[1]!, 'customer')) },
    { method: 'POST', pattern: new RegExp(`^/v1/customers/${id}$`), handle: (p, m, c) => engine.updateCustomer(m[1]!, p, c) },
    { method: 'GET', pattern: new RegExp(`^/v1/customers/${id}/payment_methods$`), handle: (p, m) => engine.list('payment_methods', `/v1/customers/${m[1]}/payment_methods`, p, (o) => o.customer === m[1]) },
    { method: 'GET', pattern: /^\/v1\/payment_methods$/, handle: (p) => engine.list('payment_methods', '/v1/payment_methods', p, (o) => !p.customer || o.customer === p.customer) },
    { method: 'GET', pattern: new RegExp(`^/v1/payment_methods/${id}$`), handle: (_p, m) => engine.retrievePaymentMethod(m[1]!) },
    { method: 'POST', pattern: new RegExp(`^/v1/payment_methods/${id}/attach$`), handle: (p, m, c) => engine.attachPaymentMethod(m[1]!, p, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/payment_methods/${id}/detach$`), handle: (_p, m, c) => engine.detachPaymentMethod(m[1]!, c) },
    { method: 'POST', pattern: /^\/v1\/payment_intents$/, authorizes: true, handle: (p, _m, c) => engine.createPaymentIntent(p, c) },
    { method: 'GET', pattern: /^\/v1\/payment_intents$/, handle: (p) => engine.listPaymentIntents(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/payment_intents/${id}$`), handle: (_p, m) => engine.retrievePaymentIntent(m[1]!) },
    { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${id}$`), handle: (p, m, c) => engine.updatePaymentIntent(m[1]!, p, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${id}/confirm$`), authorizes: true, handle: (p, m, c) => engine.confirmPaymentIntent(m[1]!, p, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${id}/capture$`), handle: (p, m, c) => engine.capturePaymentIntent(m[1]!, p, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${id}/cancel$`), handle: (p, m, c) => engine.cancelPaymentIntent(m[1]!, p, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/payment_intents/${id}/increment_authorization$`), authorizes: true, handle: (p, m, c) => engine.incrementAuthorization(m[1]!, p, c) },
    { method: 'GET', pattern: /^\/v1\/charges$/, handle: (p) => engine.listCharges(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/charges/${id}$`), handle: (_p, m) => engine.retrieveCharge(m[1]!) },
    { method: 'POST', pattern: /^\/v1\/refunds$/, handle: (p, _m, c) => engine.createRefund(p, c) },
    { method: 'GET', pattern: /^\/v1\/refunds$/, handle: (p) => engine.listRefunds(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/refunds/${id}$`), handle: (_p, m) => engine.render(engine.get('refunds', m[1]!, 'refund')) },
    { method: 'POST', pattern: new RegExp(`^/v1/refunds/${id}$`), handle: (p, m, c) => engine.updateRefund(m[1]!, p, c) },
    { method: 'GET', pattern: /^\/v1\/disputes$/, handle: (p) => engine.listDisputes(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/disputes/${id}$`), handle: (_p, m) => engine.render(engine.get('disputes', m[1]!, 'dispute')) },
    // Stripe's "close" is accepting the dispute: it is lost.
    { method: 'POST', pattern: new RegExp(`^/v1/disputes/${id}/close$`), handle: (_p, m, c) => engine.closeDispute(m[1]!, 'lost', c) },
    { method: 'GET', pattern: /^\/v1\/balance$/, handle: () => engine.balance() },
    { method: 'GET', pattern: /^\/v1\/balance_transactions$/, handle: (p) => engine.listBalanceTransactions(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/balance_transactions/${id}$`), handle: (_p, m) => engine.render(engine.get('balance_transactions', m[1]!, 'balance transaction')) },
    { method: 'GET', pattern: /^\/v1\/payouts$/, handle: (p) => engine.list('payouts', '/v1/payouts', p, (o) => !p.status || o.status === p.status) },
    { method: 'GET', pattern: new RegExp(`^/v1/payouts/${id}$`), handle: (_p, m) => engine.render(engine.get('payouts', m[1]!, 'payout')) },
    { method: 'POST', pattern: /^\/v1\/products$/, handle: (p, _m, c) => engine.createProduct(p, c) },
    { method: 'GET', pattern: new RegExp(`^/v1/products/${id}$`), handle: (_p, m) => engine.render(engine.get('products', m[1]!, 'product')) },
    { method: 'POST', pattern: /^\/v1\/prices$/, handle: (p, _m, c) => engine.createPrice(p, c) },
    { method: 'GET', pattern: new RegExp(`^/v1/prices/${id}$`), handle: (_p, m) => engine.render(engine.get('prices', m[1]!, 'price')) },
    { method: 'POST', pattern: /^\/v1\/subscriptions$/, authorizes: true, handle: (p, _m, c) => engine.createSubscription(p, c) },
    { method: 'GET', pattern: /^\/v1\/subscriptions$/, handle: (p) => engine.listSubscriptions(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/subscriptions/${id}$`), handle: (_p, m) => engine.retrieveSubscription(m[1]!) },
    { method: 'POST', pattern: new RegExp(`^/v1/subscriptions/${id}$`), handle: (p, m, c) => engine.updateSubscription(m[1]!, p, c) },
    { method: 'DELETE', pattern: new RegExp(`^/v1/subscriptions/${id}$`), handle: (_p, m, c) => engine.cancelSubscription(m[1]!, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/subscriptions/${id}/resume$`), handle: (_p, m, c) => engine.resumeSubscription(m[1]!, c) },
    ...invoicingRoutes(engine, id),
    { method: 'GET', pattern: /^\/v1\/invoices$/, handle: (p) => engine.listInvoices(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/invoices/${id}$`), handle: (_p, m) => engine.retrieveInvoice(m[1]!) },
    {
      method: 'GET',
      pattern: /^\/v1\/events$/,
      handle: (p) => {
        const types = new Set<string>([...(typeof p.type === 'string' ? [p.type] : []), ...(Array.isArray(p.types) ? (p.types as string[]) : [])]);
        const matches = (type: string) => types.size === 0 || [...types].some((t) => (t.endsWith('.*') ? type.startsWith(t.slice(0, -1)) : t === type));
        return engine.list('events', '/v1/events', p, (o) => matches(o.type));
      },
    },
    { method: 'GET', pattern: new RegExp(`^/v1/events/${id}$`), handle: (_p, m) => engine.render(engine.get('events', m[1]!, 'event')) },
    {
      method: 'POST',
      pattern: /^\/v1\/webhook_endpoints$/,
      handle: (p) => {
        if (typeof p.url !== 'string') throw invalidParam('Missing required param: url.', 'url', 'parameter_missing');
        const events = Array.isArray(p.enabled_events) ? (p.enabled_events as string[]) : ['*'];
        // Every endpoint shares the emulator's one signing secret (Stripe makes one per endpoint).
        return { ...engine.render(state.objects.webhook_endpoints[addWebhookEndpoint(p.url, events)]!), secret: options.webhookSecret };
      },
    },
    { method: 'GET', pattern: /^\/v1\/webhook_endpoints$/, handle: (p) => engine.list('webhook_endpoints', '/v1/webhook_endpoints', p) },
    { method: 'POST', pattern: /^\/v1\/terminal\/locations$/, handle: (p) => terminal.createLocation(p) },
    { method: 'GET', pattern: /^\/v1\/terminal\/locations$/, handle: (p) => terminal.listLocations(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/terminal/locations/${id}$`), handle: (_p, m) => terminal.retrieveLocation(m[1]!) },
    { method: 'POST', pattern: /^\/v1\/terminal\/readers$/, handle: (p) => terminal.createReader(p) },
    { method: 'GET', pattern: /^\/v1\/terminal\/readers$/, handle: (p) => terminal.listReaders(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/terminal/readers/${id}$`), handle: (_p, m) => terminal.retrieveReader(m[1]!) },
    { method: 'POST', pattern: new RegExp(`^/v1/terminal/readers/${id}$`), handle: (p, m) => terminal.updateReader(m[1]!, p) },
    { method: 'DELETE', pattern: new RegExp(`^/v1/terminal/readers/${id}$`), handle: (_p, m) => terminal.deleteReader(m[1]!) },
    { method: 'POST', pattern: new RegExp(`^/v1/terminal/readers/${id}/process_payment_intent$`), handle: (p, m) => terminal.processPaymentIntent(m[1]!, p) },
    { method: 'POST', pattern: new RegExp(`^/v1/terminal/readers/${id}/cancel_action$`), handle: (_p, m) => terminal.cancelAction(m[1]!) },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/test_helpers/terminal/readers/${id}/present_payment_method$`),
      authorizes: true,
      handle: (p, m, c) => terminal.presentPaymentMethod(m[1]!, p, c),
    },
  ];

  // ---- control ------------------------------------------------------------------------------
  const mutate = <T>(action: () => T): T => {
    try {
      return action();
    } finally {
      save();
    }
  };
  const control: StripeEmulatorControl = {
    advanceTime: (seconds) => mutate(() => engine.advanceTime(seconds)),
    now: () => engine.now(),
    failNext,
    clearFaults: () => void faults.splice(0),
    openDispute: (chargeId, disputeOptions) => mutate(() => engine.openDispute(chargeId, disputeOptions)),
    closeDispute: (disputeId, outcome) => mutate(() => engine.closeDispute(disputeId, outcome)),
    payout: (payoutOptions) => mutate(() => engine.payout(payoutOptions)),
    setSubscriptionStatus: (subscriptionId, status) => mutate(() => engine.setSubscriptionStatus(subscriptionId, status)),
    authenticate: (paymentIntentId, succeed = true) => mutate(() => engine.authenticate(paymentIntentId, succeed)),
    failRefund: (refundId) => mutate(() => engine.failRefund(refundId)),
    setDeliveryChaos: (chaos) => {
      dispatcher.chaos = { ...chaos };
    },
    pauseWebhooks: () => dispatcher.pause(),
    resumeWebhooks: (order) => dispatcher.resume(order),
    deliveries: () => dispatcher.attempts,
    drainWebhooks: () => dispatcher.drain(),
    events: () => Object.values(state.objects.events).sort((a, b) => (state.seq[a.id] ?? 0) - (state.seq[b.id] ?? 0)).map((e) => engine.render(e)),
    setReaderStatus: (readerId, status) => mutate(() => terminal.setReaderStatus(readerId, status)),
    readers: () => terminal.readers(),
  };

  const controlRoutes: Array<{ method: string; pattern: RegExp; handle: (body: Record<string, unknown>, match: string[]) => unknown }> = [
    { method: 'GET', pattern: /^\/_emulator\/time$/, handle: () => ({ now: control.now() }) },
    { method: 'POST', pattern: /^\/_emulator\/time\/advance$/, handle: (b) => ({ now: control.advanceTime(Number(b.seconds)) }) },
    { method: 'POST', pattern: /^\/_emulator\/faults$/, handle: (b) => { control.failNext(b as unknown as FaultSpec); return { armed: faults.length }; } },
    { method: 'DELETE', pattern: /^\/_emulator\/faults$/, handle: () => { control.clearFaults(); return { armed: 0 }; } },
    { method: 'POST', pattern: /^\/_emulator\/disputes$/, handle: (b) => control.openDispute(String(b.charge), { amount: b.amount as number | undefined, reason: b.reason as string | undefined }) },
    { method: 'POST', pattern: new RegExp(`^/_emulator/disputes/${id}/close$`), handle: (b, m) => control.closeDispute(m[1]!, b.status === 'won' ? 'won' : 'lost') },
    { method: 'POST', pattern: /^\/_emulator\/payouts$/, handle: (b) => ({ object: 'list', data: control.payout({ currency: b.currency as string | undefined, fail: b.fail === true }) }) },
    { method: 'POST', pattern: new RegExp(`^/_emulator/subscriptions/${id}/status$`), handle: (b, m) => control.setSubscriptionStatus(m[1]!, String(b.status) as SubscriptionStatus) },
    { method: 'POST', pattern: new RegExp(`^/_emulator/payment_intents/${id}/authenticate$`), handle: (b, m) => control.authenticate(m[1]!, b.succeed !== false) },
    { method: 'POST', pattern: new RegExp(`^/_emulator/refunds/${id}/fail$`), handle: (_b, m) => control.failRefund(m[1]!) },
    { method: 'POST', pattern: /^\/_emulator\/webhooks\/chaos$/, handle: (b) => { control.setDeliveryChaos(b as DeliveryChaos); return {}; } },
    { method: 'POST', pattern: /^\/_emulator\/webhooks\/pause$/, handle: () => { control.pauseWebhooks(); return {}; } },
    { method: 'POST', pattern: /^\/_emulator\/webhooks\/resume$/, handle: (b) => { control.resumeWebhooks(b.order as 'original' | 'reverse' | 'shuffle' | undefined); return {}; } },
    { method: 'POST', pattern: /^\/_emulator\/webhooks\/endpoints$/, handle: (b) => ({ id: addWebhookEndpoint(String(b.url)) }) },
    { method: 'GET', pattern: /^\/_emulator\/webhooks\/deliveries$/, handle: () => ({ data: control.deliveries() }) },
    { method: 'GET', pattern: /^\/_emulator\/terminal\/readers$/, handle: () => ({ object: 'list', data: control.readers() }) },
    { method: 'POST', pattern: new RegExp(`^/_emulator/terminal/readers/${id}/status$`), handle: (b, m) => control.setReaderStatus(m[1]!, b.status as ReaderStatus) },
  ];

  // ---- HTTP ---------------------------------------------------------------------------------
  const sockets = new Set<Socket>();
  const hangs = new Set<NodeJS.Timeout>();

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'stripe-version': Stripe.API_VERSION, ...headers });
    res.end(body);
  };
  const hang = (res: ServerResponse, ms: number) => {
    const timer = setTimeout(() => {
      hangs.delete(timer);
      res.socket?.destroy();
    }, ms);
    hangs.add(timer);
    res.on('close', () => {
      clearTimeout(timer);
      hangs.delete(timer);
    });
  };

  const serveControl = (req: IncomingMessage, res: ServerResponse, path: string, raw: string) => {
    const route = controlRoutes.find((r) => r.method === req.method && r.pattern.test(path));
    if (!route) return send(res, 404, JSON.stringify({ error: { type: 'invalid_request_error', message: `Unknown control route ${req.method} ${path}` } }));
    try {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      const result = route.handle(body, path.match(route.pattern)!);
      send(res, 200, JSON.stringify(result ?? {}));
    } catch (error) {
      // Control calls answer Stripe's error shape too (a dispute on an unknown charge is a 404).
      if (error instanceof StripeApiError) return send(res, error.status, JSON.stringify(error.toBody()));
      if (error instanceof SyntaxError) return send(res, 400, JSON.stringify({ error: { type: 'invalid_request_error', message: 'control bodies are JSON' } }));
      throw error;
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const requestId = `req_${randomBytes(10).toString('hex')}`;
    const headers = { 'request-id': requestId };
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    try {
      if (path.startsWith('/_emulator/')) return serveControl(req, res, path, raw);
      const auth = req.headers.authorization ?? '';
      if (!/^Bearer (sk|rk)_test_\S+$/.test(auth)) {
        return send(res, 401, JSON.stringify({ error: { type: 'invalid_request_error', message: 'Invalid API Key provided: the local Stripe emulator accepts only sk_test_ and rk_test_ keys.' } }), headers);
      }
      const params = method === 'GET' || method === 'DELETE' ? { ...parseForm(url.search.slice(1)), ...parseForm(raw) } : parseForm(raw);
      const expandPaths = Array.isArray(params.expand) ? (params.expand as string[]) : [];
      delete params.expand;
      const idempotencyKey = method === 'POST' ? (req.headers['idempotency-key'] as string | undefined) ?? null : null;
      const fingerprint = createHash('sha256').update(JSON.stringify({ params, expand: expandPaths })).digest('hex');

      if (idempotencyKey) {
        const stored = state.idempotency[idempotencyKey];
        if (stored) {
          if (stored.method !== method || stored.path !== path || stored.params !== fingerprint) {
            const error = new StripeApiError(
              400,
              'idempotency_error',
              `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
              { replayable: false },
            );
            return send(res, 400, JSON.stringify(error.toBody()), headers);
          }
          return send(res, stored.status, stored.body, { ...headers, 'idempotent-replayed': 'true', 'original-request': 'req_replayed' });
        }
      }

      const route = routes.find((r) => r.method === method && r.pattern.test(path));
      if (!route) {
        return send(res, 404, JSON.stringify({ error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}). The local Stripe emulator does not implement it.` } }), headers);
      }

      const fault = takeFault(method, path);
      const context: RequestContext = { requestId, idempotencyKey };
      if (fault) log.info('stripe emulator injects a fault', { method, path, kind: fault.kind, when: fault.when });
      if (fault?.kind === 'api_error' && fault.when !== 'after') {
        const error = new StripeApiError(500, 'api_error', 'An unknown error occurred (injected by the local Stripe emulator).');
        return send(res, 500, JSON.stringify(error.toBody()), headers);
      }
      if (fault?.kind === 'timeout' && fault.when === 'before') return hang(res, fault.hangMs ?? 60_000);
      if (fault?.kind === 'card_declined') {
        const declineCode = fault.declineCode ?? 'generic_decline';
        if (!route.authorizes) {
          const error = new StripeApiError(402, 'card_error', 'Your card was declined.', { code: 'card_declined', declineCode });
          return send(res, 402, JSON.stringify(error.toBody()), headers);
        }
        context.forceDecline = { code: 'card_declined', declineCode };
      }

      engine.tick();
      let status = 200;
      let body: string;
      let replayable = true;
      try {
        const result = route.handle(params, path.match(route.pattern)!, context);
        body = JSON.stringify(expand(engine, result, expandPaths));
      } catch (error) {
        if (!(error instanceof StripeApiError)) throw error;
        status = error.status;
        replayable = error.replayable;
        body = JSON.stringify(error.toBody());
      }
      if (idempotencyKey && replayable) state.idempotency[idempotencyKey] = { method, path, params: fingerprint, status, body };
      if (method !== 'GET') save(); // durable before answered

      if (fault?.kind === 'api_error') {
        const error = new StripeApiError(500, 'api_error', 'An unknown error occurred after the request was applied (injected by the local Stripe emulator).');
        return send(res, 500, JSON.stringify(error.toBody()), headers);
      }
      if (fault?.kind === 'timeout') return hang(res, fault.hangMs ?? 60_000);
      send(res, status, body, idempotencyKey ? { ...headers, 'idempotency-key': idempotencyKey } : headers);
    } catch (error) {
      log.error('stripe emulator request failed', { method, path, error: String(error) });
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: { type: 'api_error', message: `Emulator failure: ${String(error)}` } }), headers);
    }
  };

  const server: Server = createServer((req, res) => void serve(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new StripeEmulatorError(`could not listen on ${host}:${options.port ?? 0}`, { cause: error })));
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  dispatcher.restore(state.pendingDeliveries);
  engine.tick();
  save();
  log.info('local Stripe emulator listening', { url: `http://${hostPart}:${port}`, dataDir: options.dataDir });

  return {
    url: `http://${hostPart}:${port}`,
    port,
    host,
    control,
    addWebhookEndpoint: (url) => addWebhookEndpoint(url),
    async close() {
      if (closed) return;
      closed = true;
      dispatcher.close();
      for (const timer of hangs) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      save();
    },
  };
}

/**
 * A real `Stripe` client pointed at the emulator: the SDK's default API version, no automatic
 * retries (so tests see injected faults), and any extra config (`timeout`, `maxNetworkRetries`).
 */
export function stripeClientFor(emulator: Pick<StripeEmulator, 'host' | 'port'>, config: Stripe.StripeConfig = {}, apiKey = 'sk_test_local_emulator'): Stripe {
  return new Stripe(apiKey, { host: emulator.host, port: emulator.port, protocol: 'http', maxNetworkRetries: 0, telemetry: false, ...config });
}
