import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostedEntry } from '../../functions/accounting/domain/ports.ts';
import { balances } from '../../functions/accounting/domain/journal.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import type { StripeEmulatorControl } from '../../lib/local/stripe/index.ts';
import { admin, connectChargePoint, energySample, startTestStack, waitFor, type ChargePointClient } from '../support/stack.ts';
import { runningClock } from '../../functions/shared/clock.ts';

// Money Stripe collects through invoices, on the local stack with the Stripe emulator: a membership
// subscription's invoice paid off-session, and a fleet statement invoiced and charged automatically
// by the fleet invoicer. Each payment's PaymentIntent has no session, so PaymentCaptured books it
// into unallocated receipts; InvoicePaid (from `invoice.paid`) takes it out again, to membership fee
// revenue and VAT, or against the fleet account's receivable.

describe('invoices paid through Stripe reach the ledger (local stack, Stripe emulator)', () => {
  let stack: LocalStack;
  let stripe: Stripe;
  let control: StripeEmulatorControl;
  let cp: ChargePointClient | undefined;

  async function settle() {
    for (let i = 0; i < 3; i++) {
      await control.drainWebhooks();
      await stack.bus.drain();
    }
  }

  const entriesByRef = async (ref: string) => (await stack.accounting.store.entriesByRef(ref)).map((p: PostedEntry) => p.entry);

  /** The captures of the invoice's payment: the PaymentIntents of the customer, their charges, their ledger entries. */
  async function captureEntriesOf(customerId: string) {
    const entries = [];
    for await (const intent of stripe.paymentIntents.list({ customer: customerId, limit: 100 })) {
      for await (const charge of stripe.charges.list({ payment_intent: intent.id, limit: 100 })) {
        if (charge.captured) entries.push(...(await entriesByRef(`charge:${charge.id}`)).filter((e) => e.kind === 'capture'));
      }
    }
    return entries;
  }

  beforeAll(async () => {
    // After September (its statement is issued below) whatever the wall clock says.
    stack = await startTestStack({ clock: runningClock('2026-11-15T12:00:00Z'), stripe: { emulator: { options: { webhookRetry: { baseDelayMs: 20 } } } }, accounting: { syncConfig: { baseDelayMs: 5 } } });
    stripe = stack.stripeEmulator!.client;
    control = stack.stripeEmulator!.emulator.control;
  });

  afterAll(async () => {
    await cp?.close({ force: true }).catch(() => undefined);
    await stack?.close();
  });

  it('a paid membership invoice: its receipt leaves unallocated receipts, membership fees + VAT equal the invoice', async () => {
    const price = await stripe.prices.create({ currency: 'eur', unit_amount: 1189, recurring: { interval: 'month' }, product_data: { name: 'VoltLedger Plus' } });
    expect((await admin(stack, 'PUT', '/membership-tiers/plus', { name: 'VoltLedger Plus', stripePriceIds: [price.id] })).status).toBe(201);
    const customer = await stripe.customers.create({ email: 'mia@example.com', payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    expect((await admin(stack, 'PUT', '/drivers/mia', { stripeCustomerId: customer.id, defaultPaymentMethodId: customer.invoice_settings.default_payment_method, idTags: ['MIA-RFID'] })).status).toBe(201);

    const subscription = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    expect(subscription.status).toBe('active');
    const invoice = await stripe.invoices.retrieve(subscription.latest_invoice as string);
    expect(invoice.status).toBe('paid');
    await settle();

    const [paid] = await waitFor('the InvoicePaid entry', async () => {
      const found = await entriesByRef(`invoice:${invoice.id}`);
      return found.length ? found : undefined;
    });
    expect(paid).toMatchObject({ entryId: `InvoicePaid:${invoice.id}`, kind: 'membership_invoice_paid', currency: 'EUR', refs: { invoiceId: invoice.id } });
    const captures = await captureEntriesOf(customer.id);
    expect(captures).toHaveLength(1);
    expect(captures[0]!.refs.sessionId).toBeUndefined();

    const b = balances([paid!, ...captures]);
    expect(b.get('EUR|unallocated_receipts')).toBe(0n);
    const fees = -(b.get('EUR|revenue_membership_fees') ?? 0n);
    const vat = -(b.get('EUR|vat_payable') ?? 0n);
    expect(fees + vat).toBe(BigInt(invoice.amount_paid));
    expect(fees).toBe(1189n); // the emulator computes no tax
    expect(b.get('EUR|stripe_clearing')).toBe(1189n);
    // Still a member: the membership handler of invoice.paid ran beside the money handler.
    expect((await admin(stack, 'GET', '/id-tags/MIA-RFID')).body.billing).toMatchObject({ kind: 'member' });
  });

  it('a fleet statement invoice charged automatically clears the account’s receivable', async () => {
    const customer = await stripe.customers.create({ name: 'ACME Logistics GmbH', email: 'billing@acme.example', payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
    const account = await admin(stack, 'PUT', '/fleet-accounts/ACME', {
      name: 'ACME Logistics GmbH',
      currency: 'EUR',
      billingContact: { email: 'billing@acme.example' },
      plan: { kind: 'per_session' },
      taxDetails: { vatPercent: '19', treatment: 'standard', taxId: 'DE123456789', country: 'DE' },
      invoiceCollection: { method: 'charge_automatically' },
      stripeCustomerId: customer.id,
      timeZone: 'Europe/Berlin',
    });
    expect(account.status).toBe(200);

    // One September session on the demo fleet card, through OCPP, priced and accrued.
    cp = await connectChargePoint(stack, 'CP-001');
    const start = '2026-09-08T10:00:00.000Z';
    const end = '2026-09-08T11:00:00.000Z';
    const started = await cp.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-FLEET-1', meterStart: 100_000, timestamp: start });
    expect(started.idTagInfo.status).toBe('Accepted');
    await cp.call('StopTransaction', { transactionId: started.transactionId, idTag: 'DEMO-FLEET-1', meterStop: 120_000, timestamp: end, reason: 'EVDisconnected', transactionData: [energySample(end, 120_000)] });
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: end });
    await stack.bus.drain();

    const issued = await admin(stack, 'POST', '/fleet-accounts/ACME/statements/2026-09/issue');
    expect(issued.status).toBe(200);
    const statement = issued.body.statement;
    expect(statement.totalMinor).toBeGreaterThan(0);
    await settle();

    const invoices = await stripe.invoices.list({ customer: customer.id, limit: 10 });
    const invoice = invoices.data.find((i) => i.metadata?.voltledger_statement_id === statement.statementId)!;
    expect(invoice).toMatchObject({ status: 'paid', amount_paid: statement.totalMinor });

    const [paid] = await waitFor('the InvoicePaid entry', async () => {
      const found = await entriesByRef(`invoice:${invoice.id}`);
      return found.length ? found : undefined;
    });
    expect(paid).toMatchObject({ entryId: `InvoicePaid:${invoice.id}`, kind: 'fleet_invoice_paid', refs: { statementId: statement.statementId, fleetAccountId: 'ACME' } });

    // The statement put the total on ACME's receivable; the invoice's payment takes it off.
    const statementEntries = (await entriesByRef(`statement:${statement.statementId}`)).filter((e) => e.kind === 'fleet_statement');
    expect(statementEntries).toHaveLength(1);
    const receivable = await stack.accounting.store.entriesByAccount('fleet_receivable', '2000-01-01', '2100-01-01');
    expect(balances(receivable.map((p) => p.entry), { byParty: true }).get('EUR|fleet_receivable|ACME')).toBe(0n);

    const captures = await captureEntriesOf(customer.id);
    expect(captures).toHaveLength(1);
    expect(balances([paid!, ...captures]).get('EUR|unallocated_receipts')).toBe(0n);
  });
});
