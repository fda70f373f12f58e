import { type EngineHooks, mergeMetadata, type RequestContext, type StripeEngine } from './engine.ts';
import { checkAmountFormat } from './currencies.ts';
import { invalidParam, invalidRequest, StripeApiError } from './errors.ts';
import type { FormObject } from './form.ts';
import type { StripeObject } from './state.ts';

/**
 * One-off invoicing for the local Stripe emulator: invoice items and invoices created through the
 * API (not from a subscription), with `collection_method` `send_invoice` (`days_until_due`) or
 * `charge_automatically`; finalize, send, pay (or `paid_out_of_band`), void; and the events Stripe
 * sends for them: `invoiceitem.created|deleted`, `invoice.created|updated|finalized|sent|paid|
 * payment_succeeded|payment_failed|voided`. Shapes follow Stripe's API reference (API 2025+:
 * invoice lines name their invoice item under `parent.invoice_item_details`). Not emulated: tax
 * rates and automatic tax, discounts, credit notes, customer balance, hosted invoice pages.
 */

/** A route as the emulator's server table declares it. */
export interface InvoicingRoute {
  method: string;
  pattern: RegExp;
  authorizes?: boolean;
  handle: (params: FormObject, match: string[], context: RequestContext) => StripeObject;
}

const DAY = 86_400;

function text(params: FormObject, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidParam(`Invalid string: ${name}`, name);
  return value;
}

function integer(params: FormObject, name: string): number | undefined {
  const value = text(params, name);
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d+$/.test(value)) throw invalidParam(`Invalid integer: ${value}`, name, 'parameter_invalid_integer');
  return Number(value);
}

function boolean(params: FormObject, name: string): boolean | undefined {
  const value = text(params, name);
  if (value === undefined || value === '') return undefined;
  if (value !== 'true' && value !== 'false') throw invalidParam(`Invalid boolean: ${value}`, name);
  return value === 'true';
}

/** The invoice's metadata after an update, by Stripe's rule (the engine's mergeMetadata). */
const metadataOf = (params: FormObject, current: Record<string, string> = {}) => mergeMetadata(current, params.metadata);

/** Invoice items and one-off invoices over the engine's state. */
export class StripeInvoicing {
  constructor(
    private readonly engine: StripeEngine,
    private readonly hooks: EngineHooks,
  ) {}

  private invoice(id: string): StripeObject {
    return this.engine.get('invoices', id, 'invoice');
  }

  private items(invoiceId: string): StripeObject[] {
    return Object.values(this.engine.state.objects.invoiceitems ?? {})
      .filter((item) => item.invoice === invoiceId)
      .sort((a, b) => (this.engine.state.seq[a.id] ?? 0) - (this.engine.state.seq[b.id] ?? 0));
  }

  /** Rebuilds an invoice's lines and amounts from its items (drafts only change this way). */
  private recompute(invoice: StripeObject): void {
    const lines = this.items(invoice.id).map((item) => ({
      id: `il_${item.id.slice(3)}`,
      object: 'line_item',
      amount: item.amount,
      currency: item.currency,
      description: item.description,
      discount_amounts: [],
      discountable: item.discountable,
      discounts: [],
      invoice: invoice.id,
      livemode: false,
      metadata: { ...item.metadata },
      parent: { invoice_item_details: { invoice_item: item.id, proration: false, proration_details: { credited_items: null }, subscription: null }, subscription_item_details: null, type: 'invoice_item_details' },
      period: { ...item.period },
      pretax_credit_amounts: [],
      pricing: { price_details: null, type: 'price_details', unit_amount_decimal: String(item.amount) },
      quantity: 1,
      taxes: [],
    }));
    const subtotal = lines.reduce((sum, line) => sum + line.amount, 0);
    const due = Math.max(0, subtotal);
    Object.assign(invoice, {
      lines: { object: 'list', data: lines, has_more: false, total_count: lines.length, url: `/v1/invoices/${invoice.id}/lines` },
      subtotal,
      subtotal_excluding_tax: subtotal,
      total: subtotal,
      total_excluding_tax: subtotal,
      amount_due: due,
      amount_remaining: due - invoice.amount_paid,
    });
  }

  // ---- invoice items ----------------------------------------------------------------------------

