import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixedClock } from '../../functions/shared/clock.ts';
import type { Log } from '../../functions/shared/log.ts';
import { DEMO } from '../../lib/local/seed.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { diffDumps, dumpTables } from '../support/dynamo-dump.ts';
import { admin, connectChargePoint, startTestStack, upgradeStatus, type ChargePointClient } from '../support/stack.ts';
import { InMemorySubscriptions, postWebhook, subscriptionEvent, WEBHOOK_SECRET } from '../support/stripe.ts';

/** Counts scrypt verifications, to show a locked-out identity is refused before any. */
const scrypt = vi.hoisted(() => ({ verifications: 0 }));
vi.mock('../../functions/ocpp/domain/passwords.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../functions/ocpp/domain/passwords.ts')>();
  return {
    ...actual,
    verifyPassword: (password: string, stored: string) => {
      scrypt.verifications += 1;
      return actual.verifyPassword(password, stored);
    },
  };
});

/**
 * Who gets in, and what a failed attempt may change. Complements the status-code cases in
 * test/e2e/ocpp-session.test.ts ($connect), test/integration/admin-api.test.ts (admin GET without
 * or with a wrong token) and test/integration/stripe-webhooks.test.ts (bad, stale, malformed
 * signatures; duplicates): here every refusal is also checked against a dump of every table and
 * the event bus, and the $connect brute-force lockout is driven with the stack's clock.
 */
