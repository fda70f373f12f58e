import Stripe from 'stripe';
import type { Clock } from '../../shared/clock.ts';
import { ConflictError } from '../../shared/errors.ts';
import { fromStripeAmount, stripeAmount } from '../../shared/money.ts';
import type { ChargeAttempt, HoldAttempt, HoldSnapshot, OffSessionPayment, PaymentGateway } from '../domain/ports.ts';

const iso = (unixSeconds: number | null | undefined) => (unixSeconds ? new Date(unixSeconds * 1000).toISOString() : undefined);

/** Card errors are answers (declined, needs the driver); everything else (5xx, network, timeouts, rate limits) is thrown and retried. */
function cardError(error: unknown): Stripe.errors.StripeCardError | undefined {
  return error instanceof Stripe.errors.StripeCardError ? error : undefined;
}

function holdFailureOf(error: Stripe.errors.StripeCardError): Extract<HoldAttempt, { ok: false }> {
  const authentication = error.code === 'authentication_required' || error.decline_code === 'authentication_required';
  return {
    ok: false,
    reason: authentication ? 'authentication_required' : 'card_declined',
    ...(error.code ? { code: error.code } : {}),
    ...(error.decline_code ? { declineCode: error.decline_code } : {}),
    message: error.message,
    ...(error.payment_intent?.id ? { paymentIntentId: error.payment_intent.id } : {}),
  };
}

function chargeDetails(pi: Stripe.PaymentIntent): { captureBefore?: string; incrementable: boolean } {
  const charge = typeof pi.latest_charge === 'object' && pi.latest_charge ? pi.latest_charge : undefined;
  const details = charge?.payment_method_details;
  const card = details?.card;
  const present = details?.card_present;
  return {
    captureBefore: iso(card?.capture_before ?? present?.capture_before),
    incrementable: card?.incremental_authorization?.status === 'available' || present?.incremental_authorization_supported === true,
  };
}

/**
 * Stripe through its SDK: PaymentIntents with manual capture for holds, incremental authorization,
 * partial capture, off-session charges, refunds, and Terminal readers. Every POST carries an
 * idempotency key derived from the session, so a Lambda retry or a re-delivered event replays
 * Stripe's first answer instead of moving money twice.
 *
 * The boundary of amounts: the port speaks the product's minor units (ISO 4217), Stripe its own
 * integers (ISK and UGX in hundredths, MGA in whole ariary, ...); every amount crosses through
 * stripeAmount / fromStripeAmount of functions/shared/money.ts, in the PaymentIntent's currency.
 */
export class StripePaymentGateway implements PaymentGateway {
  constructor(
    private readonly stripe: Stripe,
    private readonly clock: Clock,
  ) {}

  /** A confirmed off-session PaymentIntent on the saved card; `extra` makes it a hold. */
  private offSessionIntent(input: OffSessionPayment, extra: Partial<Stripe.PaymentIntentCreateParams> = {}): Promise<Stripe.PaymentIntent> {
    return this.stripe.paymentIntents.create(
      {
        amount: stripeAmount(input.amountMinor, input.currency),
        currency: input.currency.toLowerCase(),
        customer: input.customerId,
        payment_method: input.paymentMethodId,
        allowed_payment_method_types: ['card'],
        confirm: true,
        off_session: true,
        description: input.description,
        metadata: input.metadata,
        ...extra,
      },
      { idempotencyKey: input.idempotencyKey },
    );
  }

  async createHold(input: OffSessionPayment): Promise<HoldAttempt> {
    try {
      const pi = await this.offSessionIntent(input, {
        capture_method: 'manual',
        payment_method_options: { card: { request_incremental_authorization: 'if_available' } },
        expand: ['latest_charge'],
      });
      if (pi.status !== 'requires_capture') {
        return {
          ok: false,
          reason: pi.status === 'requires_action' ? 'authentication_required' : 'card_declined',
          message: `the PaymentIntent is ${pi.status}, not requires_capture`,
          paymentIntentId: pi.id,
        };
      }
      return { ok: true, paymentIntentId: pi.id, amountMinor: fromStripeAmount(pi.amount_capturable, pi.currency), ...chargeDetails(pi) };
    } catch (error) {
      const card = cardError(error);
      if (card) return holdFailureOf(card);
      throw error;
    }
  }

