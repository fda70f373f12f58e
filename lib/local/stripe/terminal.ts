import { randomBytes, randomUUID } from 'node:crypto';
import { bool, CARD_PRESENT_TEST_CARDS, int, mergeMetadata, obj, requiredStr, str, type RequestContext, type StripeEngine } from './engine.ts';
import { invalidParam, invalidRequest, resourceMissing, StripeApiError } from './errors.ts';
import type { FormObject } from './form.ts';
import type { StripeObject } from './state.ts';

/** A reader's connectivity, as `status` reports it. */
export type ReaderStatus = 'online' | 'offline';

/** Stripe's registration codes for simulated readers, and the device each registers. */
const SIMULATED_DEVICES: Record<string, string> = {
  'simulated-wpe': 'simulated_wisepos_e',
  'simulated-s700': 'simulated_stripe_s700',
  'simulated-s710': 'simulated_stripe_s710',
};

/** The default card a simulated reader reads when the test helper names none. */
const DEFAULT_PRESENTED_CARD = '4242424242424242';

/**
 * Stripe Terminal for server-driven (smart) readers, after Stripe's API: locations, simulated
 * readers registered with `simulated-*` codes, reader actions (`process_payment_intent`,
 * `cancel_action`) and the `present_payment_method` test helper that completes them. Payments run
 * through the engine's PaymentIntent state machine, so holds, captures, increments, cancels and
 * refunds behave exactly as for online cards.
 */
export class StripeTerminal {
  constructor(private readonly engine: StripeEngine) {}

  // ---- locations ------------------------------------------------------------------------------

  createLocation(params: FormObject): StripeObject {
    const displayName = requiredStr(params, 'display_name');
    const address = obj(params, 'address');
    if (!address) throw invalidParam('Missing required param: address.', 'address', 'parameter_missing');
    const field = (name: string): string | null => {
      const value = address[name];
      if (value !== undefined && typeof value !== 'string') throw invalidParam(`Invalid string: address[${name}]`, `address[${name}]`);
      return value || null;
    };
    const country = field('country');
    if (!country) throw invalidParam('Missing required param: address[country].', 'address[country]', 'parameter_missing');
    const location = this.engine.insert('terminal_locations', {
      id: this.engine.newId('tml'),
      object: 'terminal.location',
      address: { city: field('city'), country, line1: field('line1'), line2: field('line2'), postal_code: field('postal_code'), state: field('state') },
      display_name: displayName,
      livemode: false,
      metadata: mergeMetadata({}, params.metadata),
    });
    // Stripe has no events for locations.
    return this.engine.render(location);
  }

  retrieveLocation(id: string): StripeObject {
    return this.engine.render(this.engine.get('terminal_locations', id, 'terminal.location'));
  }

  listLocations(params: FormObject): StripeObject {
    return this.engine.list('terminal_locations', '/v1/terminal/locations', params);
  }

  // ---- readers --------------------------------------------------------------------------------

  /**
   * Registers a reader. Only simulated readers exist here: `simulated-wpe` (WisePOS E),
   * `simulated-s700`, `simulated-s710`; any other `simulated-*` code registers a WisePOS E.
   */
  createReader(params: FormObject): StripeObject {
    const code = requiredStr(params, 'registration_code');
    const deviceType = SIMULATED_DEVICES[code] ?? (code.startsWith('simulated-') ? 'simulated_wisepos_e' : undefined);
    if (!deviceType) {
      throw invalidRequest(
        `The registration code '${code}' is invalid or has expired. The local Stripe emulator registers simulated readers only (simulated-wpe, simulated-s700, simulated-s710).`,
        undefined,
        'registration_code',
      );
    }
    const locationId = str(params, 'location');
    if (locationId) this.engine.get('terminal_locations', locationId, 'terminal.location', 'location');
    const serialNumber = `${code}-${randomUUID()}`;
    const label = str(params, 'label');
    const reader = this.engine.insert('terminal_readers', {
      id: this.engine.newId('tmr'),
      object: 'terminal.reader',
      action: null,
      device_sw_version: '',
      device_type: deviceType,
      ip_address: '0.0.0.0',
      label: label || serialNumber,
      last_seen_at: this.engine.now() * 1000,
      livemode: false,
      location: locationId ?? null,
      metadata: mergeMetadata({}, params.metadata),
      serial_number: serialNumber,
      status: 'online',
    });
    return this.engine.render(reader);
  }

  /** A reader, or the `{ deleted: true }` stub Stripe answers for a deleted one. */
  retrieveReader(id: string): StripeObject {
    return this.engine.render(this.engine.get('terminal_readers', id, 'terminal.reader'));
  }

