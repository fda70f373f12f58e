import type Stripe from 'stripe';
import { fromStripeAmount } from '../../shared/money.ts';
import type { StripeBalanceTxn, StripeCharge, StripePayout } from '../domain/reconciliation.ts';

/** What reconciliation reads from Stripe. */
export interface StripeSettlementSource {
  balanceTransactions(scope: { date: string } | { payoutId: string }): Promise<StripeBalanceTxn[]>;
  charge(chargeId: string): Promise<StripeCharge | undefined>;
  chargesOfPaymentIntent(paymentIntentId: string): Promise<StripeCharge[]>;
  payout(payoutId: string): Promise<StripePayout>;
}

const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();
const idOf = (value: unknown): string | undefined => (typeof value === 'string' ? value : value && typeof value === 'object' && 'id' in value ? String((value as { id: unknown }).id) : undefined);

/** Stripe's integers in the product's minor units (ISO 4217; functions/shared/money.ts), in the object's currency. */
function toCharge(charge: Stripe.Charge): StripeCharge {
  const minor = (amount: number) => fromStripeAmount(amount, charge.currency);
  const captured = charge.captured ? charge.amount_captured : 0;
  return {
    chargeId: charge.id,
    paymentIntentId: idOf(charge.payment_intent),
    sessionId: charge.metadata?.sessionId || undefined,
    currency: charge.currency.toUpperCase(),
    authorizedMinor: minor(charge.amount),
    capturedMinor: minor(captured),
    // A partial capture releases the rest; Stripe reports it in amount_refunded beside real refunds.
    releasedMinor: minor(charge.captured ? charge.amount - charge.amount_captured : 0),
    refundedMinor: minor(charge.amount_refunded - (charge.captured ? charge.amount - charge.amount_captured : 0)),
    captured: charge.captured,
    balanceTransactionId: idOf(charge.balance_transaction),
  };
}

/**
 * Stripe through the official SDK (Stripe's API, its test mode, or the local emulator): balance
 * transactions of a day (`created` range) or of a payout (`payout=po_...`, all the transactions it
 * settles, its own included), with their source expanded to find the charge and its session.
 */
export class StripeSdkSettlementSource implements StripeSettlementSource {
  constructor(private readonly stripe: Stripe) {}

  async balanceTransactions(scope: { date: string } | { payoutId: string }): Promise<StripeBalanceTxn[]> {
    const params: Stripe.BalanceTransactionListParams = { limit: 100, expand: ['data.source'] };
    let from = 0;
    let to = Number.MAX_SAFE_INTEGER;
    if ('payoutId' in scope) params.payout = scope.payoutId;
    else {
      from = Date.parse(`${scope.date}T00:00:00Z`) / 1000;
      to = from + 86_400;
      params.created = { gte: from, lt: to };
    }
    const out: StripeBalanceTxn[] = [];
    for await (const txn of this.stripe.balanceTransactions.list(params)) {
      // Filtered here too: a Stripe-compatible server that ignores `created` still gives the right day.
      if (txn.created < from || txn.created >= to) continue;
      const source = txn.source as unknown;
      const sourceObject = source && typeof source === 'object' ? (source as Record<string, any>) : undefined;
      const isCharge = sourceObject?.object === 'charge';
      out.push({
        id: txn.id,
        type: txn.type,
        reportingCategory: txn.reporting_category,
        amountMinor: fromStripeAmount(txn.amount, txn.currency),
        feeMinor: fromStripeAmount(txn.fee, txn.currency),
        netMinor: fromStripeAmount(txn.net, txn.currency),
        currency: txn.currency.toUpperCase(),
        status: txn.status === 'available' ? 'available' : 'pending',
        availableOn: iso(txn.available_on),
        created: iso(txn.created),
        sourceId: idOf(source) ?? '',
        ...(isCharge ? { chargeId: sourceObject!.id, paymentIntentId: idOf(sourceObject!.payment_intent), ...(sourceObject!.metadata?.sessionId ? { sessionId: sourceObject!.metadata.sessionId } : {}) } : {}),
      });
    }
    return out.sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  async charge(chargeId: string): Promise<StripeCharge | undefined> {
    try {
      return toCharge(await this.stripe.charges.retrieve(chargeId));
    } catch (error) {
      if ((error as { code?: string }).code === 'resource_missing') return undefined;
      throw error;
    }
  }

  async chargesOfPaymentIntent(paymentIntentId: string): Promise<StripeCharge[]> {
    const out: StripeCharge[] = [];
    for await (const charge of this.stripe.charges.list({ payment_intent: paymentIntentId, limit: 100 })) out.push(toCharge(charge));
    return out;
  }

  async payout(payoutId: string): Promise<StripePayout> {
    const payout = await this.stripe.payouts.retrieve(payoutId);
    return { payoutId: payout.id, amountMinor: fromStripeAmount(payout.amount, payout.currency), currency: payout.currency.toUpperCase(), status: payout.status, arrivalDate: iso(payout.arrival_date) };
  }
}

/** A settlement source whose Stripe client is made on first use (the admin function reads its secret only then). */
export function lazySettlementSource(make: () => Promise<Stripe>): StripeSettlementSource {
  let source: Promise<StripeSdkSettlementSource> | undefined;
  const get = () =>
    (source ??= make()
      .then((stripe) => new StripeSdkSettlementSource(stripe))
      .catch((error) => {
        source = undefined;
        throw error;
      }));
  return {
    balanceTransactions: async (scope) => (await get()).balanceTransactions(scope),
    charge: async (id) => (await get()).charge(id),
    chargesOfPaymentIntent: async (id) => (await get()).chargesOfPaymentIntent(id),
    payout: async (id) => (await get()).payout(id),
  };
}
