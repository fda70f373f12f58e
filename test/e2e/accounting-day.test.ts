import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balances } from '../../functions/accounting/domain/journal.ts';
import { DIFFERENCE_CLASSES, type ReconciliationReport } from '../../functions/accounting/domain/reconciliation.ts';
import type { PostedEntry } from '../../functions/accounting/domain/ports.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import type { StripeEmulatorControl } from '../../lib/local/stripe/index.ts';
import { runningClock } from '../../functions/shared/clock.ts';
import { admin, connectChargePoint, energySample, startTestStack, type ChargePointClient } from '../support/stack.ts';

const DAY_START = '2026-11-23T09:00:00Z';
const t = (minutes: number) => new Date(Date.parse(DAY_START) + minutes * 60_000).toISOString();
const iso = (unix: number) => new Date(unix * 1000).toISOString();

/**
 * A day of sessions on the local stack, end to end: a strict OCPP client charges retail, member,
 * fleet and free sessions; the payments consumer holds and captures through the real Stripe SDK
 * against the emulator; a refund, a dispute and a payout happen at Stripe; its signed webhooks
 * become money events; the ledger books everything, the accounting receiver gets every entry, and
 * reconciliation explains every difference.
 */
describe('a day of sessions: ledger, accounting receiver and reconciliation (local stack, Stripe emulator)', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let control: StripeEmulatorControl;
  let cp: ChargePointClient;
  const sessions: Record<string, string> = {};
  let payoutId: string;
  let day: string;

  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      await control.drainWebhooks();
      await stack.bus.drain();
    }
  };

  async function session(name: string, idTag: string, connectorId: number, startMinute: number, wh: number) {
    const started = await cp.call('StartTransaction', { connectorId, idTag, meterStart: 0, timestamp: t(startMinute) });
    expect(started.idTagInfo.status).toBe('Accepted');
    const transactionId = started.transactionId as number;
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'Charging', timestamp: t(startMinute) });
    await cp.call('MeterValues', { connectorId, transactionId, meterValue: [energySample(t(startMinute + 20), Math.round(wh / 2))] });
    await cp.call('StopTransaction', { transactionId, meterStop: wh, timestamp: t(startMinute + 40), transactionData: [energySample(t(startMinute + 40), wh)] });
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'Available', timestamp: t(startMinute + 45) });
    await settle();
    sessions[name] = `sess_${transactionId}`;
  }

  async function driver(id: string, idTag: string) {
    const customer = await stripe.customers.create({ email: `${id}@example.com`, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const pm = customer.invoice_settings.default_payment_method as string;
    expect((await admin(stack, 'PUT', `/drivers/${id}`, { stripeCustomerId: customer.id, defaultPaymentMethodId: pm, idTags: [idTag] })).status).toBe(201);
  }

  async function ledgerEntries(): Promise<PostedEntry[]> {
    const days = new Set<string>();
    for (let d = -1; d <= 4; d++) days.add(new Date(Date.parse(`${day}T00:00:00Z`) + d * 86_400_000).toISOString().slice(0, 10));
    days.add('2026-11-23');
    const all = new Map<string, PostedEntry>();
    for (const d of days) for (const p of await stack.accounting.store.entriesByDay(d)) all.set(p.entry.entryId, p);
    return [...all.values()];
  }

  beforeAll(async () => {
    // The stack and the Stripe emulator live on the day of the sessions, just after the last one,
    // whatever the wall clock says: revenue assurance and reconciliation read "now" from this clock.
    stack = await startTestStack({ clock: runningClock(t(180)), stripe: { emulator: { options: { webhookRetry: { baseDelayMs: 20 } } } }, accounting: { syncConfig: { baseDelayMs: 5 } } });
    stripe = stack.stripeEmulator!.client;
    control = stack.stripeEmulator!.emulator.control;
    day = iso(control.now()).slice(0, 10);
    // Up to 50 kWh in 40 min (75 kW): rate CP-001 for it, or pricing would not bill energy a 22 kW
    // charger cannot deliver (docs/meters.md).
    expect((await admin(stack, 'PUT', '/charge-points/CP-001', { maxPowerKw: 150 })).status).toBeLessThan(300);
    cp = await connectChargePoint(stack, 'CP-001');
    await cp.call('BootNotification', { chargePointVendor: 'VoltLedger', chargePointModel: 'E2E' });
    await driver('alice', 'ALICE-CARD');
    await driver('bob', 'BOB-CARD');
    await driver('carol', 'CAROL-CARD');

    await session('alice', 'ALICE-CARD', 1, 0, 50_000);
    await session('bob', 'BOB-CARD', 2, 10, 40_000);
    await session('carol', 'CAROL-CARD', 1, 60, 20_000);
    await session('fleet', 'DEMO-FLEET-1', 2, 70, 15_000);
    await session('free', 'DEMO-FREE', 1, 120, 4_000);

    // A partial refund for Alice through the admin API (Stripe refund, its webhook, PaymentRefunded).
    const refund = await admin(stack, 'POST', `/sessions/${sessions.alice}/refunds`, { amountMinor: 250, reason: 'requested_by_customer' });
    expect(refund.status).toBeLessThan(300);
    await settle();
    // Carol's bank disputes the charge, and wins it for her.
    const carolPayment = (await admin(stack, 'GET', `/sessions/${sessions.carol}`)).body.payment;
    const intent = await stripe.paymentIntents.retrieve(carolPayment.paymentIntentIds[0]);
    const dispute = control.openDispute(intent.latest_charge as string);
    await settle();
    control.closeDispute(dispute.id, 'lost');
    await settle();
    // Two days later the balance is available and paid out.
    control.advanceTime(3 * 86_400);
    const [payout] = control.payout({ currency: 'eur' });
    payoutId = payout!.id;
    await settle();
  }, 120_000);

  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await stack?.close();
  });

  it('books every money movement once, balanced, and clears what card sessions owed', async () => {
    const entries = await ledgerEntries();
    const ids = entries.map((p) => p.entry.entryId);
    for (const name of ['alice', 'bob', 'carol', 'fleet']) expect(ids).toContain(`SessionPriced:${sessions[name]}`);
    expect(ids.filter((id) => id.startsWith('PaymentCaptured:'))).toHaveLength(3);
    expect(ids.filter((id) => id.startsWith('PaymentRefunded:'))).toHaveLength(1);
    expect(ids.filter((id) => id.startsWith('DisputeOpened:'))).toHaveLength(1);
    expect(ids.filter((id) => id.startsWith('DisputeClosed:'))).toHaveLength(1);
    expect(ids).toContain(`PayoutPaid:${payoutId}`);
    const b = balances(entries.map((p) => p.entry));
    let sum = 0n;
    for (const v of b.values()) sum += v;
    expect(sum).toBe(0n);
    expect(b.get('EUR|driver_receivable') ?? 0n).toBe(0n);
    // What is left in clearing is what Stripe still holds: its balance after the payout.
    const balance = await stripe.balance.retrieve();
    const stripeHolds = balance.available.concat(balance.pending).filter((x) => x.currency === 'eur').reduce((s, x) => s + x.amount, 0);
    expect(b.get('EUR|stripe_clearing') ?? 0n).toBe(BigInt(stripeHolds));
  });

  it('the accounting receiver holds exactly the ledger’s entries, signed, with the same lines', async () => {
    const entries = await ledgerEntries();
    const received = new Map(stack.accounting.receiver.received().map((r) => [r.idempotencyKey, r.body]));
    expect([...received.keys()].sort()).toEqual(entries.map((p) => p.entry.entryId).sort());
    for (const { entry } of entries) {
      expect(received.get(entry.entryId).entry.lines.map((l: { account: string; side: string; amountMinor: number }) => `${l.account}|${l.side}|${l.amountMinor}`)).toEqual(
        entry.lines.map((l) => `${l.account}|${l.side}|${l.amountMinor}`),
      );
    }
    expect(stack.accounting.receiver.rejected()).toBe(0);
  });

  it('reconciles the payout on payout.paid, and every difference is classified and explained', async () => {
    const stored = await admin(stack, 'GET', `/reconciliations?payoutId=${payoutId}`);
    const report = stored.body.reports[0].report as ReconciliationReport;
    expect(report.payout).toMatchObject({ payoutId, balances: true });
    for (const item of report.items) expect(DIFFERENCE_CLASSES).toContain(item.class);
    expect(report.items.filter((i) => !['matched', 'pending_settlement', 'fee', 'refund', 'dispute'].includes(i.class))).toEqual([]);
    expect(report.explained).toBe(true);
    expect(report.counts.refund).toBe(1);
    expect(report.counts.dispute).toBe(1);
  });

  it('reconciles the day on demand: sessions settled = Stripe captured = ledger, refund and dispute explained', async () => {
    const response = await admin(stack, 'POST', '/reconciliations', { date: day });
    expect(response.status).toBe(200);
    const report = response.body as ReconciliationReport & { table: string };
    for (const item of report.items) expect(DIFFERENCE_CLASSES).toContain(item.class);
    const sessionItems = report.items.filter((i) => i.kind === 'session');
    expect(sessionItems.map((i) => i.sessionId).sort()).toEqual([sessions.alice, sessions.bob, sessions.carol].sort());
    expect(sessionItems.every((i) => i.class === 'matched')).toBe(true);
    expect(report.explained).toBe(true);
    expect(report.table).toContain(`Reconciliation of day ${day}`);
  });

  it('revenue assurance: every completed session has exactly one financial closure (fleet waits for its statement month)', async () => {
    const report = (await admin(stack, 'GET', '/revenue-assurance?olderThanHours=0')).body;
    expect(report.open).toEqual([]);
    expect(report.conflicts).toEqual([]);
    expect(report.checked).toBe(5);
    expect(report.awaitingStatementPeriod).toBe(1);
  });
});