  createInvoiceItem(params: FormObject, context: RequestContext): StripeObject {
    const invoiceId = text(params, 'invoice');
    const invoice = invoiceId ? this.invoice(invoiceId) : undefined;
    if (invoice && invoice.status !== 'draft') throw invalidRequest(`Invoice ${invoice.id} is not a draft: invoice items can only be added to draft invoices.`, 'invoice_not_editable', 'invoice');
    const customerId = text(params, 'customer') ?? invoice?.customer;
    if (!customerId) throw invalidParam('Missing required param: customer.', 'customer', 'parameter_missing');
    this.engine.get('customers', customerId, 'customer', 'customer');
    if (invoice && invoice.customer !== customerId) throw invalidRequest(`Invoice ${invoice.id} belongs to another customer.`, undefined, 'invoice');
    const amount = integer(params, 'amount');
    if (amount === undefined) throw invalidParam('Missing required param: amount (this emulator prices invoice items by amount only).', 'amount', 'parameter_missing');
    const currency = (text(params, 'currency') ?? invoice?.currency)?.toLowerCase();
    if (!currency) throw invalidParam('Missing required param: currency.', 'currency', 'parameter_missing');
    if (invoice && invoice.currency !== currency) throw invalidRequest(`The currency of the invoice item (${currency}) must match the invoice's (${invoice.currency}).`, undefined, 'currency');
    checkAmountFormat(amount, currency, 'amount');
    const now = this.engine.now();
    const item = this.hooks.insert('invoiceitems', {
      id: this.engine.newId('ii'),
      object: 'invoiceitem',
      amount,
      currency,
      customer: customerId,
      date: now,
      description: text(params, 'description') ?? null,
      discountable: boolean(params, 'discountable') ?? true,
      discounts: [],
      invoice: invoice?.id ?? null,
      livemode: false,
      metadata: metadataOf(params),
      net_amount: amount,
      parent: null,
      period: { end: now, start: now },
      pricing: { price_details: null, type: 'price_details', unit_amount_decimal: String(amount) },
      proration: false,
      quantity: 1,
      tax_rates: [],
    });
    if (invoice) this.recompute(invoice);
    this.hooks.publish('invoiceitem.created', item, context);
    return this.engine.render(item);
  }

  retrieveInvoiceItem(id: string): StripeObject {
    return this.engine.render(this.engine.get('invoiceitems', id, 'invoiceitem'));
  }

  listInvoiceItems(params: FormObject): StripeObject {
    const customer = text(params, 'customer');
    const invoice = text(params, 'invoice');
    const pending = boolean(params, 'pending');
    return this.engine.list('invoiceitems', '/v1/invoiceitems', params, (o) =>
      (!customer || o.customer === customer) && (!invoice || o.invoice === invoice) && (pending === undefined || (o.invoice === null) === pending),
    );
  }

  deleteInvoiceItem(id: string, context: RequestContext): StripeObject {
    const item = this.engine.get('invoiceitems', id, 'invoiceitem');
    const invoice = item.invoice ? this.invoice(item.invoice) : undefined;
    if (invoice && invoice.status !== 'draft') throw invalidRequest(`Invoice item ${id} is on a finalized invoice and cannot be deleted.`, 'invoice_not_editable');
    delete this.engine.state.objects.invoiceitems[id];
    if (invoice) this.recompute(invoice);
    this.hooks.publish('invoiceitem.deleted', item, context);
    return { id, object: 'invoiceitem', deleted: true };
  }

  // ---- invoices ---------------------------------------------------------------------------------

  createInvoice(params: FormObject, context: RequestContext): StripeObject {
    const customerId = text(params, 'customer');
    if (!customerId) throw invalidParam('Missing required param: customer.', 'customer', 'parameter_missing');
    const customer = this.engine.get('customers', customerId, 'customer', 'customer');
    const collection = text(params, 'collection_method') ?? 'charge_automatically';
    if (collection !== 'charge_automatically' && collection !== 'send_invoice') throw invalidParam(`Invalid collection_method: ${collection}`, 'collection_method');
    const daysUntilDue = integer(params, 'days_until_due');
    const dueDate = integer(params, 'due_date');
    if (collection === 'send_invoice' && daysUntilDue === undefined && dueDate === undefined) {
      throw invalidParam('Missing required param: days_until_due (or due_date) when collection_method is send_invoice.', 'days_until_due', 'parameter_missing');
    }
    if (collection === 'charge_automatically' && (daysUntilDue !== undefined || dueDate !== undefined)) {
      throw invalidRequest('days_until_due and due_date apply only when collection_method is send_invoice.', undefined, 'days_until_due');
    }
    const pendingBehavior = text(params, 'pending_invoice_items_behavior') ?? 'exclude';
    if (pendingBehavior !== 'exclude' && pendingBehavior !== 'include') throw invalidParam(`Invalid pending_invoice_items_behavior: ${pendingBehavior}`, 'pending_invoice_items_behavior');
    const pending = Object.values(this.engine.state.objects.invoiceitems).filter((item) => item.customer === customerId && item.invoice === null);
    const currency = (text(params, 'currency') ?? (pendingBehavior === 'include' ? pending[0]?.currency : undefined) ?? customer.currency ?? 'usd').toLowerCase();
    const now = this.engine.now();
    const invoice = this.hooks.insert('invoices', {
      id: this.engine.newId('in'),
      object: 'invoice',
      account_country: 'DE',
      amount_due: 0,
      amount_paid: 0,
      amount_remaining: 0,
      attempt_count: 0,
      attempted: false,
      auto_advance: boolean(params, 'auto_advance') ?? false,
      billing_reason: 'manual',
      collection_method: collection,
      created: now,
      currency,
      customer: customerId,
      customer_email: customer.email,
      customer_name: customer.name,
      days_until_due: daysUntilDue ?? null,
      default_payment_method: text(params, 'default_payment_method') ?? null,
      description: text(params, 'description') ?? null,
      due_date: dueDate ?? null,
      hosted_invoice_url: null,
      invoice_pdf: null,
      lines: { object: 'list', data: [], has_more: false, total_count: 0, url: '' },
      livemode: false,
      metadata: metadataOf(params),
      next_payment_attempt: null,
      number: null,
      parent: null,
      period_end: now,
      period_start: now,
      status: 'draft',
      status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
      subtotal: 0,
      total: 0,
    });
    if (pendingBehavior === 'include') for (const item of pending) if (item.currency === currency) item.invoice = invoice.id;
    this.recompute(invoice);
    this.hooks.publish('invoice.created', invoice, context);
    return this.engine.render(invoice);
  }

