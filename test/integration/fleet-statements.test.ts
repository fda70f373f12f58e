import type Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run as fleetCli } from '../../bin/commands/fleet.ts';
import { formatScaled } from '../../functions/shared/decimal.ts';
import { runningClock } from '../../functions/shared/clock.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, connectChargePoint, energySample, startTestStack, type ChargePointClient } from '../support/stack.ts';

// A month of fleet sessions (September 2026, Berlin) on the demo fleet card DEMO-FLEET-1 (account
// ACME), driven through real OCPP, priced by the pricing consumer, accrued by the fleet consumer,
// billed by a statement invoiced through the real Stripe SDK against the local emulator. One session
// of 30 September reaches VoltLedger only after the September statement was issued (its charge
// point was offline): it must land on October's statement, and September must not change.

const berlin = (isoLocal: string) => new Date(`${isoLocal}+02:00`).toISOString();

interface SessionSpec {
  chargePointId: string;
  connectorId?: number;
  start: string;
  minutes: number;
  wh: number;
}

const SEPTEMBER: SessionSpec[] = [
  { chargePointId: 'CP-001', start: '2026-09-01T08:00:00', minutes: 45, wh: 12_000 },
  { chargePointId: 'CP-003', start: '2026-09-03T23:10:00', minutes: 30, wh: 40_500 },
  { chargePointId: 'CP-001', start: '2026-09-08T12:00:00', minutes: 90, wh: 21_750 },
  { chargePointId: 'CP-002', start: '2026-09-12T06:30:00', minutes: 60, wh: 15_000 },
  { chargePointId: 'CP-003', start: '2026-09-17T18:00:00', minutes: 20, wh: 33_000 },
  { chargePointId: 'CP-002', start: '2026-09-21T21:30:00', minutes: 75, wh: 18_200 },
  { chargePointId: 'CP-001', start: '2026-09-26T10:15:00', minutes: 40, wh: 9_999 },
  { chargePointId: 'CP-003', start: '2026-09-30T07:05:00', minutes: 25, wh: 27_300 },
];
const LATE: SessionSpec = { chargePointId: 'CP-002', connectorId: 2, start: '2026-09-30T20:00:00', minutes: 50, wh: 14_400 };

// "Now" for the stack: after September and October (so both can be issued) whatever the wall clock
// says; it runs from there, so leases and due dates still move.
const NOW = '2026-11-15T12:00:00Z';