  updateReader(id: string, params: FormObject): StripeObject {
    const reader = this.liveReader(id);
    const changes: StripeObject = {};
    const label = str(params, 'label');
    if (label !== undefined) changes.label = label || reader.serial_number;
    if (params.metadata !== undefined) changes.metadata = mergeMetadata(reader.metadata, params.metadata);
    // Stripe has no event for reader updates.
    this.engine.change(reader, changes);
    return this.engine.render(reader);
  }

  listReaders(params: FormObject): StripeObject {
    const location = str(params, 'location');
    const status = str(params, 'status');
    const deviceType = str(params, 'device_type');
    const serialNumber = str(params, 'serial_number');
    return this.engine.list('terminal_readers', '/v1/terminal/readers', params, (o) =>
      !o.deleted && (!location || o.location === location) && (!status || o.status === status) && (!deviceType || o.device_type === deviceType) && (!serialNumber || o.serial_number === serialNumber),
    );
  }

  deleteReader(id: string): StripeObject {
    const reader = this.liveReader(id);
    const stub = { id: reader.id, object: 'terminal.reader', deleted: true, device_type: reader.device_type, serial_number: reader.serial_number };
    this.engine.state.objects.terminal_readers[id] = stub;
    return this.engine.render(stub);
  }

  /** Every reader that is not deleted, oldest first (test control). */
  readers(): StripeObject[] {
    return Object.values(this.engine.state.objects.terminal_readers)
      .filter((reader) => !reader.deleted)
      .sort((a, b) => (this.engine.state.seq[a.id] ?? 0) - (this.engine.state.seq[b.id] ?? 0))
      .map((reader) => this.engine.render(reader));
  }

  /** Test control: takes a reader offline (actions are then refused with `terminal_reader_offline`) or back online. */
  setReaderStatus(id: string, status: ReaderStatus): StripeObject {
    if (status !== 'online' && status !== 'offline') throw invalidParam(`Invalid status: ${String(status)}; must be online or offline`, 'status');
    const reader = this.liveReader(id);
    const changes: StripeObject = { status };
    if (status === 'online') changes.last_seen_at = this.engine.now() * 1000;
    this.engine.change(reader, changes);
    return this.engine.render(reader);
  }

  // ---- reader actions -------------------------------------------------------------------------

  /**
   * Hands a PaymentIntent to the reader, which waits for a card: the action is `in_progress`
   * until `present_payment_method` (or `cancel_action`). The PaymentIntent must allow
   * `card_present` and be in `requires_payment_method`.
   */
  processPaymentIntent(id: string, params: FormObject): StripeObject {
    const reader = this.liveReader(id);
    const intentId = requiredStr(params, 'payment_intent');
    const intent = this.engine.get('payment_intents', intentId, 'payment_intent', 'payment_intent');
    const config = processConfig(params);
    this.assertAvailable(reader);
    if (!intent.payment_method_types.includes('card_present')) {
      throw this.intentInvalidState(intent, `This PaymentIntent (${intent.id}) does not allow card_present (payment_method_types: ${intent.payment_method_types.join(', ')}), so a reader cannot process it.`);
    }
    if (intent.status !== 'requires_payment_method') {
      throw this.intentInvalidState(intent, `This PaymentIntent (${intent.id}) has a status of ${intent.status}; a reader can process only a PaymentIntent in requires_payment_method.`);
    }
    const action: StripeObject = {
      api_error: null,
      failure_code: null,
      failure_message: null,
      process_payment_intent: { payment_intent: intent.id, ...(config ? { process_config: config } : {}) },
      status: 'in_progress',
      type: 'process_payment_intent',
    };
    this.engine.change(reader, { action, last_seen_at: this.engine.now() * 1000 });
    return this.engine.render(reader);
  }

  /** Cancels the reader's in-progress action; as in Stripe's reference, the reader answers with `action: null`. */
  cancelAction(id: string): StripeObject {
    const reader = this.liveReader(id);
    if (reader.status === 'offline') throw this.offline();
    if (reader.action?.status !== 'in_progress') throw invalidRequest(`Reader ${id} has no action in progress to cancel.`);
    this.engine.change(reader, { action: null, last_seen_at: this.engine.now() * 1000 });
    return this.engine.render(reader);
  }