  updateInvoice(id: string, params: FormObject, context: RequestContext): StripeObject {
    const invoice = this.invoice(id);
    const changes: StripeObject = {};
    if (params.metadata !== undefined) changes.metadata = metadataOf(params, invoice.metadata);
    if (invoice.status === 'draft') {
      for (const field of ['description', 'default_payment_method']) {
        const value = text(params, field);
        if (value !== undefined) changes[field] = value || null;
      }
      const autoAdvance = boolean(params, 'auto_advance');
      if (autoAdvance !== undefined) changes.auto_advance = autoAdvance;
      const days = integer(params, 'days_until_due');
      if (days !== undefined) changes.days_until_due = days;
    } else if (Object.keys(params).some((key) => key !== 'metadata')) {
      throw invalidRequest(`Invoice ${id} is finalized: only its metadata can change.`, 'invoice_not_editable');
    }
    const previous = this.hooks.change(invoice, changes);
    if (Object.keys(previous).length > 0) this.hooks.publish('invoice.updated', invoice, context, previous);
    return this.engine.render(invoice);
  }

  listLines(id: string, params: FormObject): StripeObject {
    const invoice = this.invoice(id);
    const lines: StripeObject[] = invoice.lines.data;
    const limit = integer(params, 'limit') ?? 10;
    const after = text(params, 'starting_after');
    const start = after ? lines.findIndex((l) => l.id === after) + 1 : 0;
    return { object: 'list', data: lines.slice(start, start + limit), has_more: start + limit < lines.length, url: `/v1/invoices/${id}/lines` };
  }

  finalizeInvoice(id: string, params: FormObject, context: RequestContext): StripeObject {
    const invoice = this.invoice(id);
    if (invoice.status !== 'draft') throw invalidRequest(`This invoice is already finalized, you can't re-finalize a non-draft invoice.`, 'invoice_not_editable');
    this.recompute(invoice);
    const now = this.engine.now();
    const customer = this.engine.get('customers', invoice.customer, 'customer');
    const sequence = Object.values(this.engine.state.objects.invoices).filter((o) => o.customer === invoice.customer && o.number).length + 1;
    const autoAdvance = boolean(params, 'auto_advance');
    const previous = this.hooks.change(invoice, {
      status: 'open',
      number: `${customer.invoice_prefix}-${String(sequence).padStart(4, '0')}`,
      status_transitions: { ...invoice.status_transitions, finalized_at: now },
      ...(invoice.collection_method === 'send_invoice' && invoice.due_date === null ? { due_date: now + (invoice.days_until_due ?? 0) * DAY } : {}),
      ...(autoAdvance !== undefined ? { auto_advance: autoAdvance } : {}),
    });
    this.hooks.publish('invoice.finalized', invoice, context, previous);
    if (invoice.amount_due === 0) this.markPaid(invoice, context);
    return this.engine.render(invoice);
  }

  private markPaid(invoice: StripeObject, context: RequestContext, outOfBand = false): void {
    const previous = this.hooks.change(invoice, {
      status: 'paid',
      amount_paid: invoice.amount_due,
      amount_remaining: 0,
      paid_out_of_band: outOfBand,
      next_payment_attempt: null,
      status_transitions: { ...invoice.status_transitions, paid_at: this.engine.now() },
    });
    this.hooks.publish('invoice.paid', invoice, context, previous);
    this.hooks.publish('invoice.payment_succeeded', invoice, context, previous);
  }