  async getHold(paymentIntentId: string): Promise<HoldSnapshot> {
    const pi = await this.stripe.paymentIntents.retrieve(paymentIntentId, { expand: ['latest_charge'] });
    const details = chargeDetails(pi);
    const expiredByClock = details.captureBefore !== undefined && Date.parse(details.captureBefore) <= this.clock.now().getTime();
    let status: HoldSnapshot['status'];
    if (pi.status === 'requires_capture') status = expiredByClock ? 'expired' : 'usable';
    else if (pi.status === 'succeeded') status = 'captured';
    else if (pi.status === 'canceled') status = pi.cancellation_reason === 'automatic' ? 'expired' : 'canceled';
    else status = 'not_authorized';
    return {
      paymentIntentId: pi.id,
      status,
      amountMinor: fromStripeAmount(pi.amount, pi.currency),
      capturableMinor: status === 'usable' ? fromStripeAmount(pi.amount_capturable, pi.currency) : 0,
      capturedMinor: fromStripeAmount(pi.amount_received, pi.currency),
      currency: pi.currency.toUpperCase(),
      ...details,
      metadata: { ...pi.metadata },
    };
  }

  async incrementHold(paymentIntentId: string, toMinor: number, currency: string, idempotencyKey: string) {
    try {
      const pi = await this.stripe.paymentIntents.incrementAuthorization(paymentIntentId, { amount: stripeAmount(toMinor, currency) }, { idempotencyKey });
      return { ok: true as const, amountMinor: fromStripeAmount(pi.amount_capturable, pi.currency) };
    } catch (error) {
      const card = cardError(error);
      if (card) return { ok: false as const, reason: 'increment_declined' as const, ...(card.code ? { code: card.code } : {}), ...(card.decline_code ? { declineCode: card.decline_code } : {}), message: card.message };
      // Stripe refuses an increment the card or the intent does not support as an invalid request.
      if (error instanceof Stripe.errors.StripeInvalidRequestError) {
        return { ok: false as const, reason: 'increment_unavailable' as const, ...(error.code ? { code: error.code } : {}), message: error.message };
      }
      throw error;
    }
  }

  async capture(paymentIntentId: string, amountMinor: number, currency: string, idempotencyKey: string) {
    try {
      const pi = await this.stripe.paymentIntents.capture(paymentIntentId, { amount_to_capture: stripeAmount(amountMinor, currency) }, { idempotencyKey });
      return { ok: true as const, capturedMinor: fromStripeAmount(pi.amount_received, pi.currency) };
    } catch (error) {
      if (!(error instanceof Stripe.errors.StripeInvalidRequestError)) throw error;
      if (error.code === 'charge_expired_for_capture') return { ok: false as const, expired: true as const, message: error.message };
      if (error.code === 'payment_intent_unexpected_state') {
        // Captured by an earlier attempt whose answer was lost (past the idempotency window), or gone.
        const hold = await this.getHold(paymentIntentId);
        if (hold.status === 'captured') return { ok: true as const, capturedMinor: hold.capturedMinor };
        if (hold.status === 'expired' || hold.status === 'canceled') return { ok: false as const, expired: true as const, message: error.message };
      }
      throw error;
    }
  }

