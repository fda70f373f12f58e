import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../lib/local/seed.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, connectChargePoint, energySample, startTestStack, upgradeStatus, type ChargePointClient } from '../support/stack.ts';
import { postWebhook, subscriptionEvent } from '../support/stripe.ts';

const t = (minutes: number) => new Date(Date.parse('2026-11-24T09:00:00Z') + minutes * 60_000).toISOString();
const WRONG_PASSWORD = 'wrong-but-plausible-password-42';

/** Every logged line, its fields serialised whole: errors with every own property (Stripe errors carry `raw`, `headers`). */
function serialise(entry: unknown): string {
  return JSON.stringify(entry, (_key, value) =>
    value instanceof Error ? Object.fromEntries(Object.getOwnPropertyNames(value).map((name) => [name, (value as unknown as Record<string, unknown>)[name]])) : typeof value === 'bigint' ? String(value) : value,
  );
}

/** Luhn check: what makes a 13–19 digit run look like a card number (PAN). */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * No secret, card data or password in any log line: a whole session with card payment (hold,
 * capture, Stripe's signed webhooks, a Stripe 500 and the bus's retry), failed logins, a webhook
 * with a bad signature and admin calls with and without the token, all through one capturing
 * logger given to the local stack (and so to its Stripe emulator, bus and gateway).
 */