  /**
   * Test helper: the customer taps a card on a simulated reader. The reader's in-progress
   * `process_payment_intent` completes at once: the card (`card_present[number]`, default visa
   * 4242) becomes a `card_present` PaymentMethod and confirms the PaymentIntent. Approved:
   * action `succeeded`, `terminal.reader.action_succeeded`. Declined: the PaymentIntent goes back
   * to `requires_payment_method`, action `failed` with the decline's code and message,
   * `terminal.reader.action_failed`. `amount_tip` is accepted and ignored.
   */
  presentPaymentMethod(id: string, params: FormObject, context: RequestContext): StripeObject {
    const reader = this.liveReader(id);
    const type = str(params, 'type') ?? 'card_present';
    if (type !== 'card_present') throw invalidParam(`The local Stripe emulator's simulated readers present card_present only, not ${type}.`, 'type');
    const presented = obj(params, 'card_present');
    const number = presented?.number === undefined || presented.number === '' ? DEFAULT_PRESENTED_CARD : presented.number;
    if (typeof number !== 'string' || !CARD_PRESENT_TEST_CARDS[number]) {
      throw invalidParam(`${String(number)} is not one of the Terminal test card numbers the local Stripe emulator knows.`, 'card_present[number]');
    }
    void int(params, 'amount_tip'); // validated like Stripe, not applied
    if (reader.status === 'offline') throw this.offline();
    const action = reader.action;
    if (action?.status !== 'in_progress' || action.type !== 'process_payment_intent') {
      throw invalidRequest(`Reader ${id} has no process_payment_intent action in progress to present a payment method to.`);
    }
    const pm = this.cardPresentPaymentMethod(number);
    let failure: StripeApiError | undefined;
    try {
      this.engine.confirmPresented(action.process_payment_intent.payment_intent, pm, context);
    } catch (error) {
      if (!(error instanceof StripeApiError) || error.status >= 500) throw error;
      failure = error;
    }
    const now = this.engine.now() * 1000;
    if (failure) {
      const apiError = failure.toBody().error;
      this.engine.change(reader, { action: { ...action, status: 'failed', failure_code: failure.details.code ?? null, failure_message: failure.message, api_error: apiError }, last_seen_at: now });
      this.engine.publish('terminal.reader.action_failed', reader, context);
    } else {
      this.engine.change(reader, { action: { ...action, status: 'succeeded' }, last_seen_at: now });
      this.engine.publish('terminal.reader.action_succeeded', reader, context);
    }
    return this.engine.render(reader);
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** A reader that is not deleted; a deleted one is missing for every call but retrieve. */
  private liveReader(id: string): StripeObject {
    const reader = this.engine.get('terminal_readers', id, 'terminal.reader');
    if (reader.deleted) throw resourceMissing('terminal.reader', id);
    return reader;
  }

  private assertAvailable(reader: StripeObject): void {
    if (reader.status === 'offline') throw this.offline();
    if (reader.action?.status === 'in_progress') {
      throw new StripeApiError(400, 'invalid_request_error', 'Reader is currently busy processing another request. Cancel the in-progress action or wait for it to complete before retrying.', {
        code: 'terminal_reader_busy',
      });
    }
  }

  private offline(): StripeApiError {
    return new StripeApiError(400, 'invalid_request_error', 'Reader is currently offline, please ensure the reader is powered on and connected to the internet before retrying your request.', {
      code: 'terminal_reader_offline',
    });
  }

  /** Stripe's Terminal error for a PaymentIntent a reader cannot take (`intent_invalid_state`). */
  private intentInvalidState(intent: StripeObject, message: string): StripeApiError {
    return new StripeApiError(400, 'invalid_request_error', message, { code: 'intent_invalid_state', param: 'payment_intent', paymentIntent: this.engine.render(intent) });
  }

  private cardPresentPaymentMethod(number: string): StripeObject {
    const card = CARD_PRESENT_TEST_CARDS[number]!;
    const pm = this.engine.insert('payment_methods', {
      id: this.engine.newId('pm'),
      object: 'payment_method',
      allow_redisplay: 'unspecified',
      billing_details: { address: null, email: null, name: null, phone: null },
      card_present: {
        brand: card.brand,
        brand_product: null,
        cardholder_name: null,
        country: 'US',
        description: null,
        exp_month: 12,
        exp_year: new Date(this.engine.now() * 1000).getUTCFullYear() + 3,
        fingerprint: randomBytes(8).toString('hex'),
        funding: card.funding ?? 'credit',
        issuer: null,
        last4: card.last4,
        networks: { available: [card.brand], preferred: null },
        offline: null,
        preferred_locales: ['en'],
        read_method: 'contactless_emv',
        wallet: { type: 'unknown' },
      },
      created: this.engine.now(),
      customer: null,
      livemode: false,
      metadata: {},
      type: 'card_present',
    });
    this.engine.state.testCards[pm.id] = number;
    return pm;
  }
}

/** `process_config` as the action echoes it: booleans and integers typed, unknown keys dropped. */
function processConfig(params: FormObject): StripeObject | undefined {
  const config = obj(params, 'process_config');
  if (!config) return undefined;
  const echoed: StripeObject = {};
  for (const name of ['enable_customer_cancellation', 'skip_tipping']) {
    const value = bool(config, name);
    if (value !== undefined) echoed[name] = value;
  }
  const returnUrl = str(config, 'return_url');
  if (returnUrl !== undefined) echoed.return_url = returnUrl;
  const tipping = obj(config, 'tipping');
  if (tipping) echoed.tipping = { amount_eligible: int(tipping, 'amount_eligible') };
  return echoed;
}
