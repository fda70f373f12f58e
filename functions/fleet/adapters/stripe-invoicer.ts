import type Stripe from 'stripe';
import type { Clock } from '../../shared/clock.ts';
import { VoltLedgerError } from '../../shared/errors.ts';
import { fromStripeAmount, stripeAmount } from '../../shared/money.ts';
import type { FleetInvoicer, InvoiceProgress } from '../domain/ports.ts';

/** Thrown when Stripe's invoice total differs from the statement's: nothing is sent or charged. */
export class InvoiceMismatchError extends VoltLedgerError {}

const iso = (seconds: number | null | undefined) => (seconds ? new Date(seconds * 1000).toISOString() : undefined);

/**
 * Invoices fleet statements through the Stripe SDK: a draft invoice (`pending_invoice_items_behavior:
 * exclude`, so nothing else of the customer's lands on it), one invoice item per planned item,
 * finalize, then `send` (send_invoice, due in `daysUntilDue` days) or `pay` (charge_automatically).
 *
 * Every request carries an Idempotency-Key `voltledger/<statementId>/<step>`, and progress is saved
 * after each step, so a re-run repeats nothing. Stripe forgets idempotency keys after 24 hours, so
 * a run resumed later first finds its invoice by `metadata.voltledger_statement_id` and the items
 * already on it by `metadata.voltledger_item`.
 *
 * Amounts cross at this boundary: statements are in the product's minor units (ISO 4217),
 * Stripe's invoice items and totals in its own integers (functions/shared/money.ts stripeAmount).
 */
export class StripeFleetInvoicer implements FleetInvoicer {
  constructor(
    private readonly stripe: Stripe,
    private readonly clock: Clock,
  ) {}

  private async findInvoice(customerId: string, statementId: string): Promise<Stripe.Invoice | undefined> {
    for await (const invoice of this.stripe.invoices.list({ customer: customerId, limit: 100 })) {
      if (invoice.metadata?.voltledger_statement_id === statementId) return invoice;
    }
    return undefined;
  }

  async invoice(input: Parameters<FleetInvoicer['invoice']>[0]): Promise<InvoiceProgress> {
    const { statement, customerId, collection, items, save } = input;
    const key = (step: string) => `voltledger/${statement.statementId}/${step}`;
    const currency = statement.currency.toLowerCase();
    let progress = input.progress;

    const snapshot = async (invoice: Stripe.Invoice, extra: Partial<InvoiceProgress> = {}) => {
      progress = {
        ...(progress ?? { itemKeys: [] }),
        stripeInvoiceId: invoice.id!,
        status: invoice.status ?? 'draft',
        ...(invoice.number ? { number: invoice.number } : {}),
        amountDueMinor: fromStripeAmount(invoice.amount_due, invoice.currency),
        ...(invoice.hosted_invoice_url ? { hostedInvoiceUrl: invoice.hosted_invoice_url } : {}),
        ...(invoice.status_transitions?.finalized_at ? { finalizedAt: iso(invoice.status_transitions.finalized_at) } : {}),
        ...(invoice.status_transitions?.paid_at ? { paidAt: iso(invoice.status_transitions.paid_at) } : {}),
        ...extra,
      } as InvoiceProgress;
      await save(progress);
      return progress;
    };

    let invoice = progress ? await this.stripe.invoices.retrieve(progress.stripeInvoiceId) : await this.findInvoice(customerId, statement.statementId);
    if (!invoice) {
      invoice = await this.stripe.invoices.create(
        {
          customer: customerId,
          currency,
          auto_advance: false,
          pending_invoice_items_behavior: 'exclude',
          collection_method: collection.method,
          ...(collection.method === 'send_invoice' ? { days_until_due: collection.daysUntilDue } : {}),
          description: `Fleet charging statement ${statement.period} (${statement.statementId}): ${statement.sessionCount} session${statement.sessionCount === 1 ? '' : 's'}, ${statement.energyKwh} kWh`,
          metadata: { voltledger_statement_id: statement.statementId, voltledger_account_id: statement.accountId, voltledger_period: statement.period },
        },
        { idempotencyKey: key('invoice') },
      );
    }
    await snapshot(invoice);

    if (invoice.status === 'draft') {
      const present = new Set(progress!.itemKeys);
      for await (const line of this.stripe.invoices.listLineItems(invoice.id!, { limit: 100 })) {
        if (line.metadata?.voltledger_item) present.add(line.metadata.voltledger_item);
      }
      for (const item of items) {
        if (present.has(item.key)) continue;
        await this.stripe.invoiceItems.create(
          { customer: customerId, invoice: invoice.id!, currency, amount: stripeAmount(item.amountMinor, currency), description: item.description, metadata: { voltledger_statement_id: statement.statementId, voltledger_item: item.key } },
          { idempotencyKey: key(`item/${item.key}`) },
        );
        present.add(item.key);
        progress = { ...progress!, itemKeys: [...present].sort() };
        await save(progress);
      }
      invoice = await this.stripe.invoices.retrieve(invoice.id!);
      const dueMinor = fromStripeAmount(invoice.amount_due, invoice.currency);
      if (dueMinor !== statement.totalMinor) {
        throw new InvoiceMismatchError(`Stripe invoice ${invoice.id} totals ${dueMinor}, statement ${statement.statementId} ${statement.totalMinor}: not finalized`);
      }
      invoice = await this.stripe.invoices.finalizeInvoice(invoice.id!, { auto_advance: false }, { idempotencyKey: key('finalize') });
      await snapshot(invoice);
    }

    if (invoice.status === 'open') {
      if (collection.method === 'send_invoice' && !progress!.sentAt) {
        invoice = await this.stripe.invoices.sendInvoice(invoice.id!, {}, { idempotencyKey: key('send') });
        await snapshot(invoice, { sentAt: this.clock.now().toISOString() });
      } else if (collection.method === 'charge_automatically' && !progress!.paymentError) {
        try {
          invoice = await this.stripe.invoices.pay(invoice.id!, {}, { idempotencyKey: key('pay') });
          await snapshot(invoice);
        } catch (error) {
          // A declined card leaves the invoice open; Stripe's retries (and its webhooks) take it from here.
          if ((error as { type?: string }).type !== 'StripeCardError') throw error;
          invoice = await this.stripe.invoices.retrieve(invoice.id!);
          await snapshot(invoice, { paymentError: (error as Error).message });
        }
      }
    }
    return progress!;
  }
}
