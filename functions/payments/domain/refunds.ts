import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import type { Clock } from '../../shared/clock.ts';
import { isStripeAmount, minorToDecimal, stripeStepMinor } from '../../shared/money.ts';
import type { Log } from '../../shared/log.ts';
import type { RefundRecord, RefundRequest, SessionPayment } from './model.ts';
import type { PaymentGateway, PaymentStore } from './ports.ts';

export interface RefundDeps {
  store: Pick<PaymentStore, 'get' | 'update'>;
  gateway: Pick<PaymentGateway, 'refund' | 'getRefund'>;
  clock: Clock;
  log: Log;
}

export type RefundReason = 'duplicate' | 'fraudulent' | 'requested_by_customer';

/** Refunds count against the money they return: succeeded and still pending ones, not failed or cancelled ones. */
const counts = (r: RefundRecord) => r.status !== 'failed' && r.status !== 'canceled';

/** What was captured per PaymentIntent of a settled session (the hold's capture, then a top-up or off-session charge). */
function capturedByIntent(p: SessionPayment): Array<{ paymentIntentId: string; capturedMinor: number }> {
  const outcome = p.settlement?.outcome;
  if (!outcome) return [];
  const captures: Array<{ paymentIntentId: string; capturedMinor: number }> = [];
  if (outcome.holdPaymentIntentId && outcome.capturedMinor > 0) captures.push({ paymentIntentId: outcome.holdPaymentIntentId, capturedMinor: outcome.capturedMinor });
  if (outcome.chargePaymentIntentId && outcome.topUpMinor > 0) captures.push({ paymentIntentId: outcome.chargePaymentIntentId, capturedMinor: outcome.topUpMinor });
  return captures;
}

/**
 * Refunds of settled card sessions, issued from the admin API (full or partial, with a reason)
 * and kept in step with Stripe through the refund webhooks (a refund made in Stripe's dashboard
 * shows up too). The money movement itself reaches accounting as PaymentRefunded from the webhook.
 */
export function createRefunds(deps: RefundDeps) {
  const { store, gateway, clock, log } = deps;

  async function refund(sessionId: string, input: { amountMinor?: number; reason?: RefundReason; note?: string }, requestKey: string): Promise<RefundRecord[]> {
    const payment = await store.get(sessionId);
    if (!payment) throw new NotFoundError(`session ${sessionId} has no card payment`);
    if (!payment.settlement?.outcome) throw new ConflictError(`the payment of ${sessionId} is not settled yet (status ${payment.status})`);
    // A retried request (same key) executes the plan it made the first time, whatever was refunded
    // since (its own first parts, recorded here or by the refund webhooks): planning again from what
    // is left would refund a part twice or ask Stripe for a different amount under the same key.
    let request = payment.refundRequests?.[requestKey];
    if (request && input.amountMinor !== undefined && input.amountMinor !== request.amountMinor) {
      throw new ConflictError(`Idempotency-Key ${requestKey} was used for a refund of ${request.amountMinor}, not ${input.amountMinor}`);
    }
    if (!request) {
      const captures = capturedByIntent(payment);
      const refunded = (pi: string) => Object.values(payment.refunds ?? {}).filter((r) => r.paymentIntentId === pi && counts(r)).reduce((s, r) => s + r.amountMinor, 0);
      const refundable = captures.map((c) => ({ ...c, leftMinor: c.capturedMinor - refunded(c.paymentIntentId) }));
      const totalLeft = refundable.reduce((s, c) => s + c.leftMinor, 0);
      if (totalLeft === 0) throw new ConflictError(`nothing left to refund on ${sessionId}`);
      const amount = input.amountMinor ?? totalLeft;
      if (amount > totalLeft) throw new ValidationError(`amountMinor ${amount} is more than the ${totalLeft} left to refund`, 'amountMinor');
      if (!isStripeAmount(amount, payment.currency)) {
        const step = stripeStepMinor(payment.currency);
        throw new ValidationError(`amountMinor ${amount}: Stripe refunds ${payment.currency} in steps of ${step} minor units (${minorToDecimal(step, payment.currency)} ${payment.currency})`, 'amountMinor');
      }
      // Newest money first: the top-up, then the hold's capture.
      let rest = amount;
      const parts: RefundRequest['parts'] = [];
      for (const capture of [...refundable].reverse()) {
        const part = Math.min(rest, capture.leftMinor);
        if (part === 0) continue;
        parts.push({ paymentIntentId: capture.paymentIntentId, amountMinor: part });
        rest -= part;
      }
      const at = clock.now().toISOString();
      const planned: RefundRequest = { amountMinor: amount, parts, ...(input.reason ? { reason: input.reason } : {}), ...(input.note ? { note: input.note } : {}), requestedAt: at };
      const stored = await store.update(sessionId, (p) => (p.refundRequests?.[requestKey] ? undefined : { ...p, refundRequests: { ...p.refundRequests, [requestKey]: planned }, updatedAt: at }));
      request = stored?.refundRequests?.[requestKey] ?? planned;
    }
    const issued: RefundRecord[] = [];
    for (const part of request.parts) {
      const result = await gateway.refund({
        paymentIntentId: part.paymentIntentId,
        amountMinor: part.amountMinor,
        currency: payment.currency,
        ...(request.reason ? { reason: request.reason as RefundReason } : {}),
        metadata: { sessionId, ...(request.note ? { note: request.note.slice(0, 500) } : {}) },
        idempotencyKey: `voltledger:${sessionId}:refund:${requestKey}:${part.paymentIntentId}`,
      });
      const record: RefundRecord = {
        refundId: result.refundId,
        paymentIntentId: part.paymentIntentId,
        amountMinor: result.amountMinor,
        status: result.status,
        ...(request.reason ? { reason: request.reason } : {}),
        ...(request.note ? { note: request.note } : {}),
        createdAt: result.createdAt,
      };
      await store.update(sessionId, (p) => ({ ...p, refunds: { ...p.refunds, [record.refundId]: { ...p.refunds?.[record.refundId], ...record } }, updatedAt: clock.now().toISOString() }));
      issued.push(record);
    }
    log.info('refund issued', { sessionId, amountMinor: request.amountMinor, refunds: issued.map((r) => r.refundId) });
    return issued;
  }

  /** A refund changed at the provider (refund.created / refund.updated / refund.failed): re-read it and record its status on the session. */
  async function onRefundEvent(refundId: string): Promise<void> {
    const current = await gateway.getRefund(refundId);
    if (!current.sessionId || !current.paymentIntentId) return;
    await store.update(current.sessionId, (p) => {
      const before = p.refunds?.[refundId];
      if (before && before.status === current.status && before.amountMinor === current.amountMinor) return undefined;
      return {
        ...p,
        refunds: {
          ...p.refunds,
          [refundId]: { ...before, refundId, paymentIntentId: current.paymentIntentId!, amountMinor: current.amountMinor, status: current.status, ...(current.reason ? { reason: current.reason } : {}), createdAt: before?.createdAt ?? current.createdAt },
        },
        updatedAt: clock.now().toISOString(),
      };
    });
  }

  return { refund, onRefundEvent };
}
