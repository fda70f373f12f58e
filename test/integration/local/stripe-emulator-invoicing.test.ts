import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeEmulator, stripeClientFor, type StripeEmulator } from '../../../lib/local/stripe/index.ts';
import { rejection } from '../../support/stripe.ts';

let emulator: StripeEmulator;
let stripe: Stripe;

beforeAll(async () => {
  emulator = await startStripeEmulator({ host: '127.0.0.1', port: 0, webhookSecret: 'whsec_test_local' });
  stripe = stripeClientFor(emulator);
});

afterAll(async () => {
  await emulator?.close();
});

const eventsOf = (invoiceId: string) => emulator.control.events().filter((e) => e.data.object.id === invoiceId).map((e) => e.type);

describe('Stripe emulator: one-off invoices', () => {
  describe('send_invoice', () => {
    it('builds a draft from its items, finalizes with a number and due date, sends, and takes an out-of-band payment', async () => {
      const customer = await stripe.customers.create({ name: 'ACME', email: 'billing@acme.example' });
      const draft = await stripe.invoices.create({ customer: customer.id, collection_method: 'send_invoice', days_until_due: 14, currency: 'eur', pending_invoice_items_behavior: 'exclude', metadata: { statement: 'FS-1' } });
      expect(draft).toMatchObject({ status: 'draft', amount_due: 0, collection_method: 'send_invoice', days_until_due: 14, number: null });

      await stripe.invoiceItems.create({ customer: customer.id, invoice: draft.id!, amount: 12_345, currency: 'eur', description: 'Charging', metadata: { key: 'a' } });
      await stripe.invoiceItems.create({ customer: customer.id, invoice: draft.id!, amount: 2_346, currency: 'eur', description: 'VAT' });
      const lines = await stripe.invoices.listLineItems(draft.id!);
      expect(lines.data.map((l) => [l.amount, l.metadata])).toEqual([
        [12_345, { key: 'a' }],
        [2_346, {}],
      ]);

      const open = await stripe.invoices.finalizeInvoice(draft.id!);
      expect(open).toMatchObject({ status: 'open', amount_due: 14_691, total: 14_691, amount_remaining: 14_691 });
      expect(open.number).toMatch(/^[0-9A-F]{8}-0001$/);
      expect(open.due_date).toBe(open.status_transitions.finalized_at! + 14 * 86_400);

      await stripe.invoices.sendInvoice(open.id!);
      const paid = await stripe.invoices.pay(open.id!, { paid_out_of_band: true });
      expect(paid).toMatchObject({ status: 'paid', amount_paid: 14_691, amount_remaining: 0 });
      expect(eventsOf(open.id!)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.sent', 'invoice.paid', 'invoice.payment_succeeded']);
    });

    it('refuses what Stripe refuses: no days_until_due, items on a finalized invoice, another currency, sending a charge_automatically invoice', async () => {
      const customer = await stripe.customers.create({ name: 'B' });
      expect((await rejection(stripe.invoices.create({ customer: customer.id, collection_method: 'send_invoice' }))).param).toBe('days_until_due');
      const invoice = await stripe.invoices.create({ customer: customer.id, currency: 'eur' });
      expect((await rejection(stripe.invoiceItems.create({ customer: customer.id, invoice: invoice.id!, amount: 100, currency: 'usd' }))).param).toBe('currency');
      await stripe.invoiceItems.create({ customer: customer.id, invoice: invoice.id!, amount: 100, currency: 'eur' });
      await stripe.invoices.finalizeInvoice(invoice.id!);
      expect((await rejection(stripe.invoiceItems.create({ customer: customer.id, invoice: invoice.id!, amount: 100, currency: 'eur' }))).code).toBe('invoice_not_editable');
      expect((await rejection(stripe.invoices.sendInvoice(invoice.id!))).message).toMatch(/send_invoice/);
      const voided = await stripe.invoices.voidInvoice(invoice.id!);
      expect(voided.status).toBe('void');
    });

    it('leaves pending items of the customer off an invoice unless asked to include them', async () => {
      const customer = await stripe.customers.create({ name: 'C' });
      await stripe.invoiceItems.create({ customer: customer.id, amount: 700, currency: 'eur' });
      const excluded = await stripe.invoices.create({ customer: customer.id, currency: 'eur' });
      expect(excluded.lines.data).toHaveLength(0);
      const included = await stripe.invoices.create({ customer: customer.id, currency: 'eur', pending_invoice_items_behavior: 'include' });
      expect(included.amount_due).toBe(700);
      expect((await stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toHaveLength(0);
    });
  });

  describe('charge_automatically', () => {
    it('charges the default payment method, or fails with invoice.payment_failed and stays open', async () => {
      const good = await stripe.customers.create({ payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
      const invoice = await stripe.invoices.create({ customer: good.id, currency: 'eur' });
      await stripe.invoiceItems.create({ customer: good.id, invoice: invoice.id!, amount: 5_000, currency: 'eur' });
      await stripe.invoices.finalizeInvoice(invoice.id!);
      expect(await stripe.invoices.pay(invoice.id!)).toMatchObject({ status: 'paid', amount_paid: 5_000 });

      const bad = await stripe.customers.create({ payment_method: 'pm_card_chargeDeclined', invoice_settings: { default_payment_method: 'pm_card_chargeDeclined' } });
      const declined = await stripe.invoices.create({ customer: bad.id, currency: 'eur' });
      await stripe.invoiceItems.create({ customer: bad.id, invoice: declined.id!, amount: 5_000, currency: 'eur' });
      await stripe.invoices.finalizeInvoice(declined.id!);
      const error = await rejection(stripe.invoices.pay(declined.id!));
      expect(error.type).toBe('StripeCardError');
      expect(await stripe.invoices.retrieve(declined.id!)).toMatchObject({ status: 'open', attempted: true, attempt_count: 1 });
      expect(eventsOf(declined.id!)).toContain('invoice.payment_failed');
    });

    it('replays a create with the same idempotency key instead of making a second invoice', async () => {
      const customer = await stripe.customers.create({ name: 'D' });
      const first = await stripe.invoices.create({ customer: customer.id, currency: 'eur' }, { idempotencyKey: 'voltledger/FS-D/invoice' });
      const again = await stripe.invoices.create({ customer: customer.id, currency: 'eur' }, { idempotencyKey: 'voltledger/FS-D/invoice' });
      expect(again.id).toBe(first.id);
      expect((await stripe.invoices.list({ customer: customer.id })).data).toHaveLength(1);
    });
  });
});
