import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeEmulator, stripeClientFor, type StripeEmulator } from '../../lib/local/stripe/index.ts';
import { rejection } from '../support/stripe.ts';

const SECRET = 'whsec_test_terminal';
const DAY = 86_400;

interface Received {
  rawBody: string;
  signature: string;
  event: Stripe.Event;
}

/** A webhook receiver that keeps the raw body and signature of every delivery. */
async function aReceiver(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      received.push({ rawBody, signature: String(req.headers['stripe-signature']), event: JSON.parse(rawBody) as Stripe.Event });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stripe/webhook`, received, server };
}

let emulator: StripeEmulator;
let stripe: Stripe;
let receiver: Awaited<ReturnType<typeof aReceiver>>;
const dirs: string[] = [];

beforeAll(async () => {
  receiver = await aReceiver();
  emulator = await startStripeEmulator({ host: '127.0.0.1', port: 0, webhookSecret: SECRET, webhookUrls: [receiver.url], webhookRetry: { baseDelayMs: 20, maxAttempts: 3 } });
  stripe = stripeClientFor(emulator);
});

afterAll(async () => {
  await emulator?.close();
  await new Promise((resolve) => receiver?.server.close(resolve));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function aLocation(client = stripe): Promise<Stripe.Terminal.Location> {
  return client.terminal.locations.create({ display_name: 'Depot Nord', address: { line1: 'Ladestraße 1', city: 'Berlin', postal_code: '10115', country: 'DE' } });
}

/** A simulated WisePOS E at a charging depot, as a CPO registers one per payment kiosk. */
async function aReader(overrides: Partial<Stripe.Terminal.ReaderCreateParams> = {}, client = stripe): Promise<Stripe.Terminal.Reader> {
  const location = await aLocation(client);
  return client.terminal.readers.create({ registration_code: 'simulated-wpe', location: location.id, label: 'Kiosk 1', ...overrides });
}

/** A card_present PaymentIntent for a walk-up session hold, incremental authorization requested. */
function aTerminalHold(overrides: Partial<Stripe.PaymentIntentCreateParams> = {}, client = stripe): Promise<Stripe.PaymentIntent> {
  return client.paymentIntents.create({
    amount: 5000,
    currency: 'eur',
    allowed_payment_method_types: ['card_present'],
    capture_method: 'manual',
    payment_method_options: { card_present: { request_incremental_authorization_support: true } },
    metadata: { sessionId: 'walk-up-1' },
    ...overrides,
  });
}

/** Runs the server-driven flow: hand the intent to the reader, then tap a card on it. */
async function tap(reader: Stripe.Terminal.Reader, intent: Stripe.PaymentIntent, number?: string, client = stripe): Promise<Stripe.Terminal.Reader> {
  await client.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id });
  return client.testHelpers.terminal.readers.presentPaymentMethod(reader.id, number ? { type: 'card_present', card_present: { number } } : {});
}

async function chargeOf(intentId: string): Promise<Stripe.Charge> {
  const intent = await stripe.paymentIntents.retrieve(intentId);
  return stripe.charges.retrieve(intent.latest_charge as string);
}

function eventsFor(objectId: string): Stripe.Event[] {
  return emulator.control.events().filter((event) => {
    const object = event.data.object as { id?: string; payment_intent?: string; action?: { process_payment_intent?: { payment_intent?: string } } };
    return object.id === objectId || object.payment_intent === objectId || object.action?.process_payment_intent?.payment_intent === objectId;
  }) as Stripe.Event[];
}

describe('Stripe emulator: Terminal', () => {
  describe('locations and readers', () => {
    it('registers a simulated WisePOS E with simulated-wpe, online and idle', async () => {
      const location = await aLocation();

      const reader = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: location.id, label: 'Kiosk 1', metadata: { site: 'depot-nord' } });

      expect(location).toMatchObject({ object: 'terminal.location', display_name: 'Depot Nord', address: { country: 'DE', city: 'Berlin' }, livemode: false });
      expect(location.id).toMatch(/^tml_/);
      expect(reader.id).toMatch(/^tmr_/);
      expect(reader).toMatchObject({
        object: 'terminal.reader',
        device_type: 'simulated_wisepos_e',
        label: 'Kiosk 1',
        location: location.id,
        metadata: { site: 'depot-nord' },
        status: 'online',
        action: null,
        livemode: false,
      });
      expect(reader.serial_number).toMatch(/^simulated-wpe-/);
      expect(await stripe.terminal.readers.retrieve(reader.id)).toEqual(expect.objectContaining({ id: reader.id, status: 'online' }));
      expect((await stripe.terminal.locations.retrieve(location.id)).id).toBe(location.id);
    });

    it('registers other simulated devices, defaults the label to the serial number, and refuses real registration codes', async () => {
      const s700 = await stripe.terminal.readers.create({ registration_code: 'simulated-s700' });

      expect(s700).toMatchObject({ device_type: 'simulated_stripe_s700', location: null, label: s700.serial_number });
      const error = await rejection(stripe.terminal.readers.create({ registration_code: 'purple-cat-lamp' }));
      expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', param: 'registration_code' });
      expect(await rejection(stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: 'tml_missing' }))).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'location' });
      expect(await rejection(stripe.terminal.locations.create({ display_name: 'No address' }))).toMatchObject({ statusCode: 400, param: 'address' });
    });

    it('updates label and metadata, and lists by location, status and device type with pagination', async () => {
      const location = await aLocation();
      const first = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: location.id });
      const second = await stripe.terminal.readers.create({ registration_code: 'simulated-wpe', location: location.id });
      const third = await stripe.terminal.readers.create({ registration_code: 'simulated-s700', location: location.id });

      const updated = await stripe.terminal.readers.update(first.id, { label: 'Kiosk A', metadata: { bay: '3' } });
      emulator.control.setReaderStatus(second.id, 'offline');

      expect(updated).toMatchObject({ label: 'Kiosk A', metadata: { bay: '3' } });
      const atLocation = await stripe.terminal.readers.list({ location: location.id });
      expect(atLocation.data.map((r) => r.id)).toEqual([third.id, second.id, first.id]);
      expect((await stripe.terminal.readers.list({ location: location.id, status: 'offline' })).data.map((r) => r.id)).toEqual([second.id]);
      expect((await stripe.terminal.readers.list({ location: location.id, device_type: 'simulated_stripe_s700' })).data.map((r) => r.id)).toEqual([third.id]);
      const page = await stripe.terminal.readers.list({ location: location.id, limit: 2 });
      expect(page.has_more).toBe(true);
      const next = await stripe.terminal.readers.list({ location: location.id, limit: 2, starting_after: page.data[1]!.id });
      expect(next).toMatchObject({ has_more: false, data: [expect.objectContaining({ id: first.id })] });
      expect((await stripe.terminal.locations.list({ limit: 100 })).data.map((l) => l.id)).toContain(location.id);
    });

    it('deletes a reader: retrieve answers the deleted stub, lists and actions no longer see it', async () => {
      const reader = await aReader();

      const deleted = await stripe.terminal.readers.del(reader.id);

      expect(deleted).toMatchObject({ id: reader.id, object: 'terminal.reader', deleted: true, device_type: 'simulated_wisepos_e' });
      expect(await stripe.terminal.readers.retrieve(reader.id)).toMatchObject({ deleted: true });
      expect((await stripe.terminal.readers.list({ limit: 100 })).data.map((r) => r.id)).not.toContain(reader.id);
      const intent = await aTerminalHold();
      expect(await rejection(stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id }))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    });
  });

  describe('an approved card', () => {
    it('process_payment_intent puts the reader in an in-progress action and leaves the intent waiting', async () => {
      const reader = await aReader();
      const intent = await aTerminalHold();

      const busy = await stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id, process_config: { skip_tipping: true } });

      expect(busy.action).toEqual({
        api_error: null,
        type: 'process_payment_intent',
        status: 'in_progress',
        process_payment_intent: { payment_intent: intent.id, process_config: { skip_tipping: true } },
        failure_code: null,
        failure_message: null,
      });
      expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_payment_method');
    });

    it('present_payment_method authorizes a card_present hold with capture_before and incremental support', async () => {
      const reader = await aReader();
      const intent = await aTerminalHold();

      const done = await tap(reader, intent);

      expect(done.action).toMatchObject({ type: 'process_payment_intent', status: 'succeeded', failure_code: null, process_payment_intent: { payment_intent: intent.id } });
      const held = await stripe.paymentIntents.retrieve(intent.id);
      expect(held).toMatchObject({ status: 'requires_capture', amount_capturable: 5000, payment_method_types: ['card_present'] });
      const paymentMethod = await stripe.paymentMethods.retrieve(held.payment_method as string);
      expect(paymentMethod).toMatchObject({ type: 'card_present', card_present: { brand: 'visa', last4: '4242' } });
      const charge = await chargeOf(intent.id);
      expect(charge).toMatchObject({ captured: false, status: 'succeeded', payment_method: paymentMethod.id });
      expect(charge.payment_method_details?.type).toBe('card_present');
      const present = charge.payment_method_details!.card_present!;
      expect(present).toMatchObject({ brand: 'visa', last4: '4242', exp_month: 12, incremental_authorization_supported: true, read_method: 'contactless_emv' });
      expect(present.exp_year).toBeGreaterThan(new Date().getUTCFullYear());
      expect(present.capture_before).toBe(charge.created + 7 * DAY);
      expect(eventsFor(intent.id).map((e) => e.type)).toEqual(['payment_intent.created', 'charge.succeeded', 'payment_intent.amount_capturable_updated', 'terminal.reader.action_succeeded']);
    });

    it('increments, partially captures and refunds a card_present hold like a card hold', async () => {
      const reader = await aReader();
      const intent = await aTerminalHold();
      await tap(reader, intent);

      const raised = await stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 8000 });
      const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 6150 });
      const refund = await stripe.refunds.create({ payment_intent: intent.id, amount: 1150 });

      expect(raised).toMatchObject({ amount: 8000, amount_capturable: 8000 });
      expect(captured).toMatchObject({ status: 'succeeded', amount_received: 6150, amount_capturable: 0 });
      expect(refund).toMatchObject({ status: 'succeeded', amount: 1150 });
      const charge = await chargeOf(intent.id);
      expect(charge).toMatchObject({ captured: true, amount: 8000, amount_captured: 6150, amount_refunded: 1850 + 1150 });
      expect(charge.payment_method_details?.card_present?.amount_authorized).toBe(8000);
    });

    it('refuses increments when support was not requested, or the card does not offer it', async () => {
      const reader = await aReader();
      const unrequested = await aTerminalHold({ payment_method_options: {} });
      await tap(reader, unrequested);
      const mastercard = await aTerminalHold();
      await tap(reader, mastercard, '5555555555554444');

      expect((await chargeOf(unrequested.id)).payment_method_details?.card_present?.incremental_authorization_supported).toBe(false);
      expect((await chargeOf(mastercard.id)).payment_method_details?.card_present).toMatchObject({ brand: 'mastercard', last4: '4444', incremental_authorization_supported: false });
      for (const intent of [unrequested, mastercard]) {
        expect(await rejection(stripe.paymentIntents.incrementAuthorization(intent.id, { amount: 7000 }))).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError' });
      }
    });

    it('captures at once with automatic capture, and releases a hold on cancel', async () => {
      const reader = await aReader();
      const automatic = await aTerminalHold({ capture_method: 'automatic' });
      await tap(reader, automatic);
      const hold = await aTerminalHold();
      await tap(reader, hold);

      const canceled = await stripe.paymentIntents.cancel(hold.id);

      expect(await stripe.paymentIntents.retrieve(automatic.id)).toMatchObject({ status: 'succeeded', amount_received: 5000 });
      expect((await chargeOf(automatic.id)).payment_method_details?.card_present?.capture_before).toBeUndefined();
      expect(canceled.status).toBe('canceled');
      expect(await chargeOf(hold.id)).toMatchObject({ refunded: true, amount_refunded: 5000, captured: false });
    });

    it('expires an uncaptured card_present hold at capture_before', async () => {
      // Its own emulator, so the shared clock does not move under the other tests.
      const isolated = await startStripeEmulator({ webhookSecret: SECRET });
      try {
        const client = stripeClientFor(isolated);
        const reader = await aReader({}, client);
        const intent = await aTerminalHold({}, client);
        await tap(reader, intent, undefined, client);

        isolated.control.advanceTime(7 * DAY + 1);

        expect(await client.paymentIntents.retrieve(intent.id)).toMatchObject({ status: 'canceled', cancellation_reason: 'automatic' });
        expect(isolated.control.events().map((e) => e.type)).toContain('charge.expired');
      } finally {
        await isolated.close();
      }
    });
  });

  describe('a declined card', () => {
    it.each([
      ['4000000000000002', 'card_declined', 'generic_decline'],
      ['4000000000009995', 'card_declined', 'insufficient_funds'],
      ['4000000000009987', 'card_declined', 'lost_card'],
      ['4000000000000069', 'expired_card', 'expired_card'],
      ['4000000000000119', 'processing_error', 'processing_error'],
    ])('%s fails the action with %s / %s and sends the intent back for another card', async (number, code, declineCode) => {
      const reader = await aReader();
      const intent = await aTerminalHold();

      const failed = await tap(reader, intent, number);

      expect(failed.action).toMatchObject({ status: 'failed', failure_code: code, failure_message: expect.any(String), api_error: { type: 'card_error', code, decline_code: declineCode } });
      const back = await stripe.paymentIntents.retrieve(intent.id);
      expect(back).toMatchObject({ status: 'requires_payment_method', payment_method: null, last_payment_error: { type: 'card_error', code, decline_code: declineCode } });
      expect(eventsFor(intent.id).map((e) => e.type)).toEqual(['payment_intent.created', 'charge.failed', 'payment_intent.payment_failed', 'terminal.reader.action_failed']);
    });

    it('lets the same intent be retried with another card on the same reader', async () => {
      const reader = await aReader();
      const intent = await aTerminalHold();
      await tap(reader, intent, '4000000000009995');

      const retried = await tap(reader, intent, '4242424242424242');

      expect(retried.action?.status).toBe('succeeded');
      expect(await stripe.paymentIntents.retrieve(intent.id)).toMatchObject({ status: 'requires_capture', last_payment_error: null });
    });

    it('declines the presentment when a card_declined fault is armed for it', async () => {
      const reader = await aReader();
      const intent = await aTerminalHold();
      await stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id });
      emulator.control.failNext({ path: '/v1/test_helpers/terminal/readers/*/present_payment_method', kind: 'card_declined', declineCode: 'do_not_honor' });

      const failed = await stripe.testHelpers.terminal.readers.presentPaymentMethod(reader.id);

      expect(failed.action).toMatchObject({ status: 'failed', failure_code: 'card_declined', api_error: { decline_code: 'do_not_honor' } });
    });
  });

  describe('reader errors', () => {
    it('answers terminal_reader_busy while an action is in progress', async () => {
      const reader = await aReader();
      const first = await aTerminalHold();
      const second = await aTerminalHold();
      await stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: first.id });

      const error = await rejection(stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: second.id }));

      expect(error).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', code: 'terminal_reader_busy' });
      expect((await stripe.terminal.readers.retrieve(reader.id)) as Stripe.Terminal.Reader).toMatchObject({ action: { status: 'in_progress', process_payment_intent: { payment_intent: first.id } } });
    });

    it('answers terminal_reader_offline for an offline reader, through either control surface', async () => {
      const reader = await aReader();
      const intent = await aTerminalHold();
      const offline = emulator.control.setReaderStatus(reader.id, 'offline');

      const error = await rejection(stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id }));
      const online = await fetch(`${emulator.url}/_emulator/terminal/readers/${reader.id}/status`, { method: 'POST', body: JSON.stringify({ status: 'online' }) });
      const listed = (await (await fetch(`${emulator.url}/_emulator/terminal/readers`)).json()) as { data: Stripe.Terminal.Reader[] };

      expect(offline.status).toBe('offline');
      expect(error).toMatchObject({ statusCode: 400, code: 'terminal_reader_offline' });
      expect(online.status).toBe(200);
      expect(listed.data.find((r) => r.id === reader.id)?.status).toBe('online');
      expect(emulator.control.readers().map((r) => r.id)).toContain(reader.id);
      expect((await stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id })).action?.status).toBe('in_progress');
      const bad = await fetch(`${emulator.url}/_emulator/terminal/readers/${reader.id}/status`, { method: 'POST', body: JSON.stringify({ status: 'asleep' }) });
      expect(bad.status).toBe(400);
    });

    it('answers intent_invalid_state for an intent without card_present or not awaiting a payment method', async () => {
      const reader = await aReader();
      const online = await stripe.paymentIntents.create({ amount: 5000, currency: 'eur', allowed_payment_method_types: ['card'] });
      const held = await aTerminalHold();
      await tap(reader, held);

      for (const intent of [online, held]) {
        const error = await rejection(stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id }));
        expect(error).toMatchObject({ statusCode: 400, code: 'intent_invalid_state', param: 'payment_intent' });
      }
      expect(await rejection(stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: 'pi_missing' }))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    });

    it('refuses a presentment with no action in progress, or an unknown card number', async () => {
      const reader = await aReader();

      expect(await rejection(stripe.testHelpers.terminal.readers.presentPaymentMethod(reader.id))).toMatchObject({ statusCode: 400 });
      expect(await rejection(stripe.testHelpers.terminal.readers.presentPaymentMethod(reader.id, { card_present: { number: '4111111111111111' } }))).toMatchObject({
        statusCode: 400,
        param: 'card_present[number]',
      });
    });

    it('replays process_payment_intent for the same Idempotency-Key instead of answering busy', async () => {
      const reader = await aReader();
      const intent = await aTerminalHold();

      const first = await stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id }, { idempotencyKey: `process-${intent.id}` });
      const again = await stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id }, { idempotencyKey: `process-${intent.id}` });

      expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
      expect(again.action).toEqual(first.action);
    });
  });

  describe('cancel_action', () => {
    it('clears the in-progress action, leaves the intent untouched and frees the reader', async () => {
      const reader = await aReader();
      const intent = await aTerminalHold();
      await stripe.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id });

      const canceled = await stripe.terminal.readers.cancelAction(reader.id);

      expect(canceled).toMatchObject({ id: reader.id, action: null });
      expect((await stripe.paymentIntents.retrieve(intent.id)).status).toBe('requires_payment_method');
      expect(await rejection(stripe.testHelpers.terminal.readers.presentPaymentMethod(reader.id))).toMatchObject({ statusCode: 400 });
      expect(await rejection(stripe.terminal.readers.cancelAction(reader.id))).toMatchObject({ statusCode: 400 });
      expect((await tap(reader, intent)).action?.status).toBe('succeeded');
    });
  });

  describe('webhooks', () => {
    it('delivers the payment and reader events signed, the reader as data.object', async () => {
      const reader = await aReader();
      const approved = await aTerminalHold();
      await tap(reader, approved);
      const declined = await aTerminalHold();
      await tap(reader, declined, '4000000000000002');

      await emulator.control.drainWebhooks();

      for (const { rawBody, signature } of receiver.received) expect(stripe.webhooks.constructEvent(rawBody, signature, SECRET).id).toMatch(/^evt_/);
      const ofApproved = receiver.received.filter((r) => eventsFor(approved.id).some((e) => e.id === r.event.id)).map((r) => r.event.type);
      expect(ofApproved).toEqual(expect.arrayContaining(['charge.succeeded', 'payment_intent.amount_capturable_updated', 'terminal.reader.action_succeeded']));
      const succeeded = receiver.received.find((r) => r.event.type === 'terminal.reader.action_succeeded' && (r.event.data.object as Stripe.Terminal.Reader).action?.process_payment_intent?.payment_intent === approved.id)!;
      expect(succeeded.event.data.object).toMatchObject({ id: reader.id, object: 'terminal.reader', action: { status: 'succeeded' } });
      const failed = receiver.received.find((r) => r.event.type === 'terminal.reader.action_failed' && (r.event.data.object as Stripe.Terminal.Reader).action?.process_payment_intent?.payment_intent === declined.id)!;
      expect(failed.event.data.object).toMatchObject({ id: reader.id, action: { status: 'failed', failure_code: 'card_declined' } });
      expect(receiver.received.some((r) => r.event.type === 'payment_intent.payment_failed' && (r.event.data.object as Stripe.PaymentIntent).id === declined.id)).toBe(true);
    });
  });

  describe('persistence', () => {
    it('keeps locations, readers, their status and an in-progress action across a restart', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'voltledger-stripe-terminal-'));
      dirs.push(dataDir);
      const first = await startStripeEmulator({ webhookSecret: SECRET, dataDir });
      const firstClient = stripeClientFor(first);
      const reader = await aReader({}, firstClient);
      const spare = await aReader({ registration_code: 'simulated-s700' }, firstClient);
      const intent = await aTerminalHold({}, firstClient);
      await firstClient.terminal.readers.processPaymentIntent(reader.id, { payment_intent: intent.id });
      first.control.setReaderStatus(spare.id, 'offline');
      await first.close();

      const second = await startStripeEmulator({ webhookSecret: SECRET, dataDir });
      try {
        const client = stripeClientFor(second);
        const restored = (await client.terminal.readers.retrieve(reader.id)) as Stripe.Terminal.Reader;
        expect(restored).toMatchObject({ location: reader.location, action: { status: 'in_progress', process_payment_intent: { payment_intent: intent.id } } });
        expect(((await client.terminal.readers.retrieve(spare.id)) as Stripe.Terminal.Reader).status).toBe('offline');
        expect(second.control.readers().map((r) => r.id)).toEqual([reader.id, spare.id]);

        const done = await client.testHelpers.terminal.readers.presentPaymentMethod(reader.id);

        expect(done.action?.status).toBe('succeeded');
        expect((await client.paymentIntents.retrieve(intent.id)).status).toBe('requires_capture');
      } finally {
        await second.close();
      }
    });
  });
});