describe('authentication and brute force on the local stack', () => {
  let stack: LocalStack;
  const clock = fixedClock(new Date(Math.floor(Date.now() / 1000) * 1000));
  const stripe = new InMemorySubscriptions();
  const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const log: Log = Object.fromEntries(
    (['debug', 'info', 'warn', 'error'] as const).map((level) => [level, (message: string, fields?: Record<string, unknown>) => void logs.push({ level, message, ...(fields ? { fields } : {}) })]),
  ) as unknown as Log;
  const published: string[] = [];
  const clients: ChargePointClient[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ clock, log, stripe: { subscriptions: stripe, webhookSecret: WEBHOOK_SECRET } });
    stack.bus.subscribe((event: any) => published.push(event['detail-type']));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close({ force: true }).catch(() => undefined)));
    await stack?.close();
  });

  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  /** Opens a WebSocket like a charge point; the HTTP status of the upgrade (101 when it got in). */
  const attempt = (identity: string, authorization?: string) => upgradeStatus(stack, encodeURIComponent(identity), authorization === undefined ? {} : { Authorization: authorization });
  const settled = async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await stack.bus.drain();
  };
  const newChargePoint = async (id: string) => expect((await admin(stack, 'PUT', `/charge-points/${id}`, { password: DEMO.password, timeZone: 'UTC' })).status).toBe(201);

  describe('$connect refusals change nothing', () => {
    it.each([
      ['a wrong password', 'CP-003', basic('CP-003', 'wrong-password-123'), true],
      ['an empty password', 'CP-003', basic('CP-003', ''), true],
      ['a 10 KB password', 'CP-003', basic('CP-003', 'x'.repeat(10_000)), true],
      ['no Authorization header', 'CP-003', undefined, false],
      ['a Bearer token instead of Basic', 'CP-003', `Bearer ${DEMO.password}`, false],
      ['Basic auth that is not base64', 'CP-003', 'Basic !!!not-base64!!!', false],
      ['Basic auth without a colon', 'CP-003', `Basic ${Buffer.from('CP-003').toString('base64')}`, false],
      ['a username that is not the identity (the right password of another)', 'CP-003', basic('CP-001', DEMO.password), false],
      ['an unknown charge point', 'CP-404', basic('CP-404', DEMO.password), false],
      ['an identity with a path in it', 'CP-003/../CP-001', basic('CP-001', DEMO.password), false],
    ])('%s: 401, and only a wrong password is counted', async (_name, identity, authorization, counted) => {
      const before = await dumpTables(stack);
      const eventsBefore = published.length;
      const status = await attempt(identity, authorization);
      expect([401, 400]).toContain(status);
      await settled();
      const diff = diffDumps(before, await dumpTables(stack));
      const counter = 'voltledger-local-registry|CP#CP-003|LOGIN_FAILURES';
      expect(diff.removed).toEqual([]);
      expect([...diff.added, ...diff.changed]).toEqual(counted ? [counter] : []);
      expect(published.length).toBe(eventsBefore);
    });
  });

  describe('brute force', () => {
    it('locks an identity out after 10 wrong passwords in 5 minutes, refuses even the right one without scrypt until the lock ends, and keeps open connections', async () => {
      const online = await connectChargePoint(stack, 'CP-002');
      clients.push(online);
      const started = clock.now().getTime();

      for (let i = 1; i <= 10; i += 1) {
        clock.set(new Date(started + i * 1000));
        expect(await attempt('CP-002', basic('CP-002', `guess-number-${i}-xxxxxxxx`)), `guess ${i}`).toBe(401);
      }
      expect(await stack.stores.registry.loginFailures('CP-002')).toMatchObject({ failures: 10, expiresAt: Math.floor(started / 1000) + 10 + 300 });

      const verifications = scrypt.verifications;
      expect(await attempt('CP-002', basic('CP-002', DEMO.password))).toBe(401);
      for (let i = 0; i < 5; i += 1) expect(await attempt('CP-002', basic('CP-002', `more-guesses-${i}-xxxxxxxx`))).toBe(401);
      expect(scrypt.verifications).toBe(verifications);
      // Attempts refused while locked test no password, so they are not counted and do not extend the lock.
      expect((await stack.stores.registry.loginFailures('CP-002'))?.failures).toBe(10);

      // Other identities are not affected; nor is the connection CP-002 already had.
      expect(await attempt('CP-001', basic('CP-001', DEMO.password))).toBe(101);
      expect(await online.call('Heartbeat', {})).toEqual({ currentTime: clock.now().toISOString() });

      clock.set(new Date(started + 10_000 + 299_000));
      expect(await attempt('CP-002', basic('CP-002', DEMO.password))).toBe(401);
      clock.set(new Date(started + 10_000 + 300_000));
      expect(await attempt('CP-002', basic('CP-002', DEMO.password))).toBe(101);

      const refusals = logs.filter((l) => l.message.startsWith('connect refused') && l.fields?.chargePointId === 'CP-002');
      expect(refusals.filter((l) => l.message.startsWith('connect refused: wrong password'))).toHaveLength(10);
      expect(refusals.at(9)).toMatchObject({ level: 'warn', message: 'connect refused: wrong password; identity now locked out', fields: { failures: 10, maxFailures: 10 } });
      expect(refusals.filter((l) => l.message === 'connect refused: locked out after repeated wrong passwords')).toHaveLength(7);
    });

    it('counts concurrent wrong passwords exactly once each (an atomic counter), and locks', async () => {
      await newChargePoint('CP-RACE');
      const statuses = await Promise.all(Array.from({ length: 25 }, (_, i) => attempt('CP-RACE', basic('CP-RACE', `parallel-guess-${i}-xxxxxxxx`))));
      expect(statuses).toEqual(Array(25).fill(401));
      expect((await stack.stores.registry.loginFailures('CP-RACE'))?.failures).toBe(25);
      expect(await attempt('CP-RACE', basic('CP-RACE', DEMO.password))).toBe(401);
    });

    it('starts counting again once a window passes without reaching the limit', async () => {
      await newChargePoint('CP-WINDOW');
      const started = clock.now().getTime();
      for (let i = 0; i < 9; i += 1) expect(await attempt('CP-WINDOW', basic('CP-WINDOW', `slow-guess-${i}-xxxxxxxx`))).toBe(401);
      clock.set(new Date(started + 300_000));
      expect(await attempt('CP-WINDOW', basic('CP-WINDOW', 'slow-guess-9-xxxxxxxx'))).toBe(401);
      expect(await stack.stores.registry.loginFailures('CP-WINDOW')).toMatchObject({ failures: 1, windowStartedAt: Math.floor(started / 1000) + 300 });
      expect(await attempt('CP-WINDOW', basic('CP-WINDOW', DEMO.password))).toBe(101);
    });

    it('keeps no counter for identities that do not exist (nothing to guess, and no item per made-up name)', async () => {
      for (let i = 0; i < 12; i += 1) expect(await attempt(`CP-GHOST-${i % 3}`, basic(`CP-GHOST-${i % 3}`, 'whatever-password-x'))).toBe(401);
      expect(await stack.stores.registry.loginFailures('CP-GHOST-0')).toBeUndefined();
    });
  });

  describe('admin API writes without a valid token', () => {
    const writes: Array<[string, string, unknown]> = [
      ['PUT', '/charge-points/CP-EVIL', { password: 'attacker-chosen-password' }],
      ['PUT', '/charge-points/CP-001', { password: 'attacker-chosen-password' }],
      ['PUT', '/id-tags/EVIL-TAG', { status: 'Accepted' }],
      ['PUT', '/id-tags/DEMO-BLOCKED', { status: 'Accepted' }],
      ['POST', '/charge-points/CP-002/commands', { action: 'RemoteStopTransaction', payload: { transactionId: 1 } }],
      ['POST', '/jobs/complete-idle-sessions', {}],
      ['PUT', '/membership-tiers/free', { name: 'Free', stripePriceIds: ['price_free'] }],
    ];
    it.each([
      ['no token', undefined],
      ['an empty bearer', 'Bearer '],
      ['a wrong token', 'Bearer nope'],
      ['the token with one character more', 'EXTEND'],
      ['the token as Basic auth', 'BASIC'],
      ['the token without "Bearer"', 'BARE'],
    ])('with %s every write is a 401 and nothing changes', async (_name, scheme) => {
      const authorization =
        scheme === 'EXTEND' ? `Bearer ${stack.adminToken}x` : scheme === 'BASIC' ? `Basic ${Buffer.from(`admin:${stack.adminToken}`).toString('base64')}` : scheme === 'BARE' ? stack.adminToken : scheme;
      const before = await dumpTables(stack);
      const eventsBefore = published.length;
      for (const [method, path, body] of writes) {
        const response = await fetch(`${stack.adminUrl}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
          body: JSON.stringify(body),
        });
        expect(response.status, `${method} ${path}`).toBe(401);
      }
      await settled();
      expect(diffDumps(before, await dumpTables(stack))).toEqual({ added: [], changed: [], removed: [] });
      expect(published.length).toBe(eventsBefore);
    });
  });

  describe('Stripe webhooks with a bad, stale or replayed signature', () => {
    const now = () => Math.floor(clock.now().getTime() / 1000);

    beforeAll(async () => {
      expect((await admin(stack, 'PUT', '/membership-tiers/plus', { name: 'Plus', stripePriceIds: ['price_plus_monthly'] })).status).toBeLessThan(300);
      stripe.set({ id: 'sub_replay', customerId: 'cus_replay', status: 'active', priceIds: ['price_plus_monthly'] });
      expect((await admin(stack, 'PUT', '/drivers/replay', { stripeCustomerId: 'cus_replay', defaultPaymentMethodId: 'pm_replay', idTags: ['REPLAY-TAG'] })).status).toBeLessThan(300);
    });
    const billing = async () => (await admin(stack, 'GET', '/id-tags/REPLAY-TAG')).body.billing;

    it('processes a signed delivery once; its replay is a 200 that changes nothing, even when a fresh read would; past the tolerance it is a 400', async () => {
      expect((await billing()).kind).toBe('member');
      stripe.set({ id: 'sub_replay', status: 'canceled' });
      const event = subscriptionEvent('customer.subscription.deleted', { id: 'sub_replay', customer: 'cus_replay', status: 'canceled' });
      const payload = JSON.stringify(event);
      const { sign } = await import('../support/stripe.ts');
      const signature = sign(payload, { timestamp: now() });
      const deliver = () => fetch(stack.stripeWebhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload });

      expect((await deliver()).status).toBe(200);
      expect((await billing()).kind).toBe('retail');

      // Stripe's state moves on; a replay of the old delivery must not act on it.
      stripe.set({ id: 'sub_replay', status: 'active' });
      const before = await dumpTables(stack);
      const replay = await deliver();
      expect(replay.status).toBe(200);
      expect(await replay.json()).toMatchObject({ duplicate: true });
      const retrievals = stripe.retrieves;
      clock.set(new Date(clock.now().getTime() + 301_000));
      const stale = await deliver();
      expect(stale.status).toBe(400);
      expect(stripe.retrieves).toBe(retrievals);
      await settled();
      expect(diffDumps(before, await dumpTables(stack))).toEqual({ added: [], changed: [], removed: [] });
      expect((await billing()).kind).toBe('retail');
    });

    it.each([
      ['a wrong secret', { secret: 'whsec_someone_else' }],
      ['a stale timestamp', { timestamp: -301 }],
      ['a malformed header', { signature: 'garbage' }],
      ['another delivery’s signature', { signature: 'OTHER' }],
    ])('refuses %s with 400 and changes nothing', async (_name, options: { secret?: string; timestamp?: number; signature?: string }) => {
      const { sign } = await import('../support/stripe.ts');
      const event = subscriptionEvent('customer.subscription.updated', { id: 'sub_replay', customer: 'cus_replay' });
      const signature = options.signature === 'OTHER' ? sign(JSON.stringify(subscriptionEvent('customer.subscription.updated', { id: 'sub_x', customer: 'cus_x' })), { timestamp: now() }) : options.signature;
      const before = await dumpTables(stack);
      const retrievals = stripe.retrieves;
      const response = await postWebhook(stack.stripeWebhookUrl, event, {
        ...(options.secret ? { secret: options.secret } : {}),
        timestamp: now() + (options.timestamp ?? 0),
        ...(signature ? { signature } : {}),
      });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('BadSignature');
      expect(stripe.retrieves).toBe(retrievals);
      await settled();
      expect(diffDumps(before, await dumpTables(stack))).toEqual({ added: [], changed: [], removed: [] });
    });
  });

  it('never logs a password or an Authorization header', async () => {
    // Refusals of every kind made here, so the logs hold them whichever tests ran before (or none):
    // the right password, wrong ones up to the lockout and past it, malformed and misdirected
    // credentials, admin writes without a valid token, Stripe deliveries with a bad signature.
    await newChargePoint('CP-LOGS');
    expect(await attempt('CP-LOGS', basic('CP-LOGS', DEMO.password))).toBe(101);
    const wrong = ['wrong-password-123', '', 'x'.repeat(10_000), 'guess-number-1-xxxxxxxx', 'guess-number-2-xxxxxxxx', 'slow-guess-0-xxxxxxxx', 'attacker-chosen-password'];
    for (const password of wrong) expect(await attempt('CP-LOGS', basic('CP-LOGS', password))).toBe(401);
    expect(await Promise.all([0, 1, 2].map((i) => attempt('CP-LOGS', basic('CP-LOGS', `parallel-guess-${i}-xxxxxxxx`))))).toEqual([401, 401, 401]);
    for (const password of ['more-guesses-0-xxxxxxxx', 'more-guesses-1-xxxxxxxx', DEMO.password]) expect(await attempt('CP-LOGS', basic('CP-LOGS', password))).toBe(401); // locked out
    for (const [identity, authorization] of [
      ['CP-001', undefined],
      ['CP-001', `Bearer ${DEMO.password}`],
      ['CP-001', 'Basic !!!not-base64!!!'],
      ['CP-001', `Basic ${Buffer.from('CP-001').toString('base64')}`],
      ['CP-001', basic('CP-LOGS', DEMO.password)],
      ['CP-LOGS/../CP-001', basic('CP-001', DEMO.password)],
      ['CP-LOGS-GHOST', basic('CP-LOGS-GHOST', DEMO.password)],
    ] as Array<[string, string | undefined]>) {
      expect([401, 400]).toContain(await attempt(identity, authorization));
    }
    for (const authorization of [undefined, `Bearer ${stack.adminToken}x`, `Basic ${Buffer.from(`admin:${stack.adminToken}`).toString('base64')}`, stack.adminToken]) {
      for (const path of ['/charge-points/CP-EVIL', '/charge-points/CP-LOGS']) {
        const response = await fetch(`${stack.adminUrl}${path}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
          body: JSON.stringify({ password: 'attacker-chosen-password' }),
        });
        expect(response.status).toBe(401);
      }
    }
    const event = subscriptionEvent('customer.subscription.updated', { id: 'sub_logs', customer: 'cus_logs' });
    for (const options of [{ secret: 'whsec_someone_else' }, { signature: 'garbage' }]) {
      expect((await postWebhook(stack.stripeWebhookUrl, event, { timestamp: Math.floor(clock.now().getTime() / 1000), ...options })).status).toBe(400);
    }
    await settled();

    const text = JSON.stringify(logs);
    expect(logs.length).toBeGreaterThan(20);
    for (const secret of [DEMO.password, 'wrong-password-123', 'guess-number-', 'parallel-guess-', 'slow-guess-', 'more-guesses-', 'attacker-chosen-password', stack.adminToken, WEBHOOK_SECRET]) {
      expect(text, secret).not.toContain(secret);
    }
    expect(text).not.toMatch(/Basic [A-Za-z0-9+/]{12,}={0,2}|Bearer [^\s"]{8,}/);
    for (const identity of ['CP-001', 'CP-002', 'CP-003']) expect(text).not.toContain(Buffer.from(`${identity}:${DEMO.password}`).toString('base64'));
  });
});