  sendInvoice(id: string, context: RequestContext): StripeObject {
    const invoice = this.invoice(id);
    if (invoice.collection_method !== 'send_invoice') throw invalidRequest(`You can only manually send an invoice if its collection method is 'send_invoice'.`);
    if (invoice.status === 'draft') throw invalidRequest(`Invoice ${id} is a draft: finalize it before sending it.`, 'invoice_not_editable');
    if (invoice.status === 'void') throw invalidRequest(`Invoice ${id} is void and cannot be sent.`);
    // Like Stripe's test mode: no email goes out, the event does.
    this.hooks.publish('invoice.sent', invoice, context);
    return this.engine.render(invoice);
  }

  payInvoice(id: string, params: FormObject, context: RequestContext): StripeObject {
    const invoice = this.invoice(id);
    if (invoice.status === 'draft') this.finalizeInvoice(id, {}, context);
    if (invoice.status === 'paid') throw invalidRequest('Invoice is already paid.', 'invoice_already_paid');
    if (invoice.status !== 'open') throw invalidRequest(`Invoice ${id} is ${invoice.status} and cannot be paid.`, 'invoice_not_payable');
    if (boolean(params, 'paid_out_of_band')) {
      this.markPaid(invoice, context, true);
      return this.engine.render(invoice);
    }
    const customer = this.engine.get('customers', invoice.customer, 'customer');
    const paymentMethod = text(params, 'payment_method') ?? invoice.default_payment_method ?? customer.invoice_settings?.default_payment_method;
    if (!paymentMethod) throw invalidRequest(`Customer ${customer.id} has no default payment method to pay invoice ${id} with.`, 'invoice_payment_method_missing');
    invoice.attempt_count += 1;
    invoice.attempted = true;
    try {
      this.engine.createPaymentIntent(
        { amount: String(invoice.amount_remaining), currency: invoice.currency, customer: invoice.customer, payment_method: paymentMethod, confirm: 'true', off_session: 'true', metadata: { invoice: invoice.id } },
        context,
      );
    } catch (error) {
      if (!(error instanceof StripeApiError) || error.type !== 'card_error') throw error;
      const previous = this.hooks.change(invoice, { next_payment_attempt: this.engine.now() + 3 * DAY });
      this.hooks.publish('invoice.payment_failed', invoice, context, previous);
      throw error;
    }
    this.markPaid(invoice, context);
    return this.engine.render(invoice);
  }

  voidInvoice(id: string, context: RequestContext): StripeObject {
    const invoice = this.invoice(id);
    if (invoice.status !== 'open' && invoice.status !== 'uncollectible') throw invalidRequest(`Only open or uncollectible invoices can be voided; ${id} is ${invoice.status}.`);
    const previous = this.hooks.change(invoice, { status: 'void', amount_remaining: 0, status_transitions: { ...invoice.status_transitions, voided_at: this.engine.now() } });
    this.hooks.publish('invoice.voided', invoice, context, previous);
    return this.engine.render(invoice);
  }
}

/** The HTTP routes of {@link StripeInvoicing}, in the emulator's route-table shape; `id` is its id pattern. */
export function invoicingRoutes(engine: StripeEngine, id: string): InvoicingRoute[] {
  const invoicing = new StripeInvoicing(engine, engine.hooks());
  return [
    { method: 'POST', pattern: /^\/v1\/invoiceitems$/, handle: (p, _m, c) => invoicing.createInvoiceItem(p, c) },
    { method: 'GET', pattern: /^\/v1\/invoiceitems$/, handle: (p) => invoicing.listInvoiceItems(p) },
    { method: 'GET', pattern: new RegExp(`^/v1/invoiceitems/${id}$`), handle: (_p, m) => invoicing.retrieveInvoiceItem(m[1]!) },
    { method: 'DELETE', pattern: new RegExp(`^/v1/invoiceitems/${id}$`), handle: (_p, m, c) => invoicing.deleteInvoiceItem(m[1]!, c) },
    { method: 'POST', pattern: /^\/v1\/invoices$/, handle: (p, _m, c) => invoicing.createInvoice(p, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/invoices/${id}$`), handle: (p, m, c) => invoicing.updateInvoice(m[1]!, p, c) },
    { method: 'GET', pattern: new RegExp(`^/v1/invoices/${id}/lines$`), handle: (p, m) => invoicing.listLines(m[1]!, p) },
    { method: 'POST', pattern: new RegExp(`^/v1/invoices/${id}/finalize$`), handle: (p, m, c) => invoicing.finalizeInvoice(m[1]!, p, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/invoices/${id}/send$`), handle: (_p, m, c) => invoicing.sendInvoice(m[1]!, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/invoices/${id}/pay$`), authorizes: true, handle: (p, m, c) => invoicing.payInvoice(m[1]!, p, c) },
    { method: 'POST', pattern: new RegExp(`^/v1/invoices/${id}/void$`), handle: (_p, m, c) => invoicing.voidInvoice(m[1]!, c) },
  ];
}
