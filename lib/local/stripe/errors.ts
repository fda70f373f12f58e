import { VoltLedgerError } from '../../../functions/shared/errors.ts';

/** The `type` of a Stripe API error body. */
export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';

/**
 * Thrown inside the emulator to answer a request with Stripe's error shape
 * `{ error: { type, code, decline_code, message, param, payment_intent } }` and HTTP status.
 * `replayable` says whether an Idempotency-Key stores the answer: Stripe saves the result once
 * an endpoint started executing (card declines included), not when parameters failed validation.
 */
export class StripeApiError extends VoltLedgerError {
  constructor(
    readonly status: number,
    readonly type: StripeErrorType,
    message: string,
    readonly details: {
      code?: string;
      declineCode?: string;
      param?: string;
      paymentIntent?: Record<string, unknown>;
      charge?: string;
      paymentMethod?: Record<string, unknown>;
      replayable?: boolean;
    } = {},
  ) {
    super(message);
  }

  get replayable(): boolean {
    return this.details.replayable ?? true;
  }

  /** The JSON body Stripe answers with. */
  toBody(): { error: Record<string, unknown> } {
    const error: Record<string, unknown> = { type: this.type, message: this.message };
    if (this.details.code) error.code = this.details.code;
    if (this.details.declineCode) error.decline_code = this.details.declineCode;
    if (this.details.param) error.param = this.details.param;
    if (this.details.charge) error.charge = this.details.charge;
    if (this.details.paymentIntent) error.payment_intent = this.details.paymentIntent;
    if (this.details.paymentMethod) error.payment_method = this.details.paymentMethod;
    if (this.details.code) error.doc_url = `https://docs.stripe.com/error-codes/${this.details.code.replace(/_/g, '-')}`;
    return { error };
  }
}

/** A 400 for a request parameter that is missing or malformed (not stored under an Idempotency-Key). */
export function invalidParam(message: string, param: string, code = 'parameter_invalid'): StripeApiError {
  return new StripeApiError(400, 'invalid_request_error', message, { code, param, replayable: false });
}

/** A 404 `resource_missing`, as Stripe answers for an unknown id. */
export function resourceMissing(kind: string, id: string, param?: string): StripeApiError {
  return new StripeApiError(404, 'invalid_request_error', `No such ${kind}: '${id}'`, { code: 'resource_missing', param, replayable: false });
}

/** A 400 for a request that is well formed but not allowed in the object's current state. */
export function invalidRequest(message: string, code?: string, param?: string): StripeApiError {
  return new StripeApiError(400, 'invalid_request_error', message, { code, param });
}
