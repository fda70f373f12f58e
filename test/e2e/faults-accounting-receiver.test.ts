import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, connectChargePoint, energySample, startTestStack, type ChargePointClient } from '../support/stack.ts';

const t = (minutes: number) => new Date(Date.parse('2026-11-23T09:00:00Z') + minutes * 60_000).toISOString();

/**
 * Fault (issue 9): the accounting system is down for a while. Journal entries of real card
 * sessions are retried, then wait as dead letters; nothing is lost. Once the receiver is back, a
 * replay delivers every entry, and a second replay (an impatient operator) delivers none twice.
 */
describe('faults: the accounting receiver is down for a while', () => {
  let stack: LocalStack;
  let cp: ChargePointClient;
  const posted = new Set<string>();

  beforeAll(async () => {
    stack = await startTestStack({
      stripe: { emulator: { options: { webhookRetry: { baseDelayMs: 20 } }, client: { maxNetworkRetries: 0 } } },
      accounting: { syncConfig: { maxAttempts: 3, baseDelayMs: 5 } },
    });
    stack.bus.subscribe((event: any) => {
      if (event['detail-type'] === 'JournalEntryPosted') posted.add(event.detail.data.entry.entryId);
    });
    cp = await connectChargePoint(stack, 'CP-001');
    expect((await admin(stack, 'PUT', '/payment-policies/default', { hold: { mode: 'fixed', amountMinor: 2000 } })).status).toBe(200);
  });

  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await stack?.close();
  });

  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await stack.stripeEmulator!.emulator.control.drainWebhooks();
      await stack.bus.drain();
    }
  };

  async function cardSession(driverId: string, minute: number, wh: number) {
    const stripe = stack.stripeEmulator!.client;
    const customer = await stripe.customers.create({ email: `${driverId}@example.com`, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const idTag = driverId.toUpperCase();
    expect((await admin(stack, 'PUT', `/drivers/${driverId}`, { stripeCustomerId: customer.id, defaultPaymentMethodId: customer.invoice_settings.default_payment_method, idTags: [idTag] })).status).toBe(201);
    const { transactionId } = await cp.call('StartTransaction', { connectorId: 1, idTag, meterStart: 0, timestamp: t(minute) });
    await cp.call('StopTransaction', { transactionId, meterStop: wh, timestamp: t(minute + 30), transactionData: [energySample(t(minute + 30), wh)] });
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: t(minute + 30) });
    await settle();
    return `sess_${transactionId}`;
  }

  it('keeps every entry while it is down and delivers each exactly once when it is back', async () => {
    const receiver = stack.accounting.receiver;
    receiver.failNext(1_000_000); // down: every delivery answers 503
    const sessions = [await cardSession('acct-a', 0, 10_000), await cardSession('acct-b', 60, 20_000)];

    // Revenue, captures and fees of both sessions were posted, retried, and now wait.
    expect(posted.size).toBeGreaterThanOrEqual(6);
    for (const sessionId of sessions) expect([...posted]).toContain(`SessionPriced:${sessionId}`);
    expect(receiver.received()).toEqual([]);
    const dead = (await admin(stack, 'GET', '/accounting/dead-letters')).body.deadLetters as Array<{ entryId: string; attempts: number }>;
    expect(new Set(dead.map((d) => d.entryId))).toEqual(posted);
    expect(dead.every((d) => d.attempts === 3)).toBe(true);

    receiver.failNext(0); // back
    const replay = await admin(stack, 'POST', '/accounting/replay', { deadLetters: true });
    expect(replay.body).toMatchObject({ replayed: posted.size, delivered: posted.size });
    expect((await admin(stack, 'GET', '/accounting/dead-letters')).body.deadLetters).toEqual([]);
    const again = await admin(stack, 'POST', '/accounting/replay', { deadLetters: true });
    expect(again.body).toMatchObject({ replayed: 0 });

    const received = receiver.received();
    expect(new Set(received.map((r) => r.idempotencyKey))).toEqual(posted);
    expect(received.every((r) => r.duplicates === 0)).toBe(true);
    // What the accounting system holds is the ledger, line for line.
    for (const r of received) {
      const stored = (await admin(stack, 'GET', `/ledger/entries/${encodeURIComponent(r.idempotencyKey)}`)).body;
      const lines = (stored.entry ?? stored).lines.map((l: { account?: string; accountKey?: string; side: string; amountMinor: number }) => [l.side, l.amountMinor]);
      expect(r.body.entry.lines.map((l: { side: string; amountMinor: number }) => [l.side, l.amountMinor])).toEqual(lines);
    }
  }, 60_000);
});
