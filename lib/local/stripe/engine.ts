import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../../../functions/shared/clock.ts';
import { invalidParam, invalidRequest, resourceMissing, StripeApiError } from './errors.ts';
import { checkAmountFormat, formatAmount, minimumAmount, roundToMultiple } from './currencies.ts';
import type { FormObject, FormValue } from './form.ts';
import { COLLECTIONS, type Collection, type EmulatorState, type StripeObject } from './state.ts';

// ---------------------------------------------------------------------------------------------
// Test cards
// ---------------------------------------------------------------------------------------------

/** How a test PaymentMethod token behaves when a PaymentIntent is confirmed with it. */
export interface TestCard {
  brand: string;
  last4: string;
  /** Decline on authorization with this `code`/`decline_code`. */
  decline?: { code: string; declineCode: string; message: string };
  /** Needs 3-D Secure: `requires_action` on-session, `authentication_required` off-session. */
  authenticationRequired?: boolean;
  /** Whether the issuer supports incremental authorization (only when it is requested). */
  incrementalAuthorization: boolean;
  /** `credit` unless stated. */
  funding?: 'credit' | 'debit' | 'prepaid';
}

/**
 * The test PaymentMethod tokens the emulator knows, after Stripe's test cards. Incremental
 * authorization is `available` for `pm_card_visa` (when requested) and `unavailable` for every
 * other card, so both paths can be exercised.
 */
export const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: { brand: 'visa', last4: '4242', incrementalAuthorization: true },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444', incrementalAuthorization: false },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    incrementalAuthorization: false,
    decline: { code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' },
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    incrementalAuthorization: false,
    decline: { code: 'card_declined', declineCode: 'insufficient_funds', message: 'Your card has insufficient funds.' },
  },
  pm_card_visa_chargeDeclinedExpiredCard: {
    brand: 'visa',
    last4: '0069',
    incrementalAuthorization: false,
    decline: { code: 'expired_card', declineCode: 'expired_card', message: 'Your card has expired.' },
  },
  pm_card_authenticationRequired: { brand: 'visa', last4: '3184', incrementalAuthorization: false, authenticationRequired: true },
};

const declined = (declineCode: string, message: string) => ({ code: 'card_declined', declineCode, message });

/**
 * The card numbers a simulated Terminal reader accepts in
 * `POST /v1/test_helpers/terminal/readers/{id}/present_payment_method` (`card_present[number]`),
 * after Stripe's "Test Stripe Terminal" page: the standard brands approve, the error-case numbers
 * decline as documented there. As with the online tokens, only visa supports incremental
 * authorization (when it is requested).
 */
export const CARD_PRESENT_TEST_CARDS: Record<string, TestCard> = {
  '4242424242424242': { brand: 'visa', last4: '4242', incrementalAuthorization: true },
  '4000056655665556': { brand: 'visa', last4: '5556', incrementalAuthorization: true, funding: 'debit' },
  '5555555555554444': { brand: 'mastercard', last4: '4444', incrementalAuthorization: false },
  '5200828282828210': { brand: 'mastercard', last4: '8210', incrementalAuthorization: false, funding: 'debit' },
  '5105105105105100': { brand: 'mastercard', last4: '5100', incrementalAuthorization: false, funding: 'prepaid' },
  '378282246310005': { brand: 'amex', last4: '0005', incrementalAuthorization: false },
  '371449635398431': { brand: 'amex', last4: '8431', incrementalAuthorization: false },
  '6011111111111117': { brand: 'discover', last4: '1117', incrementalAuthorization: false },
  '6011000990139424': { brand: 'discover', last4: '9424', incrementalAuthorization: false },
  '3056930009020004': { brand: 'diners', last4: '0004', incrementalAuthorization: false },
  '36227206271667': { brand: 'diners', last4: '1667', incrementalAuthorization: false },
  '3566002020360505': { brand: 'jcb', last4: '0505', incrementalAuthorization: false },
  '6200000000000005': { brand: 'unionpay', last4: '0005', incrementalAuthorization: false },
  '4000000000000002': { brand: 'visa', last4: '0002', incrementalAuthorization: false, decline: declined('generic_decline', 'Your card was declined.') },
  '4000000000009995': { brand: 'visa', last4: '9995', incrementalAuthorization: false, decline: declined('insufficient_funds', 'Your card has insufficient funds.') },
  '4000000000009987': { brand: 'visa', last4: '9987', incrementalAuthorization: false, decline: declined('lost_card', 'Your card was declined.') },
  '4000000000009979': { brand: 'visa', last4: '9979', incrementalAuthorization: false, decline: declined('stolen_card', 'Your card was declined.') },
  '4000000000000069': {
    brand: 'visa',
    last4: '0069',
    incrementalAuthorization: false,
    decline: { code: 'expired_card', declineCode: 'expired_card', message: 'Your card has expired.' },
  },
  '4000000000000119': {
    brand: 'visa',
    last4: '0119',
    incrementalAuthorization: false,
    decline: { code: 'processing_error', declineCode: 'processing_error', message: 'An error occurred while processing your card. Try again in a little bit.' },
  },
};

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/** The money and time model; every field has a documented default. */
export interface EngineOptions {
  /** Percentage fee per captured charge; default 1.5 (%). */
  feePercent?: number;
  /** Fixed fee per captured charge in minor units; default 25. */
  feeFixedMinor?: number;
  /** Fee withdrawn when a dispute opens, in minor units; default 1500. */
  disputeFeeMinor?: number;
  /** Seconds from a balance transaction to its `available_on`; default 2 days. */
  availableAfterSeconds?: number;
  /** Seconds an uncaptured authorization stays capturable (`capture_before`); default 7 days. */
  authorizationValiditySeconds?: number;
  /** Where "now" starts (default the system clock); `advanceTime` adds to it. */
  clock?: Clock;
}

const DAY = 86_400;

export interface RequestContext {
  requestId: string | null;
  idempotencyKey: string | null;
  /** An injected decline fault: the next authorization this request makes is declined. */
  forceDecline?: { code: string; declineCode: string };
}

const noRequest: RequestContext = { requestId: null, idempotencyKey: null };

// ---------------------------------------------------------------------------------------------
// Parameter coercion (shared with the Terminal module)
// ---------------------------------------------------------------------------------------------

export function str(params: FormObject, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidParam(`Invalid string: ${name}`, name);
  return value;
}

export function requiredStr(params: FormObject, name: string): string {
  const value = str(params, name);
  if (value === undefined || value === '') throw invalidParam(`Missing required param: ${name}.`, name, 'parameter_missing');
  return value;
}

export function int(params: FormObject, name: string): number | undefined {
  const value = str(params, name);
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw invalidParam(`Invalid integer: ${value}`, name, 'parameter_invalid_integer');
  return Number(value);
}

export function bool(params: FormObject, name: string): boolean | undefined {
  const value = str(params, name);
  if (value === undefined || value === '') return undefined;
  if (value !== 'true' && value !== 'false') throw invalidParam(`Invalid boolean: ${value}`, name);
  return value === 'true';
}

export function obj(params: FormObject, name: string): FormObject | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidParam(`Invalid object: ${name}`, name);
  return value;
}

function list(params: FormObject, name: string): FormValue[] | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (!Array.isArray(value)) throw invalidParam(`Invalid array: ${name}`, name);
  return value;
}

/** Stripe's metadata update rule: keys merge, an empty value deletes a key, `metadata=` clears all. */
export function mergeMetadata(current: Record<string, string>, update: FormValue | undefined): Record<string, string> {
  if (update === undefined) return current;
  if (update === '') return {};
  if (typeof update !== 'object' || Array.isArray(update)) throw invalidParam('Invalid metadata', 'metadata');
  const next = { ...current };
  for (const [key, value] of Object.entries(update)) {
    if (typeof value !== 'string') throw invalidParam(`Invalid metadata value for ${key}`, `metadata[${key}]`);
    if (value === '') delete next[key];
    else next[key] = value;
  }
  return next;
}

function addInterval(seconds: number, interval: string, count: number): number {
  const date = new Date(seconds * 1000);
  if (interval === 'day') date.setUTCDate(date.getUTCDate() + count);
  else if (interval === 'week') date.setUTCDate(date.getUTCDate() + 7 * count);
  else if (interval === 'year') date.setUTCFullYear(date.getUTCFullYear() + count);
  else date.setUTCMonth(date.getUTCMonth() + count);
  return Math.floor(date.getTime() / 1000);
}

// ---------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------

/** A state change to publish: `previous_attributes` holds the changed fields' old values. */
/** What the engine lends its invoicing module (invoicing.ts): storage, event emission and change tracking. */
export interface EngineHooks {
  insert(collection: Collection, object: StripeObject): StripeObject;
  publish(type: string, object: StripeObject, context: RequestContext, previous?: StripeObject): void;
  change(object: StripeObject, changes: StripeObject): StripeObject;
}

export type EmitEvent = (type: string, object: StripeObject, previousAttributes: StripeObject | undefined, context: RequestContext) => void;

/** Subscription statuses the test control can set. */
export type SubscriptionStatus = 'active' | 'past_due' | 'unpaid' | 'canceled' | 'trialing' | 'paused' | 'incomplete';

/**
 * Stripe's objects and their state machines, without HTTP: every method validates like Stripe,
 * mutates the state, and emits the events Stripe would. Time comes from {@link now}, which the
 * test clock can move forward.
 */