describe('fleet statements on the local stack', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let customerId: string;
  const clients = new Map<string, ChargePointClient>();
  const published: any[] = [];
  const sessionOf = (transactionId: number) => `sess_${transactionId}`;

  async function chargePoint(id: string) {
    if (!clients.has(id)) clients.set(id, await connectChargePoint(stack, id));
    return clients.get(id)!;
  }

  async function startSession(spec: SessionSpec): Promise<{ cp: ChargePointClient; transactionId: number }> {
    const cp = await chargePoint(spec.chargePointId);
    const start = await cp.call('StartTransaction', { connectorId: spec.connectorId ?? 1, idTag: 'DEMO-FLEET-1', meterStart: 100_000, timestamp: berlin(spec.start) });
    expect(start.idTagInfo.status).toBe('Accepted');
    return { cp, transactionId: start.transactionId };
  }

  async function finishSession(spec: SessionSpec, { cp, transactionId }: { cp: ChargePointClient; transactionId: number }) {
    const end = new Date(Date.parse(berlin(spec.start)) + spec.minutes * 60_000).toISOString();
    const mid = new Date(Date.parse(berlin(spec.start)) + (spec.minutes / 2) * 60_000).toISOString();
    const connectorId = spec.connectorId ?? 1;
    await cp.call('MeterValues', { connectorId, transactionId, meterValue: [energySample(mid, 100_000 + Math.round(spec.wh / 2))] });
    await cp.call('StopTransaction', { transactionId, idTag: 'DEMO-FLEET-1', meterStop: 100_000 + spec.wh, timestamp: end, reason: 'EVDisconnected' });
    await cp.call('StatusNotification', { connectorId, errorCode: 'NoError', status: 'Available', timestamp: end });
  }

  // Every test gets its own stack: ACME is one account, and a statement claims every unbilled
  // session of its period and earlier, so sessions or statements of one test would end up in another's.
  beforeEach(async () => {
    clients.clear();
    published.length = 0;
    stack = await startTestStack({ stripe: { emulator: {} }, clock: runningClock(NOW) });
    stack.bus.subscribe((event: any) => published.push(event));
    stripe = stack.stripeEmulator!.client;
    customerId = (await stripe.customers.create({ name: 'ACME Logistics GmbH', email: 'billing@acme.example' })).id;
    const account = await admin(stack, 'PUT', '/fleet-accounts/ACME', {
      name: 'ACME Logistics GmbH',
      currency: 'EUR',
      billingContact: { email: 'billing@acme.example' },
      plan: { kind: 'per_session' },
      taxDetails: { vatPercent: '19', treatment: 'standard', taxId: 'DE123456789', country: 'DE' },
      invoiceCollection: { method: 'send_invoice', daysUntilDue: 14 },
      stripeCustomerId: customerId,
      timeZone: 'Europe/Berlin',
    });
    expect(account.status).toBe(200); // the demo account, now on this test's customer
  });

  afterEach(async () => {
    await Promise.all([...clients.values()].map((c) => c.close({ force: true }).catch(() => undefined)));
    await stack?.close();
  });

  /** Charges the sessions one after the other and waits until they are priced and accrued; their session ids. */
  async function chargeSessions(specs: SessionSpec[]): Promise<string[]> {
    const ids: string[] = [];
    for (const spec of specs) {
      const started = await startSession(spec);
      await finishSession(spec, started);
      ids.push(sessionOf(started.transactionId));
    }
    await stack.bus.drain();
    return ids;
  }

  const issued = () => published.filter((e) => e['detail-type'] === 'FleetStatementIssued');

  it('bills a month once, puts the late session on the next statement, and never invoices twice', async () => {
    // Prepare: September's sessions, and the late one started but not yet reported as finished.
    const late = await startSession(LATE);
    const septemberIds = await chargeSessions(SEPTEMBER);

    const preview = await admin(stack, 'GET', '/fleet-accounts/ACME/statements/2026-09');
    expect(preview.status).toBe(200);
    expect(preview.body.status).toBe('open');
    expect(preview.body.statement.lines.map((l: any) => l.sessionId)).toEqual(septemberIds);

    // Act: issue September.
    const first = await admin(stack, 'POST', '/fleet-accounts/ACME/statements/2026-09/issue');

    // Assess: one line per session with its facts, totals that add up, an invoice on the customer.
    expect(first.status).toBe(200);
    const statement = first.body.statement;
    expect(first.body.status).toBe('issued');
    expect(statement.statementId).toBe('FS-ACME-2026-09');
    expect(statement.sessionCount).toBe(SEPTEMBER.length);
    expect(statement.lines[0]).toMatchObject({ date: '2026-09-01', siteId: 'berlin-mitte', chargePointId: 'CP-001', idTag: 'DEMO-FLEET-1', energyKwh: '12', durationSeconds: 45 * 60, late: false });
    expect(statement.lines[1]).toMatchObject({ date: '2026-09-03', siteId: 'munich-ost', chargePointId: 'CP-003', energyKwh: '40.5' });
    const sum = statement.lines.reduce((total: number, l: any) => total + l.billedExclVatMinor, 0);
    expect(statement.sessionsExclVatMinor).toBe(sum);
    expect(statement.subtotalMinor).toBe(sum);
    expect(statement.taxMinor).toBe(Math.round((sum * 19) / 100));
    expect(statement.totalMinor).toBe(statement.subtotalMinor + statement.taxMinor);

    const invoiceId = first.body.invoice.stripeInvoiceId;
    const invoice = await stripe.invoices.retrieve(invoiceId);
    expect(invoice).toMatchObject({ customer: customerId, status: 'open', collection_method: 'send_invoice', amount_due: statement.totalMinor, currency: 'eur' });
    expect(invoice.metadata).toMatchObject({ voltledger_statement_id: 'FS-ACME-2026-09' });
    expect(first.body.invoice.sentAt).toBeDefined();
    expect(issued()).toHaveLength(1);
    expect(issued()[0].detail.data).toMatchObject({ statementId: 'FS-ACME-2026-09', totalMinor: statement.totalMinor, stripeInvoiceId: invoiceId, sessionIds: septemberIds });

    // The offline charge point reports the late session now.
    await finishSession(LATE, late);
    await stack.bus.drain();
    const lateId = sessionOf(late.transactionId);

    // Re-issue September: the same statement, the same invoice, the late session not on it.
    const second = await admin(stack, 'POST', '/fleet-accounts/ACME/statements/2026-09/issue');
    expect(second.status).toBe(200);
    expect(second.body.statement).toEqual(statement);
    expect(second.body.invoice.stripeInvoiceId).toBe(invoiceId);
    const invoices = await stripe.invoices.list({ customer: customerId });
    expect(invoices.data).toHaveLength(1);
    expect(new Set(issued().map((e) => e.detail.metadata.id))).toEqual(new Set(['FleetStatementIssued:FS-ACME-2026-09']));

    // October: the late session, marked late, billed once; issuing twice at once bills it once.
    const october = await admin(stack, 'GET', '/fleet-accounts/ACME/statements/2026-10');
    expect(october.body.statement.lines).toEqual([expect.objectContaining({ sessionId: lateId, date: '2026-09-30', late: true })]);
    const both = await Promise.all([admin(stack, 'POST', '/fleet-accounts/ACME/statements/2026-10/issue'), admin(stack, 'POST', '/fleet-accounts/ACME/statements/2026-10/issue')]);
    expect(both.map((r) => r.status).filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    for (const r of both) expect([200, 409]).toContain(r.status);
    const settled = await admin(stack, 'POST', '/fleet-accounts/ACME/statements/2026-10/issue');
    expect(settled.body.statement.lines.map((l: any) => l.sessionId)).toEqual([lateId]);
    expect((await stripe.invoices.list({ customer: customerId })).data).toHaveLength(2);

    const all = [...(await admin(stack, 'GET', '/fleet-accounts/ACME/statements')).body.statements];
    expect(all.map((s: any) => [s.period, s.status])).toEqual([
      ['2026-10', 'issued'],
      ['2026-09', 'issued'],
    ]);
    const billedSessions = all.flatMap((s: any) => s.sessionIds);
    expect(new Set(billedSessions).size).toBe(billedSessions.length);
  });

  it('accrues a re-delivered SessionPriced once', async () => {
    await chargeSessions([SEPTEMBER[0]!]); // delivered once through the bus, accrued
    const priced = published.find((e) => e['detail-type'] === 'SessionPriced' && e.detail.data.billingProfile?.kind === 'fleet');
    expect(await stack.fleet.accrue(priced.detail.data)).toBe('duplicate');
  });

  it('refuses a period that is not over, and an account without tax details', async () => {
    const future = await admin(stack, 'POST', '/fleet-accounts/ACME/statements/2099-01/issue');
    expect(future.status).toBe(409);
    expect(future.body.error).toBe('PeriodNotOverError');
    await admin(stack, 'PUT', '/fleet-accounts/NOTAX', { name: 'No tax', currency: 'EUR', billingContact: { email: 'x@example.com' } });
    const noTax = await admin(stack, 'POST', '/fleet-accounts/NOTAX/statements/2026-09/issue');
    expect(noTax.status).toBe(409);
    expect(noTax.body.message).toMatch(/tax details/);
  });

  it('prints the statement with the CLI (table, CSV, JSON)', async () => {
    await chargeSessions(SEPTEMBER);
    expect((await admin(stack, 'POST', '/fleet-accounts/ACME/statements/2026-09/issue')).status).toBe(200);
    const output: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((text: string) => void output.push(text));
    try {
      const where = ['--admin-url', stack.adminUrl, '--admin-token', stack.adminToken];
      expect(await fleetCli(['statement', '--account', 'ACME', '--period', '2026-09', '--format', 'csv', ...where])).toBe(0);
      expect(await fleetCli(['statement', '--account', 'ACME', '--period', '2026-09', ...where])).toBe(0);
      expect(await fleetCli(['statement', '--account', 'ACME', '--period', '2026-09', '--format', 'json', ...where])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    const [csv, table, json] = output;
    const rows = csv!.split('\n');
    expect(rows[0]).toBe('type,date,site,chargePoint,idTag,sessionId,energyKwh,durationSeconds,amountExclVat,billedExclVat,currency');
    expect(rows.filter((r) => r.startsWith('session,'))).toHaveLength(SEPTEMBER.length);
    const statement = JSON.parse(json!).statement;
    const money = (minor: number) => formatScaled(BigInt(minor), 2);
    expect(rows.at(-1)).toBe(`total,,,,,,,,,${money(statement.totalMinor)},EUR`);
    expect(table).toContain('FS-ACME-2026-09');
    expect(table).toContain(`${money(statement.totalMinor)} EUR`);
  });
});