  async cancel(paymentIntentId: string, idempotencyKey: string): Promise<void> {
    try {
      await this.stripe.paymentIntents.cancel(paymentIntentId, { cancellation_reason: 'abandoned' }, { idempotencyKey });
    } catch (error) {
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'payment_intent_unexpected_state') {
        const hold = await this.getHold(paymentIntentId);
        if (hold.status === 'canceled' || hold.status === 'expired') return;
      }
      throw error;
    }
  }

  async chargeOffSession(input: OffSessionPayment): Promise<ChargeAttempt> {
    try {
      const pi = await this.offSessionIntent(input);
      if (pi.status !== 'succeeded') return { ok: false, message: `the PaymentIntent is ${pi.status}`, paymentIntentId: pi.id };
      return { ok: true, paymentIntentId: pi.id, amountMinor: fromStripeAmount(pi.amount_received, pi.currency) };
    } catch (error) {
      const card = cardError(error);
      if (card) {
        return {
          ok: false,
          ...(card.code ? { code: card.code } : {}),
          ...(card.decline_code ? { declineCode: card.decline_code } : {}),
          message: card.message,
          ...(card.payment_intent?.id ? { paymentIntentId: card.payment_intent.id } : {}),
        };
      }
      throw error;
    }
  }

  async refund(input: Parameters<PaymentGateway['refund']>[0]) {
    const refund = await this.stripe.refunds.create(
      { payment_intent: input.paymentIntentId, amount: stripeAmount(input.amountMinor, input.currency), ...(input.reason ? { reason: input.reason } : {}), metadata: input.metadata },
      { idempotencyKey: input.idempotencyKey },
    );
    return { refundId: refund.id, status: refund.status ?? 'pending', amountMinor: fromStripeAmount(refund.amount, refund.currency), createdAt: iso(refund.created)! };
  }

  async getRefund(refundId: string) {
    const refund = await this.stripe.refunds.retrieve(refundId, { expand: ['payment_intent'] });
    const pi = typeof refund.payment_intent === 'object' && refund.payment_intent ? refund.payment_intent : undefined;
    const sessionId = refund.metadata?.sessionId ?? pi?.metadata?.sessionId;
    return {
      refundId: refund.id,
      ...(pi ? { paymentIntentId: pi.id } : typeof refund.payment_intent === 'string' ? { paymentIntentId: refund.payment_intent } : {}),
      ...(sessionId ? { sessionId } : {}),
      amountMinor: fromStripeAmount(refund.amount, refund.currency),
      status: refund.status ?? 'pending',
      ...(refund.reason ? { reason: refund.reason } : {}),
      createdAt: iso(refund.created)!,
    };
  }

  async armReader(input: Parameters<PaymentGateway['armReader']>[0]) {
    const pi = await this.stripe.paymentIntents.create(
      {
        amount: stripeAmount(input.amountMinor, input.currency),
        currency: input.currency.toLowerCase(),
        allowed_payment_method_types: ['card_present'],
        capture_method: 'manual',
        payment_method_options: { card_present: { request_incremental_authorization_support: true } },
        description: input.description,
        metadata: input.metadata,
      },
      { idempotencyKey: `${input.idempotencyKey}:intent` },
    );
    try {
      await this.stripe.terminal.readers.processPaymentIntent(input.readerId, { payment_intent: pi.id }, { idempotencyKey: `${input.idempotencyKey}:process` });
    } catch (error) {
      // The reader is collecting another payment, or unreachable: nothing to retry blindly; the
      // unused PaymentIntent is cancelled so it does not linger.
      if (error instanceof Stripe.errors.StripeInvalidRequestError && (error.code === 'terminal_reader_busy' || error.code === 'terminal_reader_offline')) {
        await this.stripe.paymentIntents.cancel(pi.id, {}, { idempotencyKey: `${input.idempotencyKey}:cancel` }).catch(() => undefined);
        throw new ConflictError(`reader ${input.readerId}: ${error.code === 'terminal_reader_busy' ? 'busy with another payment' : 'offline'}`);
      }
      throw error;
    }
    return { paymentIntentId: pi.id };
  }

  async readerExists(readerId: string): Promise<boolean> {
    try {
      const reader = await this.stripe.terminal.readers.retrieve(readerId);
      return !('deleted' in reader && reader.deleted);
    } catch (error) {
      if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing') return false;
      throw error;
    }
  }
}