export class StripeEngine {
  private readonly feeBasisPoints: number;
  private readonly feeFixedMinor: number;
  private readonly disputeFeeMinor: number;
  private readonly availableAfter: number;
  private readonly authorizationValidity: number;
  private readonly clock: Clock;

  constructor(
    readonly state: EmulatorState,
    private readonly emit: EmitEvent,
    options: EngineOptions = {},
  ) {
    this.feeBasisPoints = Math.round((options.feePercent ?? 1.5) * 100);
    this.feeFixedMinor = options.feeFixedMinor ?? 25;
    this.disputeFeeMinor = options.disputeFeeMinor ?? 1500;
    this.availableAfter = options.availableAfterSeconds ?? 2 * DAY;
    this.authorizationValidity = options.authorizationValiditySeconds ?? 7 * DAY;
    this.clock = options.clock ?? systemClock;
  }

  /** The emulator's clock in Unix seconds: its clock (the stack's) plus what `advanceTime` added. */
  now(): number {
    return Math.floor(this.clock.now().getTime() / 1000) + this.state.clockOffsetSeconds;
  }

  // ---- storage --------------------------------------------------------------------------------

  newId(prefix: string): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const bytes = randomBytes(24);
    let id = `${prefix}_`;
    for (const byte of bytes) id += alphabet[byte % alphabet.length];
    return id;
  }

  /** Stores a new object (for the engine and its Terminal module, not for callers of the API). */
  insert(collection: Collection, object: StripeObject): StripeObject {
    this.state.objects[collection][object.id] = object;
    this.state.seq[object.id] = this.state.nextSeq++;
    return object;
  }

  /** Finds any object by id, using Stripe's id prefix to pick the collection. */
  find(id: string): StripeObject | undefined {
    const prefix = id.slice(0, id.indexOf('_')) as keyof typeof COLLECTIONS;
    const collection = COLLECTIONS[prefix];
    return collection ? this.state.objects[collection][id] : undefined;
  }

  get(collection: Collection, id: string, kind: string, param?: string): StripeObject {
    const found = this.state.objects[collection][id];
    if (!found) throw resourceMissing(kind, id, param);
    return found;
  }

  /**
   * A Stripe list object, newest first, with `limit` (1-100, default 10), `starting_after` and
   * `ending_before` cursors.
   */
  list(collection: Collection, url: string, params: FormObject, filter: (o: StripeObject) => boolean = () => true): StripeObject {
    const all = Object.values(this.state.objects[collection])
      .filter(filter)
      .sort((a, b) => (this.state.seq[b.id] ?? 0) - (this.state.seq[a.id] ?? 0));
    const limit = int(params, 'limit') ?? 10;
    if (limit < 1 || limit > 100) throw invalidParam('This value must be between 1 and 100.', 'limit');
    const after = str(params, 'starting_after');
    const before = str(params, 'ending_before');
    let page: StripeObject[];
    let hasMore: boolean;
    if (before) {
      const index = all.findIndex((o) => o.id === before);
      if (index === -1) throw resourceMissing('object', before, 'ending_before');
      const start = Math.max(0, index - limit);
      page = all.slice(start, index);
      hasMore = start > 0;
    } else {
      let start = 0;
      if (after) {
        const index = all.findIndex((o) => o.id === after);
        if (index === -1) throw resourceMissing('object', after, 'starting_after');
        start = index + 1;
      }
      page = all.slice(start, start + limit);
      hasMore = start + limit < all.length;
    }
    return { object: 'list', data: page.map((o) => this.render(o)), has_more: hasMore, url };
  }

  /** The object as answered: a copy, with balance transaction status computed from the clock. */
  render(object: StripeObject): StripeObject {
    const copy = structuredClone(object);
    if (copy.object === 'balance_transaction') copy.status = copy.available_on <= this.now() ? 'available' : 'pending';
    return copy;
  }

  /** Emits an event carrying the object as it is now. */
  publish(type: string, object: StripeObject, context: RequestContext, previous?: StripeObject): void {
    this.emit(type, this.render(object), previous, context);
  }

  /** Applies changes to an object and returns the old values of the fields that changed. */
  change(object: StripeObject, changes: StripeObject): StripeObject {
    const previous: StripeObject = {};
    for (const [key, value] of Object.entries(changes)) {
      if (JSON.stringify(object[key]) !== JSON.stringify(value)) previous[key] = structuredClone(object[key] ?? null);
      object[key] = value;
    }
    return previous;
  }

  /** Storage, events and change tracking for emulation kept in its own module (invoicing.ts). */
  hooks(): EngineHooks {
    return { insert: (c, o) => this.insert(c, o), publish: (t, o, c, p) => this.publish(t, o, c, p), change: (o, c) => this.change(o, c) };
  }

  // ---- time -----------------------------------------------------------------------------------

  /** Moves the clock forward and applies what happens meanwhile (expired holds, renewals). */
  advanceTime(seconds: number): number {
    if (!Number.isFinite(seconds) || seconds < 0) throw invalidParam('seconds must be a non-negative number', 'seconds');
    this.state.clockOffsetSeconds += Math.floor(seconds);
    this.tick();
    return this.now();
  }

  /** Time-driven transitions: uncaptured authorizations expire at `capture_before`; subscriptions renew. */
  tick(): void {
    const now = this.now();
    for (const charge of Object.values(this.state.objects.charges)) {
      const details = charge.payment_method_details?.[charge.payment_method_details?.type];
      if (charge.status !== 'succeeded' || charge.captured || charge.refunded || !details?.capture_before) continue;
      if (now <= details.capture_before) continue;
      this.expireCharge(charge);
    }
    for (const subscription of Object.values(this.state.objects.subscriptions)) this.renewSubscription(subscription, now);
  }

  private expireCharge(charge: StripeObject): void {
    // Stripe releases an authorization that was not captured in time: the charge is refunded in
    // full and the PaymentIntent canceled with reason `automatic`.
    const chargePrevious = this.change(charge, { refunded: true, amount_refunded: charge.amount });
    this.publish('charge.expired', charge, noRequest, chargePrevious);
    const intent = charge.payment_intent ? this.state.objects.payment_intents[charge.payment_intent] : undefined;
    if (intent && intent.status === 'requires_capture') {
      const previous = this.change(intent, { status: 'canceled', canceled_at: this.now(), cancellation_reason: 'automatic', amount_capturable: 0 });
      this.publish('payment_intent.canceled', intent, noRequest, previous);
    }
  }

  private chargeExpired(charge: StripeObject): boolean {
    const details = charge.payment_method_details?.[charge.payment_method_details?.type];
    return !charge.captured && typeof details?.capture_before === 'number' && this.now() > details.capture_before;
  }

  // ---- customers ------------------------------------------------------------------------------

  createCustomer(params: FormObject, context: RequestContext): StripeObject {
    const customer = this.insert('customers', {
      id: this.newId('cus'),
      object: 'customer',
      address: null,
      balance: 0,
      created: this.now(),
      currency: null,
      default_source: null,
      delinquent: false,
      description: str(params, 'description') ?? null,
      email: str(params, 'email') ?? null,
      invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: false,
      metadata: mergeMetadata({}, params.metadata),
      name: str(params, 'name') ?? null,
      phone: str(params, 'phone') ?? null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    });
    this.publish('customer.created', customer, context);
    const paymentMethod = str(params, 'payment_method');
    if (paymentMethod) {
      const attached = this.attachPaymentMethod(paymentMethod, { customer: customer.id }, context);
      const defaultPm = obj(params, 'invoice_settings')?.default_payment_method;
      if (defaultPm === paymentMethod) customer.invoice_settings.default_payment_method = attached.id;
    } else if (obj(params, 'invoice_settings')) {
      this.applyCustomerUpdate(customer, params);
    }
    return this.render(customer);
  }

  updateCustomer(id: string, params: FormObject, context: RequestContext): StripeObject {
    const customer = this.get('customers', id, 'customer');
    const previous = this.applyCustomerUpdate(customer, params);
    if (Object.keys(previous).length > 0) this.publish('customer.updated', customer, context, previous);
    return this.render(customer);
  }

  private applyCustomerUpdate(customer: StripeObject, params: FormObject): StripeObject {
    const changes: StripeObject = {};
    for (const field of ['email', 'name', 'description', 'phone']) {
      const value = str(params, field);
      if (value !== undefined) changes[field] = value === '' ? null : value;
    }
    if (params.metadata !== undefined) changes.metadata = mergeMetadata(customer.metadata, params.metadata);
    const settings = obj(params, 'invoice_settings');
    if (settings && settings.default_payment_method !== undefined) {
      const pmId = settings.default_payment_method;
      if (typeof pmId !== 'string') throw invalidParam('Invalid string', 'invoice_settings[default_payment_method]');
      if (pmId !== '') {
        const pm = this.state.objects.payment_methods[pmId];
        if (!pm || pm.customer !== customer.id) {
          throw invalidRequest(`The customer does not have a payment method with the ID ${pmId}. The payment method must be attached to the customer.`, 'resource_missing', 'invoice_settings[default_payment_method]');
        }
      }
      changes.invoice_settings = { ...customer.invoice_settings, default_payment_method: pmId === '' ? null : pmId };
    }
    return this.change(customer, changes);
  }

  // ---- payment methods ------------------------------------------------------------------------

  /**
   * Resolves a PaymentMethod id. A test token (`pm_card_visa`) materialises into a new
   * PaymentMethod with its own id each time it is used, as on Stripe.
   */
  resolvePaymentMethod(idOrToken: string, param = 'payment_method'): StripeObject {
    const card = TEST_CARDS[idOrToken];
    if (card) {
      const pm = this.insert('payment_methods', {
        id: this.newId('pm'),
        object: 'payment_method',
        allow_redisplay: 'unspecified',
        billing_details: { address: null, email: null, name: null, phone: null },
        card: {
          brand: card.brand,
          checks: { address_line1_check: null, address_postal_code_check: null, cvc_check: 'pass' },
          country: 'US',
          display_brand: card.brand,
          exp_month: 12,
          exp_year: new Date(this.now() * 1000).getUTCFullYear() + 3,
          fingerprint: randomBytes(8).toString('hex'),
          funding: 'credit',
          last4: card.last4,
          networks: { available: [card.brand], preferred: null },
          wallet: null,
        },
        created: this.now(),
        customer: null,
        livemode: false,
        metadata: {},
        type: 'card',
      });
      this.state.testCards[pm.id] = idOrToken;
      return pm;
    }
    return this.get('payment_methods', idOrToken, 'PaymentMethod', param);
  }

  retrievePaymentMethod(id: string): StripeObject {
    return this.render(TEST_CARDS[id] ? this.resolvePaymentMethod(id) : this.get('payment_methods', id, 'PaymentMethod'));
  }

  attachPaymentMethod(id: string, params: FormObject, context: RequestContext): StripeObject {
    const customerId = requiredStr(params, 'customer');
    this.get('customers', customerId, 'customer', 'customer');
    const pm = this.resolvePaymentMethod(id);
    if (pm.customer && pm.customer !== customerId) {
      throw invalidRequest('The payment method you provided has already been attached to a customer.', 'payment_method_unexpected_state');
    }
    const previous = this.change(pm, { customer: customerId });
    if (Object.keys(previous).length > 0) this.publish('payment_method.attached', pm, context);
    return this.render(pm);
  }

  detachPaymentMethod(id: string, context: RequestContext): StripeObject {
    const pm = this.get('payment_methods', id, 'PaymentMethod');
    if (!pm.customer) throw invalidRequest('The payment method you provided is not attached to a customer so detachment is impossible.', 'payment_method_unexpected_state');
    this.change(pm, { customer: null });
    this.publish('payment_method.detached', pm, context);
    return this.render(pm);
  }

  // ---- payment intents ------------------------------------------------------------------------

  /** Stripe's currency rules for a charge amount (lib/local/stripe/currencies.ts): its form (ISK in whole krónur, KWD ending in 0), then the minimum. */
  private checkMinimum(amount: number, currency: string, param: string): void {
    checkAmountFormat(amount, currency, param);
    const minimum = minimumAmount(currency);
    if (amount < minimum) {
      throw new StripeApiError(400, 'invalid_request_error', `Amount must be at least ${formatAmount(minimum, currency)}`, {
        code: 'amount_too_small',
        param,
        replayable: false,
      });
    }
  }

  createPaymentIntent(params: FormObject, context: RequestContext): StripeObject {
    const amount = int(params, 'amount');
    if (amount === undefined) throw invalidParam('Missing required param: amount.', 'amount', 'parameter_missing');
    const currency = requiredStr(params, 'currency').toLowerCase();
    if (amount > 99_999_999) throw invalidRequest('Amount must be no more than 999,999.99', 'amount_too_large', 'amount');
    this.checkMinimum(amount, currency, 'amount');
    const customer = str(params, 'customer');
    if (customer) this.get('customers', customer, 'customer', 'customer');
    const captureMethod = str(params, 'capture_method') ?? 'automatic_async';
    if (!['automatic', 'automatic_async', 'manual'].includes(captureMethod)) throw invalidParam(`Invalid capture_method: ${captureMethod}`, 'capture_method');
    // API 2026-10 renamed the create parameter to allowed_payment_method_types; older versions send payment_method_types.
    const allowed = (list(params, 'allowed_payment_method_types') ?? list(params, 'payment_method_types')) as string[] | undefined;
    const types = allowed ?? ['card'];
    const pmParam = str(params, 'payment_method');
    const pm = pmParam ? this.resolvePaymentMethod(pmParam) : undefined;
    const intent = this.insert('payment_intents', {
      id: this.newId('pi'),
      object: 'payment_intent',
      amount,
      allowed_payment_method_types: allowed ?? null,
      amount_capturable: 0,
      amount_details: { tip: {} },
      amount_received: 0,
      application: null,
      application_fee_amount: null,
      automatic_payment_methods: null,
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: '',
      confirmation_method: 'automatic',
      created: this.now(),
      currency,
      customer: customer ?? null,
      description: str(params, 'description') ?? null,
      excluded_payment_method_types: null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: mergeMetadata({}, params.metadata),
      next_action: null,
      on_behalf_of: null,
      payment_method: pm?.id ?? null,
      payment_method_options: this.paymentMethodOptions(types, obj(params, 'payment_method_options')),
      payment_method_types: types,
      processing: null,
      receipt_email: str(params, 'receipt_email') ?? null,
      review: null,
      setup_future_usage: str(params, 'setup_future_usage') ?? null,
      shipping: null,
      statement_descriptor: str(params, 'statement_descriptor') ?? null,
      statement_descriptor_suffix: null,
      status: pm ? 'requires_confirmation' : 'requires_payment_method',
      transfer_data: null,
      transfer_group: null,
    });
    intent.client_secret = `${intent.id}_secret_${randomBytes(12).toString('hex')}`;
    this.publish('payment_intent.created', intent, context);
    if (bool(params, 'confirm')) return this.confirm(intent, { off_session: bool(params, 'off_session') ?? false }, context);
    return this.render(intent);
  }

  private paymentMethodOptions(types: string[], requested: FormObject | undefined): StripeObject {
    const options: StripeObject = {};
    for (const type of types) {
      const asked = requested?.[type];
      const entry: StripeObject = {};
      if (type === 'card') {
        entry.installments = null;
        entry.mandate_options = null;
        entry.network = null;
        entry.request_three_d_secure = 'automatic';
        if (asked && typeof asked === 'object' && !Array.isArray(asked)) {
          if (asked.request_incremental_authorization) entry.request_incremental_authorization = asked.request_incremental_authorization;
          if (asked.request_extended_authorization) entry.request_extended_authorization = asked.request_extended_authorization;
          if (asked.capture_method) entry.capture_method = asked.capture_method;
        }
      }
      if (type === 'card_present' && asked && typeof asked === 'object' && !Array.isArray(asked)) {
        if (asked.request_incremental_authorization_support) entry.request_incremental_authorization_support = asked.request_incremental_authorization_support === 'true';
        if (asked.request_extended_authorization) entry.request_extended_authorization = asked.request_extended_authorization === 'true';
      }
      options[type] = entry;
    }
    return options;
  }

  retrievePaymentIntent(id: string): StripeObject {
    return this.render(this.get('payment_intents', id, 'payment_intent'));
  }

  updatePaymentIntent(id: string, params: FormObject, context: RequestContext): StripeObject {
    const intent = this.get('payment_intents', id, 'payment_intent');
    const changes: StripeObject = {};
    if (params.metadata !== undefined) changes.metadata = mergeMetadata(intent.metadata, params.metadata);
    const description = str(params, 'description');
    if (description !== undefined) changes.description = description || null;
    const amount = int(params, 'amount');
    const pmParam = str(params, 'payment_method');
    if (amount !== undefined || pmParam !== undefined) {
      if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(intent.status)) {
        throw this.unexpectedState(intent, 'update');
      }
      if (amount !== undefined) {
        this.checkMinimum(amount, intent.currency, 'amount');
        changes.amount = amount;
      }
      if (pmParam) {
        changes.payment_method = this.resolvePaymentMethod(pmParam).id;
        changes.status = 'requires_confirmation';
      }
    }
    // Stripe has no payment_intent.updated event; an update changes state without one.
    this.change(intent, changes);
    void context;
    return this.render(intent);
  }

  private unexpectedState(intent: StripeObject, action: string, allowed?: string[]): StripeApiError {
    const tail = allowed ? ` Only a PaymentIntent with one of the following statuses may be ${action === 'capture' ? 'captured' : action === 'cancel' ? 'canceled' : `used for ${action}`}: ${allowed.join(', ')}.` : '';
    return new StripeApiError(400, 'invalid_request_error', `This PaymentIntent's ${action} could not be performed because it has a status of ${intent.status}.${tail}`, {
      code: 'payment_intent_unexpected_state',
      paymentIntent: this.render(intent),
    });
  }

  confirmPaymentIntent(id: string, params: FormObject, context: RequestContext): StripeObject {
    const intent = this.get('payment_intents', id, 'payment_intent');
    const pmParam = str(params, 'payment_method');
    if (pmParam) {
      if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(intent.status)) {
        throw this.unexpectedState(intent, 'confirm', ['requires_payment_method', 'requires_confirmation', 'requires_action']);
      }
      intent.payment_method = this.resolvePaymentMethod(pmParam).id;
    }
    return this.confirm(intent, { off_session: bool(params, 'off_session') ?? false }, context);
  }

  /** Authorizes the PaymentIntent's payment method: a charge, a decline, or 3-D Secure. */
  private confirm(intent: StripeObject, options: { off_session: boolean }, context: RequestContext): StripeObject {
    if (!['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(intent.status)) {
      throw this.unexpectedState(intent, 'confirm', ['requires_payment_method', 'requires_confirmation', 'requires_action']);
    }
    if (!intent.payment_method) {
      throw new StripeApiError(400, 'invalid_request_error', 'You cannot confirm this PaymentIntent because it\'s missing a payment method. To confirm the PaymentIntent with a customer\'s saved payment method, pass `payment_method`.', {
        code: 'payment_intent_unexpected_state',
        paymentIntent: this.render(intent),
      });
    }
    const pm = this.get('payment_methods', intent.payment_method, 'PaymentMethod', 'payment_method');
    const card = this.testCardOf(pm);
    const decline = context.forceDecline
      ? { code: context.forceDecline.code, declineCode: context.forceDecline.declineCode, message: 'Your card was declined.' }
      : card.decline ??
        (card.authenticationRequired && options.off_session && intent.status !== 'requires_action'
          ? { code: 'authentication_required', declineCode: 'authentication_required', message: 'Your card was declined. This transaction requires authentication.' }
          : undefined);
    context.forceDecline = undefined;
    if (decline) return this.decline(intent, pm, decline, context);
    if (card.authenticationRequired && intent.status !== 'requires_action') {
      const previous = this.change(intent, {
        status: 'requires_action',
        next_action: { type: 'use_stripe_sdk', use_stripe_sdk: { type: 'three_d_secure_redirect', stripe_js: `https://hooks.stripe.com/3d_secure_2/hosted?payment_intent=${intent.id}` } },
      });
      this.publish('payment_intent.requires_action', intent, context, previous);
      return this.render(intent);
    }
    return this.authorize(intent, pm, card, context);
  }

  /** How a PaymentMethod behaves: the test card it was made from, visa 4242 when unknown. */
  private testCardOf(pm: StripeObject): TestCard {
    const key = this.state.testCards[pm.id] ?? '';
    const table = pm.type === 'card_present' ? CARD_PRESENT_TEST_CARDS : TEST_CARDS;
    return table[key] ?? TEST_CARDS.pm_card_visa!;
  }

  /**
   * Confirms a PaymentIntent with a PaymentMethod a Terminal reader just read: the same
   * authorization, decline and capture paths as `confirm`, on-session. A decline throws the 402
   * `StripeApiError` that `confirm` would answer, after the PaymentIntent recorded it.
   */
  confirmPresented(intentId: string, pm: StripeObject, context: RequestContext): StripeObject {
    const intent = this.get('payment_intents', intentId, 'payment_intent', 'payment_intent');
    const confirmable = ['requires_payment_method', 'requires_confirmation', 'requires_action'];
    if (!confirmable.includes(intent.status)) throw this.unexpectedState(intent, 'confirm', confirmable);
    intent.payment_method = pm.id;
    return this.confirm(intent, { off_session: false }, context);
  }

  private decline(intent: StripeObject, pm: StripeObject, decline: { code: string; declineCode: string; message: string }, context: RequestContext): never {
    const charge = this.newCharge(intent, pm, 'failed');
    charge.failure_code = decline.code;
    charge.failure_message = decline.message;
    charge.outcome = { network_status: 'declined_by_network', reason: decline.declineCode, risk_level: 'normal', seller_message: 'The bank did not return any further details with this decline.', type: 'issuer_declined' };
    charge.paid = false;
    this.publish('charge.failed', charge, context);
    const error = { type: 'card_error', code: decline.code, decline_code: decline.declineCode, message: decline.message, charge: charge.id, payment_method: this.render(pm), doc_url: `https://docs.stripe.com/error-codes/${decline.code.replace(/_/g, '-')}` };
    const previous = this.change(intent, { status: 'requires_payment_method', last_payment_error: error, latest_charge: charge.id, payment_method: null, next_action: null });
    this.publish('payment_intent.payment_failed', intent, context, previous);
    throw new StripeApiError(402, 'card_error', decline.message, {
      code: decline.code,
      declineCode: decline.declineCode,
      charge: charge.id,
      paymentIntent: this.render(intent),
      paymentMethod: this.render(pm),
    });
  }

  private newCharge(intent: StripeObject, pm: StripeObject, status: 'succeeded' | 'failed'): StripeObject {
    // A reader's PaymentMethod is card_present; a card token on a card_present-only intent is too.
    const cardPresent = pm.type === 'card_present' || (intent.payment_method_types.includes('card_present') && !intent.payment_method_types.includes('card'));
    const type = cardPresent ? 'card_present' : 'card';
    const card = pm.card ?? pm.card_present ?? {};
    const details: StripeObject = {
      brand: card.brand,
      country: card.country,
      exp_month: card.exp_month,
      exp_year: card.exp_year,
      fingerprint: card.fingerprint,
      funding: card.funding,
      last4: card.last4,
      network: card.brand,
    };
    return this.insert('charges', {
      id: this.newId('ch'),
      object: 'charge',
      amount: intent.amount,
      amount_captured: 0,
      amount_refunded: 0,
      application: null,
      application_fee: null,
      application_fee_amount: null,
      balance_transaction: null,
      billing_details: pm.billing_details,
      calculated_statement_descriptor: 'VOLTLEDGER',
      captured: false,
      created: this.now(),
      currency: intent.currency,
      customer: intent.customer,
      description: intent.description,
      disputed: false,
      failure_balance_transaction: null,
      failure_code: null,
      failure_message: null,
      fraud_details: {},
      livemode: false,
      metadata: { ...intent.metadata },
      on_behalf_of: null,
      outcome: { network_status: 'approved_by_network', reason: null, risk_level: 'normal', risk_score: 20, seller_message: 'Payment complete.', type: 'authorized' },
      paid: status === 'succeeded',
      payment_intent: intent.id,
      payment_method: pm.id,
      payment_method_details: { type, [type]: details },
      receipt_email: intent.receipt_email,
      receipt_url: null,
      refunded: false,
      review: null,
      shipping: null,
      source_transfer: null,
      statement_descriptor: intent.statement_descriptor,
      statement_descriptor_suffix: null,
      status,
      transfer_data: null,
      transfer_group: null,
    });
  }

  private authorize(intent: StripeObject, pm: StripeObject, card: TestCard, context: RequestContext): StripeObject {
    const charge = this.newCharge(intent, pm, 'succeeded');
    const type = charge.payment_method_details.type as string;
    const details = charge.payment_method_details[type];
    const manual = intent.capture_method === 'manual';
    if (type === 'card') {
      const requested = intent.payment_method_options.card?.request_incremental_authorization;
      const available = manual && card.incrementalAuthorization && (requested === 'if_available' || requested === 'required');
      details.incremental_authorization = { status: available ? 'available' : 'unavailable' };
      details.overcapture = { maximum_amount_capturable: intent.amount, status: 'unavailable' };
      details.extended_authorization = { status: 'disabled' };
      details.multicapture = { status: 'unavailable' };
      details.checks = pm.card?.checks ?? null;
      details.three_d_secure = card.authenticationRequired ? { authentication_flow: 'challenge', result: 'authenticated', version: '2.2.0' } : null;
    } else {
      const requested = intent.payment_method_options.card_present?.request_incremental_authorization_support === true;
      details.incremental_authorization_supported = manual && requested && card.incrementalAuthorization;
      details.overcapture_supported = false;
      details.amount_authorized = intent.amount;
      details.brand_product = null;
      details.cardholder_name = null;
      details.generated_card = null;
      details.network_transaction_id = randomBytes(8).toString('hex');
      details.offline = null;
      details.preferred_locales = ['en'];
      details.read_method = pm.card_present?.read_method ?? 'contactless_emv';
      details.receipt = {
        account_type: card.funding === 'debit' ? 'checking' : 'credit',
        application_cryptogram: randomBytes(8).toString('hex').toUpperCase(),
        application_preferred_name: `${String(card.brand ?? 'card').toUpperCase()} ${card.funding === 'debit' ? 'DEBIT' : 'CREDIT'}`,
        authorization_code: String(100_000 + (randomBytes(3).readUIntBE(0, 3) % 900_000)),
        authorization_response_code: '3030',
        cardholder_verification_method: 'approval',
        dedicated_file_name: 'A0000000031010',
        terminal_verification_results: '0000000000',
        transaction_status_information: '0000',
      };
      details.wallet = { type: 'unknown' };
    }
    if (manual) details.capture_before = charge.created + this.authorizationValidity;
    this.publish('charge.succeeded', charge, context);
    if (manual) {
      const previous = this.change(intent, { status: 'requires_capture', amount_capturable: intent.amount, latest_charge: charge.id, last_payment_error: null, next_action: null });
      this.publish('payment_intent.amount_capturable_updated', intent, context, previous);
      return this.render(intent);
    }
    this.captureCharge(charge, intent.amount, context, false);
    const previous = this.change(intent, { status: 'succeeded', amount_received: intent.amount, latest_charge: charge.id, last_payment_error: null, next_action: null });
    this.publish('payment_intent.succeeded', intent, context, previous);
    return this.render(intent);
  }

  /** Completes (or fails) 3-D Secure for a PaymentIntent in `requires_action`, as the customer would. */
  authenticate(id: string, succeed: boolean): StripeObject {
    const intent = this.get('payment_intents', id, 'payment_intent');
    if (intent.status !== 'requires_action') throw this.unexpectedState(intent, 'authentication', ['requires_action']);
    const pm = this.get('payment_methods', intent.payment_method, 'PaymentMethod');
    if (!succeed) {
      const error = { type: 'card_error', code: 'payment_intent_authentication_failure', message: 'The provided PaymentMethod has failed authentication.', payment_method: this.render(pm) };
      const previous = this.change(intent, { status: 'requires_payment_method', last_payment_error: error, next_action: null, payment_method: null });
      this.publish('payment_intent.payment_failed', intent, noRequest, previous);
      return this.render(intent);
    }
    return this.authorize(intent, pm, this.testCardOf(pm), noRequest);
  }

  private fee(amount: number, currency: string): number {
    // Integer basis points, rounded half up once: no binary floats touch the money. Then to an
    // amount the currency has at Stripe (whole krónur for ISK, tens of fils for KWD).
    return roundToMultiple(Math.floor((amount * this.feeBasisPoints + 5_000) / 10_000) + this.feeFixedMinor, currency);
  }

  private balanceTransaction(fields: { amount: number; currency: string; fee: number; type: string; reporting_category: string; source: string; description?: string | null; available_on?: number }): StripeObject {
    const created = this.now();
    return this.insert('balance_transactions', {
      id: this.newId('txn'),
      object: 'balance_transaction',
      amount: fields.amount,
      available_on: fields.available_on ?? created + this.availableAfter,
      balance_type: 'payments',
      created,
      currency: fields.currency,
      description: fields.description ?? null,
      exchange_rate: null,
      fee: fields.fee,
      fee_details: fields.fee ? [{ amount: fields.fee, application: null, currency: fields.currency, description: 'Stripe processing fees', type: 'stripe_fee' }] : [],
      net: fields.amount - fields.fee,
      reporting_category: fields.reporting_category,
      source: fields.source,
      status: 'pending',
      type: fields.type,
    });
  }

  private captureCharge(charge: StripeObject, amount: number, context: RequestContext, announce: boolean): StripeObject {
    const txn = this.balanceTransaction({ amount, currency: charge.currency, fee: this.fee(amount, charge.currency), type: 'charge', reporting_category: 'charge', source: charge.id, description: charge.description });
    // A partial capture releases the rest of the hold: Stripe reports it as refunded on the charge.
    const previous = this.change(charge, {
      captured: true,
      amount_captured: amount,
      amount_refunded: charge.amount - amount,
      refunded: false,
      balance_transaction: txn.id,
    });
    // Automatic capture is part of the authorization (charge.succeeded says it all); a separate
    // capture of a held charge emits charge.captured.
    if (announce) this.publish('charge.captured', charge, context, previous);
    return charge;
  }

  capturePaymentIntent(id: string, params: FormObject, context: RequestContext): StripeObject {
    const intent = this.get('payment_intents', id, 'payment_intent');
    const charge = intent.latest_charge ? this.state.objects.charges[intent.latest_charge] : undefined;
    if (charge && charge.status === 'succeeded' && this.chargeExpired(charge)) {
      throw new StripeApiError(400, 'invalid_request_error', 'The charge has expired and can no longer be captured. Create a new payment to charge the customer.', {
        code: 'charge_expired_for_capture',
        charge: charge.id,
        paymentIntent: this.render(intent),
      });
    }
    if (intent.status !== 'requires_capture' || !charge) throw this.unexpectedState(intent, 'capture', ['requires_capture']);
    const amount = int(params, 'amount_to_capture') ?? intent.amount_capturable;
    if (amount > intent.amount_capturable) {
      throw new StripeApiError(400, 'invalid_request_error', `The amount to capture (${amount}) must be less than or equal to the amount_capturable (${intent.amount_capturable}).`, {
        code: 'amount_too_large',
        param: 'amount_to_capture',
        paymentIntent: this.render(intent),
      });
    }
    this.checkMinimum(amount, intent.currency, 'amount_to_capture');
    if (params.metadata !== undefined) intent.metadata = mergeMetadata(intent.metadata, params.metadata);
    this.captureCharge(charge, amount, context, true);
    const previous = this.change(intent, { status: 'succeeded', amount_received: amount, amount_capturable: 0 });
    this.publish('payment_intent.succeeded', intent, context, previous);
    return this.render(intent);
  }

  cancelPaymentIntent(id: string, params: FormObject, context: RequestContext): StripeObject {
    const intent = this.get('payment_intents', id, 'payment_intent');
    const cancelable = ['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action'];
    if (!cancelable.includes(intent.status)) throw this.unexpectedState(intent, 'cancel', cancelable);
    const reason = str(params, 'cancellation_reason') ?? null;
    if (reason && !['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'].includes(reason)) throw invalidParam(`Invalid cancellation_reason: ${reason}`, 'cancellation_reason');
    if (intent.status === 'requires_capture' && intent.latest_charge) {
      const charge = this.get('charges', intent.latest_charge, 'charge');
      // Releasing an authorization refunds the uncaptured charge in full, without a Refund object.
      const chargePrevious = this.change(charge, { refunded: true, amount_refunded: charge.amount });
      this.publish('charge.refunded', charge, context, chargePrevious);
    }
    const previous = this.change(intent, { status: 'canceled', canceled_at: this.now(), cancellation_reason: reason, amount_capturable: 0, next_action: null });
    this.publish('payment_intent.canceled', intent, context, previous);
    return this.render(intent);
  }

  incrementAuthorization(id: string, params: FormObject, context: RequestContext): StripeObject {
    const intent = this.get('payment_intents', id, 'payment_intent');
    const amount = int(params, 'amount');
    if (amount === undefined) throw invalidParam('Missing required param: amount.', 'amount', 'parameter_missing');
    if (intent.status !== 'requires_capture') throw this.unexpectedState(intent, 'increment_authorization', ['requires_capture']);
    const charge = this.get('charges', intent.latest_charge, 'charge');
    const type = charge.payment_method_details.type as string;
    const details = charge.payment_method_details[type];
    const available = type === 'card' ? details.incremental_authorization?.status === 'available' : details.incremental_authorization_supported === true;
    if (!available) {
      throw new StripeApiError(400, 'invalid_request_error', 'This PaymentIntent is not eligible for incremental authorization: the charge\'s incremental authorization is unavailable.', {
        param: 'amount',
        paymentIntent: this.render(intent),
      });
    }
    if (amount <= intent.amount) throw invalidParam(`The amount (${amount}) must be greater than the PaymentIntent's current amount (${intent.amount}).`, 'amount');
    checkAmountFormat(amount, intent.currency, 'amount');
    const attempts = (this.state.incrementAttempts[intent.id] ?? 0) + 1;
    if (attempts > 10) throw invalidRequest('This PaymentIntent has reached the maximum of 10 incremental authorization attempts.', 'payment_intent_unexpected_state');
    this.state.incrementAttempts[intent.id] = attempts;
    if (context.forceDecline) {
      // A declined increment changes nothing: the earlier amount stays capturable.
      const { code, declineCode } = context.forceDecline;
      context.forceDecline = undefined;
      throw new StripeApiError(402, 'card_error', 'Your card was declined.', { code, declineCode, charge: charge.id, paymentIntent: this.render(intent) });
    }
    charge.amount = amount;
    if (details.overcapture) details.overcapture.maximum_amount_capturable = amount;
    if (details.amount_authorized !== undefined) details.amount_authorized = amount;
    if (params.metadata !== undefined) intent.metadata = mergeMetadata(intent.metadata, params.metadata);
    const description = str(params, 'description');
    if (description !== undefined) intent.description = description;
    const previous = this.change(intent, { amount, amount_capturable: amount });
    this.publish('payment_intent.amount_capturable_updated', intent, context, previous);
    return this.render(intent);
  }

  listPaymentIntents(params: FormObject): StripeObject {
    const customer = str(params, 'customer');
    return this.list('payment_intents', '/v1/payment_intents', params, (o) => !customer || o.customer === customer);
  }

  retrieveCharge(id: string): StripeObject {
    return this.render(this.get('charges', id, 'charge'));
  }

  listCharges(params: FormObject): StripeObject {
    const intent = str(params, 'payment_intent');
    const customer = str(params, 'customer');
    return this.list('charges', '/v1/charges', params, (o) => (!intent || o.payment_intent === intent) && (!customer || o.customer === customer));
  }

  // ---- refunds --------------------------------------------------------------------------------

  createRefund(params: FormObject, context: RequestContext): StripeObject {
    const intentId = str(params, 'payment_intent');
    const chargeId = str(params, 'charge');
    if (!intentId && !chargeId) throw invalidParam('One of the following params should be provided for this request: payment_intent or charge.', 'charge', 'parameter_missing');
    let charge: StripeObject;
    if (chargeId) {
      charge = this.get('charges', chargeId, 'charge', 'charge');
    } else {
      const intent = this.get('payment_intents', intentId!, 'payment_intent', 'payment_intent');
      if (!intent.latest_charge || intent.status !== 'succeeded') {
        throw invalidRequest(`This PaymentIntent (${intent.id}) does not have a successful charge to refund.`, 'charge_not_refundable', 'payment_intent');
      }
      charge = this.get('charges', intent.latest_charge, 'charge');
    }
    if (!charge.captured) throw invalidRequest(`Charge ${charge.id} has not been captured; cancel its PaymentIntent to release the authorization instead.`, 'charge_not_refundable', 'charge');
    const openDispute = Object.values(this.state.objects.disputes).find((d) => d.charge === charge.id && !['won', 'lost'].includes(d.status));
    if (openDispute) throw invalidRequest(`Charge ${charge.id} has been charged back; cannot issue a refund.`, 'charge_disputed', 'charge');
    const remaining = charge.amount - charge.amount_refunded;
    if (remaining <= 0) throw invalidRequest(`Charge ${charge.id} has already been refunded.`, 'charge_already_refunded', 'charge');
    const amount = int(params, 'amount') ?? remaining;
    if (amount <= 0) throw invalidParam('Invalid positive integer', 'amount', 'parameter_invalid_integer');
    checkAmountFormat(amount, charge.currency, 'amount');
    if (amount > remaining) {
      throw invalidRequest(
        `Refund amount (${formatAmount(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatAmount(remaining, charge.currency)})`,
        'amount_too_large',
        'amount',
      );
    }
    const reason = str(params, 'reason') ?? null;
    if (reason && !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)) throw invalidParam(`Invalid reason: ${reason}`, 'reason');
    const refund = this.insert('refunds', {
      id: this.newId('re'),
      object: 'refund',
      amount,
      balance_transaction: null,
      charge: charge.id,
      created: this.now(),
      currency: charge.currency,
      destination_details: { card: { reference_status: 'pending', reference_type: 'acquirer_reference_number', type: 'refund' }, type: 'card' },
      metadata: mergeMetadata({}, params.metadata),
      payment_intent: charge.payment_intent,
      reason,
      receipt_number: null,
      source_transfer_reversal: null,
      status: 'succeeded',
      transfer_reversal: null,
    });
    // Stripe keeps the processing fee of a refunded charge; the refund moves only its amount.
    const txn = this.balanceTransaction({ amount: -amount, currency: charge.currency, fee: 0, type: 'refund', reporting_category: 'refund', source: refund.id, available_on: this.now() });
    refund.balance_transaction = txn.id;
    const previous = this.change(charge, { amount_refunded: charge.amount_refunded + amount, refunded: charge.amount_refunded + amount === charge.amount });
    this.publish('refund.created', refund, context);
    this.publish('charge.refunded', charge, context, previous);
    return this.render(refund);
  }

  updateRefund(id: string, params: FormObject, context: RequestContext): StripeObject {
    const refund = this.get('refunds', id, 'refund');
    const previous = this.change(refund, { metadata: mergeMetadata(refund.metadata, params.metadata) });
    if (Object.keys(previous).length > 0) this.publish('refund.updated', refund, context, previous);
    return this.render(refund);
  }

  /** Test control: the refund fails after the fact (closed card account); the money returns. */
  failRefund(id: string): StripeObject {
    const refund = this.get('refunds', id, 'refund');
    if (refund.status !== 'succeeded' && refund.status !== 'pending') throw invalidRequest(`Refund ${id} has status ${refund.status}.`);
    const charge = this.get('charges', refund.charge, 'charge');
    const txn = this.balanceTransaction({ amount: refund.amount, currency: refund.currency, fee: 0, type: 'refund_failure', reporting_category: 'refund_failure', source: refund.id, available_on: this.now() });
    const previous = this.change(refund, { status: 'failed', failure_reason: 'expired_or_canceled_card', failure_balance_transaction: txn.id });
    this.change(charge, { amount_refunded: charge.amount_refunded - refund.amount, refunded: false });
    this.publish('refund.updated', refund, noRequest, previous);
    this.publish('refund.failed', refund, noRequest, previous);
    return this.render(refund);
  }

  listRefunds(params: FormObject): StripeObject {
    const intent = str(params, 'payment_intent');
    const charge = str(params, 'charge');
    return this.list('refunds', '/v1/refunds', params, (o) => (!intent || o.payment_intent === intent) && (!charge || o.charge === charge));
  }

  // ---- disputes -------------------------------------------------------------------------------

  /** Test control: the cardholder disputes a captured charge; the amount and the dispute fee are withdrawn. */
  openDispute(chargeId: string, options: { amount?: number; reason?: string } = {}): StripeObject {
    const charge = this.get('charges', chargeId, 'charge', 'charge');
    if (!charge.captured) throw invalidRequest(`Charge ${chargeId} is not captured and cannot be disputed.`);
    if (charge.disputed) throw invalidRequest(`Charge ${chargeId} is already disputed.`, 'charge_disputed');
    const amount = options.amount ?? charge.amount - charge.amount_refunded;
    const dispute = this.insert('disputes', {
      id: this.newId('du'),
      object: 'dispute',
      amount,
      balance_transactions: [],
      charge: charge.id,
      created: this.now(),
      currency: charge.currency,
      evidence: {},
      evidence_details: { due_by: this.now() + 7 * DAY, has_evidence: false, past_due: false, submission_count: 0 },
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: charge.payment_intent,
      reason: options.reason ?? 'fraudulent',
      status: 'needs_response',
    });
    const txn = this.balanceTransaction({ amount: -amount, currency: charge.currency, fee: this.disputeFeeMinor, type: 'adjustment', reporting_category: 'dispute', source: dispute.id, description: `Chargeback withdrawal for ${charge.id}`, available_on: this.now() });
    dispute.balance_transactions = [this.render(txn)];
    this.change(charge, { disputed: true });
    this.publish('charge.dispute.created', dispute, noRequest);
    this.publish('charge.dispute.funds_withdrawn', dispute, noRequest);
    return this.render(dispute);
  }

  /** Closes a dispute: `won` reinstates the amount (the dispute fee is kept), `lost` keeps the withdrawal. */
  closeDispute(id: string, outcome: 'won' | 'lost', context: RequestContext = noRequest): StripeObject {
    const dispute = this.get('disputes', id, 'dispute');
    if (dispute.status === 'won' || dispute.status === 'lost') throw invalidRequest(`Dispute ${id} is already closed (${dispute.status}).`);
    if (outcome === 'won') {
      const txn = this.balanceTransaction({ amount: dispute.amount, currency: dispute.currency, fee: 0, type: 'adjustment', reporting_category: 'dispute_reversal', source: dispute.id, description: `Chargeback reversal for ${dispute.charge}`, available_on: this.now() });
      dispute.balance_transactions.push(this.render(txn));
    }
    const previous = this.change(dispute, { status: outcome });
    if (outcome === 'won') this.publish('charge.dispute.funds_reinstated', dispute, context);
    this.publish('charge.dispute.closed', dispute, context, previous);
    return this.render(dispute);
  }

  listDisputes(params: FormObject): StripeObject {
    const charge = str(params, 'charge');
    const intent = str(params, 'payment_intent');
    return this.list('disputes', '/v1/disputes', params, (o) => (!charge || o.charge === charge) && (!intent || o.payment_intent === intent));
  }

  // ---- balance and payouts ---------------------------------------------------------------------

  listBalanceTransactions(params: FormObject): StripeObject {
    const payout = str(params, 'payout');
    const type = str(params, 'type');
    const source = str(params, 'source');
    const currency = str(params, 'currency');
    if (payout) this.get('payouts', payout, 'payout', 'payout');
    return this.list('balance_transactions', '/v1/balance_transactions', params, (o) =>
      (!payout || this.state.payoutOf[o.id] === payout) && (!type || o.type === type) && (!source || o.source === source) && (!currency || o.currency === currency),
    );
  }

  balance(): StripeObject {
    const sums = new Map<string, { available: number; pending: number }>();
    const now = this.now();
    for (const txn of Object.values(this.state.objects.balance_transactions)) {
      const entry = sums.get(txn.currency) ?? { available: 0, pending: 0 };
      if (txn.available_on <= now) entry.available += txn.net;
      else entry.pending += txn.net;
      sums.set(txn.currency, entry);
    }
    const currencies = [...sums.keys()].sort();
    if (currencies.length === 0) currencies.push('eur');
    return {
      object: 'balance',
      available: currencies.map((currency) => ({ amount: sums.get(currency)?.available ?? 0, currency, source_types: { card: sums.get(currency)?.available ?? 0 } })),
      livemode: false,
      pending: currencies.map((currency) => ({ amount: sums.get(currency)?.pending ?? 0, currency, source_types: { card: sums.get(currency)?.pending ?? 0 } })),
    };
  }

  /**
   * Test control: an automatic payout of the available balance per currency. Each payout links the
   * balance transactions it settles (`GET /v1/balance_transactions?payout=po_...`), its own
   * `payout` transaction included. `fail` makes the bank return it (`payout.failed`).
   */
  payout(options: { currency?: string; fail?: boolean } = {}): StripeObject[] {
    const now = this.now();
    const byCurrency = new Map<string, StripeObject[]>();
    for (const txn of Object.values(this.state.objects.balance_transactions)) {
      if (this.state.payoutOf[txn.id] || txn.available_on > now || txn.type === 'payout' || txn.type === 'payout_failure') continue;
      if (options.currency && txn.currency !== options.currency) continue;
      byCurrency.set(txn.currency, [...(byCurrency.get(txn.currency) ?? []), txn]);
    }
    const payouts: StripeObject[] = [];
    for (const [currency, txns] of byCurrency) {
      const amount = txns.reduce((sum, t) => sum + t.net, 0);
      if (amount <= 0) continue;
      const payout = this.insert('payouts', {
        id: this.newId('po'),
        object: 'payout',
        amount,
        application_fee: null,
        application_fee_amount: null,
        arrival_date: now + DAY,
        automatic: true,
        balance_transaction: null,
        created: now,
        currency,
        description: 'STRIPE PAYOUT',
        destination: 'ba_emulator',
        failure_balance_transaction: null,
        failure_code: null,
        failure_message: null,
        livemode: false,
        metadata: {},
        method: 'standard',
        original_payout: null,
        reconciliation_status: 'completed',
        reversed_by: null,
        source_type: 'card',
        statement_descriptor: null,
        status: 'pending',
        trace_id: null,
        type: 'bank_account',
      });
      const txn = this.balanceTransaction({ amount: -amount, currency, fee: 0, type: 'payout', reporting_category: 'payout', source: payout.id, description: 'STRIPE PAYOUT', available_on: now });
      payout.balance_transaction = txn.id;
      for (const settled of [...txns, txn]) this.state.payoutOf[settled.id] = payout.id;
      this.publish('payout.created', payout, noRequest);
      if (options.fail) {
        const failure = this.balanceTransaction({ amount, currency, fee: 0, type: 'payout_failure', reporting_category: 'payout_reversal', source: payout.id, description: 'Payout failure', available_on: now });
        const previous = this.change(payout, { status: 'failed', failure_code: 'account_closed', failure_message: 'The bank account has been closed.', failure_balance_transaction: failure.id });
        this.publish('payout.failed', payout, noRequest, previous);
      } else {
        const previous = this.change(payout, { status: 'paid' });
        this.publish('payout.paid', payout, noRequest, previous);
      }
      payouts.push(this.render(payout));
    }
    return payouts;
  }

  // ---- prices and products --------------------------------------------------------------------

  createProduct(params: FormObject, context: RequestContext): StripeObject {
    const product = this.insert('products', {
      id: this.newId('prod'),
      object: 'product',
      active: true,
      created: this.now(),
      description: str(params, 'description') ?? null,
      livemode: false,
      metadata: mergeMetadata({}, params.metadata),
      name: requiredStr(params, 'name'),
      updated: this.now(),
    });
    this.publish('product.created', product, context);
    return this.render(product);
  }

  createPrice(params: FormObject, context: RequestContext): StripeObject {
    const currency = requiredStr(params, 'currency').toLowerCase();
    const unitAmount = int(params, 'unit_amount');
    if (unitAmount === undefined) throw invalidParam('Missing required param: unit_amount.', 'unit_amount', 'parameter_missing');
    checkAmountFormat(unitAmount, currency, 'unit_amount');
    let productId = str(params, 'product');
    const productData = obj(params, 'product_data');
    if (!productId && productData) productId = this.createProduct(productData, context).id;
    if (!productId) throw invalidParam('Missing required param: product.', 'product', 'parameter_missing');
    this.get('products', productId, 'product', 'product');
    const recurring = obj(params, 'recurring');
    const price = this.insert('prices', {
      id: this.newId('price'),
      object: 'price',
      active: true,
      billing_scheme: 'per_unit',
      created: this.now(),
      currency,
      livemode: false,
      lookup_key: str(params, 'lookup_key') ?? null,
      metadata: mergeMetadata({}, params.metadata),
      nickname: str(params, 'nickname') ?? null,
      product: productId,
      recurring: recurring
        ? { interval: String(recurring.interval ?? 'month'), interval_count: Number(recurring.interval_count ?? 1), usage_type: 'licensed', meter: null, trial_period_days: null }
        : null,
      tax_behavior: 'unspecified',
      type: recurring ? 'recurring' : 'one_time',
      unit_amount: unitAmount,
      unit_amount_decimal: String(unitAmount),
    });
    this.publish('price.created', price, context);
    return this.render(price);
  }

  // ---- subscriptions and invoices --------------------------------------------------------------

  createSubscription(params: FormObject, context: RequestContext): StripeObject {
    const customerId = requiredStr(params, 'customer');
    const customer = this.get('customers', customerId, 'customer', 'customer');
    const items = list(params, 'items');
    if (!items || items.length === 0) throw invalidParam('Missing required param: items.', 'items', 'parameter_missing');
    const now = this.now();
    const trialDays = int(params, 'trial_period_days');
    const resolved = items.map((item, index) => {
      if (typeof item !== 'object' || Array.isArray(item) || typeof item.price !== 'string') throw invalidParam('Missing required param: items[0][price].', `items[${index}][price]`, 'parameter_missing');
      const price = this.get('prices', item.price, 'price', `items[${index}][price]`);
      if (!price.recurring) throw invalidRequest(`The price specified (${price.id}) is not recurring. Subscriptions require recurring prices.`, undefined, `items[${index}][price]`);
      return { price, quantity: typeof item.quantity === 'string' ? Number(item.quantity) : 1 };
    });
    const first = resolved[0]!.price;
    const periodEnd = trialDays ? now + trialDays * DAY : addInterval(now, first.recurring.interval, first.recurring.interval_count);
    const defaultPm = str(params, 'default_payment_method') ?? null;
    if (defaultPm) {
      const pm = this.get('payment_methods', defaultPm, 'PaymentMethod', 'default_payment_method');
      if (pm.customer !== customer.id) throw invalidRequest(`The customer does not have a payment method with the ID ${defaultPm}.`, 'resource_missing', 'default_payment_method');
    }
    const id = this.newId('sub');
    const subscription = this.insert('subscriptions', {
      id,
      object: 'subscription',
      application: null,
      billing_cycle_anchor: periodEnd,
      cancel_at: null,
      cancel_at_period_end: bool(params, 'cancel_at_period_end') ?? false,
      canceled_at: null,
      cancellation_details: { comment: null, feedback: null, reason: null },
      collection_method: 'charge_automatically',
      created: now,
      currency: first.currency,
      customer: customer.id,
      days_until_due: null,
      default_payment_method: defaultPm,
      description: str(params, 'description') ?? null,
      ended_at: null,
      items: {
        object: 'list',
        data: resolved.map(({ price, quantity }) => ({
          id: this.newId('si'),
          object: 'subscription_item',
          created: now,
          current_period_end: periodEnd,
          current_period_start: now,
          metadata: {},
          price: this.render(price),
          quantity,
          subscription: id,
        })),
        has_more: false,
        url: `/v1/subscription_items?subscription=${id}`,
      },
      latest_invoice: null,
      livemode: false,
      metadata: mergeMetadata({}, params.metadata),
      pause_collection: null,
      start_date: now,
      status: trialDays ? 'trialing' : 'incomplete',
      trial_end: trialDays ? periodEnd : null,
      trial_start: trialDays ? now : null,
    });
    if (subscription.cancel_at_period_end) subscription.cancel_at = periodEnd;
    const invoice = this.createInvoice(subscription, trialDays ? 0 : this.subscriptionTotal(subscription), 'subscription_create', now, periodEnd, context);
    subscription.latest_invoice = invoice.id;
    if (!trialDays) subscription.status = invoice.status === 'paid' ? 'active' : 'incomplete';
    this.publish('customer.subscription.created', subscription, context);
    this.publishInvoice(invoice, context);
    return this.render(subscription);
  }

  private subscriptionTotal(subscription: StripeObject): number {
    return subscription.items.data.reduce((sum: number, item: StripeObject) => sum + item.price.unit_amount * item.quantity, 0);
  }

  /** An invoice for one period, paid at once with the default payment method when there is one. */
  private createInvoice(subscription: StripeObject, amount: number, reason: string, periodStart: number, periodEnd: number, context: RequestContext): StripeObject {
    const now = this.now();
    const invoice = this.insert('invoices', {
      id: this.newId('in'),
      object: 'invoice',
      account_country: 'DE',
      amount_due: amount,
      amount_paid: 0,
      amount_remaining: amount,
      attempt_count: 0,
      attempted: false,
      auto_advance: true,
      billing_reason: reason,
      collection_method: 'charge_automatically',
      created: now,
      currency: subscription.currency,
      customer: subscription.customer,
      description: null,
      hosted_invoice_url: null,
      lines: {
        object: 'list',
        data: subscription.items.data.map((item: StripeObject) => ({
          id: this.newId('il'),
          object: 'line_item',
          amount: amount === 0 ? 0 : item.price.unit_amount * item.quantity,
          currency: subscription.currency,
          description: `${item.quantity} × membership`,
          metadata: {},
          period: { end: periodEnd, start: periodStart },
          pricing: { price_details: { price: item.price.id, product: item.price.product }, type: 'price_details', unit_amount_decimal: String(item.price.unit_amount) },
          quantity: item.quantity,
        })),
        has_more: false,
        url: '/v1/invoices/lines',
      },
      livemode: false,
      metadata: {},
      number: null,
      parent: { quote_details: null, subscription_details: { metadata: { ...subscription.metadata }, subscription: subscription.id }, type: 'subscription_details' },
      period_end: periodEnd,
      period_start: periodStart,
      status: 'open',
      status_transitions: { finalized_at: now, marked_uncollectible_at: null, paid_at: null, voided_at: null },
      subtotal: amount,
      total: amount,
    });
    invoice.number = `${invoice.id.slice(3, 11).toUpperCase()}-0001`;
    this.publish('invoice.created', invoice, context);
    this.publish('invoice.finalized', invoice, context);
    if (amount === 0) {
      this.change(invoice, { status: 'paid', status_transitions: { ...invoice.status_transitions, paid_at: now } });
      return invoice;
    }
    const customer = this.get('customers', subscription.customer, 'customer');
    const pmId = subscription.default_payment_method ?? customer.invoice_settings.default_payment_method;
    if (!pmId) return invoice;
    this.payInvoice(invoice, pmId, context);
    return invoice;
  }

  /** Charges an open invoice off-session; `invoice.status` says how it went. */
  private payInvoice(invoice: StripeObject, pmId: string, context: RequestContext, forceDecline = false): void {
    invoice.attempt_count += 1;
    invoice.attempted = true;
    try {
      const intentParams: FormObject = { amount: String(invoice.amount_due), currency: invoice.currency, customer: invoice.customer, payment_method: pmId, confirm: 'true', off_session: 'true', metadata: { invoice: invoice.id } };
      const inner: RequestContext = { ...context, forceDecline: forceDecline ? { code: 'card_declined', declineCode: 'generic_decline' } : context.forceDecline };
      this.createPaymentIntent(intentParams, inner);
      this.change(invoice, { status: 'paid', amount_paid: invoice.amount_due, amount_remaining: 0, status_transitions: { ...invoice.status_transitions, paid_at: this.now() } });
    } catch (error) {
      if (!(error instanceof StripeApiError) || error.type !== 'card_error') throw error;
      invoice.next_payment_attempt = this.now() + 3 * DAY;
    }
  }

  private publishInvoice(invoice: StripeObject, context: RequestContext): void {
    if (invoice.status === 'paid') {
      this.publish('invoice.paid', invoice, context);
      this.publish('invoice.payment_succeeded', invoice, context);
    } else if (invoice.attempted) {
      this.publish('invoice.payment_failed', invoice, context);
    }
  }

  retrieveSubscription(id: string): StripeObject {
    return this.render(this.get('subscriptions', id, 'subscription'));
  }

  updateSubscription(id: string, params: FormObject, context: RequestContext): StripeObject {
    const subscription = this.get('subscriptions', id, 'subscription');
    if (subscription.status === 'canceled') throw invalidRequest('A canceled subscription can only update its cancellation_details and metadata.');
    const changes: StripeObject = {};
    if (params.metadata !== undefined) changes.metadata = mergeMetadata(subscription.metadata, params.metadata);
    const cancelAtPeriodEnd = bool(params, 'cancel_at_period_end');
    if (cancelAtPeriodEnd !== undefined) {
      changes.cancel_at_period_end = cancelAtPeriodEnd;
      changes.cancel_at = cancelAtPeriodEnd ? subscription.items.data[0].current_period_end : null;
    }
    if (params.pause_collection !== undefined) {
      if (params.pause_collection === '') changes.pause_collection = null;
      else {
        const pause = obj(params, 'pause_collection')!;
        const behavior = pause.behavior;
        if (typeof behavior !== 'string' || !['keep_as_draft', 'mark_uncollectible', 'void'].includes(behavior)) {
          throw invalidParam('Invalid pause_collection[behavior]: must be one of keep_as_draft, mark_uncollectible, or void', 'pause_collection[behavior]');
        }
        changes.pause_collection = { behavior, resumes_at: typeof pause.resumes_at === 'string' ? Number(pause.resumes_at) : null };
      }
    }
    const defaultPm = str(params, 'default_payment_method');
    if (defaultPm !== undefined) changes.default_payment_method = defaultPm || null;
    const description = str(params, 'description');
    if (description !== undefined) changes.description = description || null;
    const previous = this.change(subscription, changes);
    if (Object.keys(previous).length > 0) this.publish('customer.subscription.updated', subscription, context, previous);
    return this.render(subscription);
  }

  cancelSubscription(id: string, context: RequestContext): StripeObject {
    const subscription = this.get('subscriptions', id, 'subscription');
    if (subscription.status === 'canceled') throw resourceMissing('subscription', id);
    this.cancel(subscription, 'cancellation_requested', context);
    return this.render(subscription);
  }

  private cancel(subscription: StripeObject, reason: string, context: RequestContext): void {
    const now = this.now();
    const previous = this.change(subscription, { status: 'canceled', canceled_at: now, ended_at: now, cancellation_details: { comment: null, feedback: null, reason } });
    this.publish('customer.subscription.deleted', subscription, context, previous);
  }

  resumeSubscription(id: string, context: RequestContext): StripeObject {
    const subscription = this.get('subscriptions', id, 'subscription');
    if (subscription.status !== 'paused') throw invalidRequest(`Subscription ${id} is not paused; only paused subscriptions can be resumed.`, 'subscription_not_paused');
    this.setSubscriptionStatus(id, 'active', context);
    return this.render(subscription);
  }

  listSubscriptions(params: FormObject): StripeObject {
    const customer = str(params, 'customer');
    const status = str(params, 'status');
    const price = str(params, 'price');
    return this.list('subscriptions', '/v1/subscriptions', params, (o) => {
      if (customer && o.customer !== customer) return false;
      if (price && !o.items.data.some((item: StripeObject) => item.price.id === price)) return false;
      if (status === 'all') return true;
      if (status === 'ended') return o.status === 'canceled' || o.status === 'incomplete_expired';
      if (status) return o.status === status;
      return o.status !== 'canceled' && o.status !== 'incomplete_expired';
    });
  }

  /**
   * Test control: moves a subscription to a status the way Stripe would get there, with its
   * events: `past_due` fails a renewal invoice (`invoice.payment_failed`), `active` from
   * `past_due`/`unpaid` pays the open invoice (`invoice.paid`), `paused`/`active` emit
   * `customer.subscription.paused`/`resumed`, `canceled` emits `customer.subscription.deleted`;
   * every change emits `customer.subscription.updated`.
   */
  setSubscriptionStatus(id: string, status: SubscriptionStatus, context: RequestContext = noRequest): StripeObject {
    const subscription = this.get('subscriptions', id, 'subscription');
    const from = subscription.status as string;
    if (from === 'canceled') throw invalidRequest(`Subscription ${id} is canceled; a canceled subscription cannot change status.`);
    if (from === status) return this.render(subscription);
    if (status === 'canceled') {
      this.cancel(subscription, 'payment_failed', context);
      return this.render(subscription);
    }
    const item = subscription.items.data[0];
    let invoice: StripeObject | undefined;
    if (status === 'past_due') {
      invoice = this.createInvoice({ ...subscription, default_payment_method: null }, this.subscriptionTotal(subscription), 'subscription_cycle', item.current_period_start, item.current_period_end, { ...context });
      if (invoice.status !== 'paid' && !invoice.attempted) {
        invoice.attempt_count += 1;
        invoice.attempted = true;
      } else if (invoice.status === 'paid') {
        // A default payment method paid it: force the failure the caller asked for.
        this.change(invoice, { status: 'open', amount_paid: 0, amount_remaining: invoice.amount_due });
        invoice.attempted = true;
      }
    }
    if (status === 'active' && (from === 'past_due' || from === 'unpaid' || from === 'incomplete') && subscription.latest_invoice) {
      const open = this.state.objects.invoices[subscription.latest_invoice];
      if (open && open.status === 'open') {
        this.change(open, { status: 'paid', amount_paid: open.amount_due, amount_remaining: 0, attempted: true, status_transitions: { ...open.status_transitions, paid_at: this.now() } });
        invoice = open;
      }
    }
    const changes: StripeObject = { status };
    if (invoice) changes.latest_invoice = invoice.id;
    if (status === 'trialing') changes.trial_end = this.now() + 14 * DAY;
    const previous = this.change(subscription, changes);
    if (invoice) this.publishInvoice(invoice, context);
    if (status === 'paused') this.publish('customer.subscription.paused', subscription, context, previous);
    if (from === 'paused') this.publish('customer.subscription.resumed', subscription, context, previous);
    this.publish('customer.subscription.updated', subscription, context, previous);
    return this.render(subscription);
  }

  /** Renews a subscription whose period ended: a new invoice, paid or failed, or the end of it. */
  private renewSubscription(subscription: StripeObject, now: number): void {
    for (let guard = 0; guard < 36; guard++) {
      if (!['active', 'trialing', 'past_due'].includes(subscription.status)) return;
      const item = subscription.items.data[0];
      if (item.current_period_end > now) return;
      if (subscription.cancel_at_period_end) {
        this.cancel(subscription, 'cancellation_requested', noRequest);
        return;
      }
      const start = item.current_period_end;
      const end = addInterval(start, item.price.recurring.interval, item.price.recurring.interval_count);
      const previous: StripeObject = { items: structuredClone(subscription.items) };
      for (const each of subscription.items.data) {
        each.current_period_start = start;
        each.current_period_end = end;
      }
      let invoice: StripeObject | undefined;
      if (!subscription.pause_collection) {
        invoice = this.createInvoice(subscription, this.subscriptionTotal(subscription), 'subscription_cycle', start, end, noRequest);
        Object.assign(previous, this.change(subscription, { latest_invoice: invoice.id }));
        const status = invoice.status === 'paid' ? 'active' : 'past_due';
        Object.assign(previous, this.change(subscription, { status }));
        this.publishInvoice(invoice, noRequest);
      }
      this.publish('customer.subscription.updated', subscription, noRequest, previous);
    }
  }

  retrieveInvoice(id: string): StripeObject {
    return this.render(this.get('invoices', id, 'invoice'));
  }

  listInvoices(params: FormObject): StripeObject {
    const customer = str(params, 'customer');
    const subscription = str(params, 'subscription');
    const status = str(params, 'status');
    return this.list('invoices', '/v1/invoices', params, (o) =>
      (!customer || o.customer === customer) && (!subscription || o.parent?.subscription_details?.subscription === subscription) && (!status || o.status === status),
    );
  }
}