describe('secrets in logs', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let cp: ChargePointClient;
  const lines: string[] = [];
  const level = (name: string) => (message: string, fields?: Record<string, unknown>) => void lines.push(serialise({ level: name, message, fields }));

  beforeAll(async () => {
    stack = await startTestStack({
      log: { debug: level('debug'), info: level('info'), warn: level('warn'), error: level('error') },
      stripe: { emulator: { options: { webhookRetry: { baseDelayMs: 50 } }, client: { maxNetworkRetries: 0, timeout: 1500 } } },
    });
    stripe = stack.stripeEmulator!.client;
  });
  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await stack?.close();
  });

  const attempt = (identity: string, authorization: string | undefined) => upgradeStatus(stack, identity, authorization ? { Authorization: authorization } : {});
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('a charging session paid by card, failed logins, webhooks and admin calls log no password, header, key, secret, card number or token', async () => {
    // Failed logins, each kind.
    expect(await attempt('CP-001', basic('CP-001', WRONG_PASSWORD))).toBe(401);
    expect(await attempt('CP-001', basic('CP-002', DEMO.password))).toBe(401);
    expect(await attempt('CP-001', `Basic ${Buffer.from(WRONG_PASSWORD).toString('base64')}`)).toBe(401);
    expect(await attempt('CP-001', `Bearer ${WRONG_PASSWORD}`)).toBe(401);
    expect(await attempt('CP-404', basic('CP-404', DEMO.password))).toBe(401);
    // Admin calls with a wrong token and with the right one (which carries a new charge point's password).
    expect((await fetch(`${stack.adminUrl}/charge-points/CP-001`, { headers: { authorization: `Bearer ${WRONG_PASSWORD}` } })).status).toBe(401);
    expect((await admin(stack, 'PUT', '/charge-points/CP-LOG', { password: 'a-brand-new-charger-secret', timeZone: 'UTC' })).status).toBe(201);
    // A webhook with a bad signature, and one signed with the wrong secret.
    expect((await postWebhook(stack.stripeWebhookUrl, subscriptionEvent('customer.subscription.updated', { id: 'sub_x', customer: 'cus_x' }), { signature: 't=1,v1=deadbeef' })).status).toBe(400);
    expect((await postWebhook(stack.stripeWebhookUrl, subscriptionEvent('customer.subscription.updated', { id: 'sub_x', customer: 'cus_x' }), { secret: 'whsec_not_the_endpoints' })).status).toBe(400);

    // A driver with a card, a session held, metered, stopped and captured; one capture fails first (Stripe 500).
    expect((await admin(stack, 'PUT', '/payment-policies/default', { hold: { mode: 'fixed', amountMinor: 2000 } })).status).toBe(200);
    const customer = await stripe.customers.create({ email: 'logs@example.com', payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const paymentMethod = customer.invoice_settings.default_payment_method as string;
    expect((await admin(stack, 'PUT', '/drivers/logs', { stripeCustomerId: customer.id, defaultPaymentMethodId: paymentMethod, idTags: ['LOGS-TAG'] })).status).toBe(201);
    cp = await connectChargePoint(stack, 'CP-001', { handlers: { RemoteStopTransaction: () => ({ status: 'Accepted' }) } });
    await cp.call('BootNotification', { chargePointVendor: 'Logs', chargePointModel: 'L1' });
    expect((await cp.call('Authorize', { idTag: 'LOGS-TAG' })).idTagInfo.status).toBe('Accepted');
    const { transactionId } = await cp.call('StartTransaction', { connectorId: 1, idTag: 'LOGS-TAG', meterStart: 0, timestamp: t(0) });
    await stack.bus.drain();
    await cp.call('MeterValues', { connectorId: 1, transactionId, meterValue: [energySample(t(10), 5_000)] });
    await stack.bus.drain();
    stack.stripeEmulator!.emulator.control.failNext({ path: '/v1/payment_intents/*/capture', kind: 'api_error', when: 'before' });
    await cp.call('StopTransaction', { transactionId, meterStop: 10_000, timestamp: t(30), transactionData: [energySample(t(30), 10_000)] });
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: t(30) });
    for (let i = 0; i < 100; i += 1) {
      await stack.stripeEmulator!.emulator.control.drainWebhooks();
      await stack.bus.drain();
      if ((await admin(stack, 'GET', `/sessions/sess_${transactionId}`)).body.payment?.outcome) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await admin(stack, 'GET', `/sessions/sess_${transactionId}`)).body.payment).toMatchObject({ status: 'settled', outcome: { outcome: 'captured' } });
    await cp.close();
    await stack.stripeEmulator!.emulator.control.drainWebhooks();
    await stack.bus.drain();

    // Prepared, and the logs hold the story: refusals, the Stripe failure, webhooks processed.
    const text = lines.join('\n');
    expect(text).toContain('connect refused: wrong password');
    expect(text).toContain('Stripe webhook refused: signature');
    expect(text).toMatch(/retrying|failed/);

    const secrets: Array<[string, string]> = [
      ['the demo charge point password', DEMO.password],
      ['a wrong password', WRONG_PASSWORD],
      ['a new charge point password', 'a-brand-new-charger-secret'],
      ['the admin token', stack.adminToken],
      ['the webhook secret', stack.stripeEmulator!.webhookSecret],
      ['the other webhook secret', 'whsec_not_the_endpoints'],
      ['the Stripe secret key', 'sk_test_local_emulator'],
      ...['CP-001', 'CP-002', 'CP-404'].map((id): [string, string] => [`Basic credentials of ${id}`, Buffer.from(`${id}:${DEMO.password}`).toString('base64')]),
      ['Basic credentials with the wrong password', Buffer.from(`CP-001:${WRONG_PASSWORD}`).toString('base64')],
    ];
    for (const [what, secret] of secrets) expect(text.includes(secret), what).toBe(false);
    for (const [what, pattern] of [
      ['an Authorization header value', /(Basic|Bearer)\s+[A-Za-z0-9+/_.~-]{8,}/],
      ['a Stripe secret or restricted key', /\b[sr]k_(test|live)_[A-Za-z0-9_]+/],
      ['a webhook signing secret', /whsec_[A-Za-z0-9_-]+/],
      ['a Stripe-Signature value', /v1=[0-9a-f]{16,}/],
    ] as const) {
      expect(text.match(pattern)?.[0], what).toBeUndefined();
    }
    // Card numbers: no 13–19 digit run (spaces or dashes allowed) that starts like a card and passes Luhn.
    const pans = [...text.matchAll(/(?<![\d])[3-6](?:[ -]?\d){12,18}(?![\d])/g)].map((m) => m[0].replace(/[ -]/g, '')).filter(luhn);
    expect(pans).toEqual([]);
    console.info(`secrets in logs: ${lines.length} log lines checked, none carries a secret`);
  }, 60_000);
});
