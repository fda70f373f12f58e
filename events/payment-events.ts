import { z } from 'zod';
import { defineEvent } from './contract.ts';

/** Source of every event the payments functions publish (consumer and Stripe webhook alike). */
export const PAYMENTS_SOURCE = 'voltledger.payments';

const minor = z.number().int().nonnegative();
/** Upper-case ISO 4217, as pricing and OCPI write it (Stripe's lower-case codes are converted). */
const currency = z.string().regex(/^[A-Z]{3}$/, 'currency is an upper-case ISO 4217 code');
const iso = z.iso.datetime({ offset: true });

/** How the driver pays: a saved card off-session (app/web) or a card presented at the charger's reader. */
export const PaymentChannel = z.enum(['app', 'reader']);
export type PaymentChannel = z.infer<typeof PaymentChannel>;

/** What a PaymentIntent was for; the ledger books each kind differently. */
export const PaymentPurpose = z.enum(['hold', 'top_up', 'off_session_charge']);
export type PaymentPurpose = z.infer<typeof PaymentPurpose>;

/** Why a hold could not be placed or raised; a driver app maps these to a screen. */
export const HoldFailureReason = z.enum([
  'card_declined',
  'authentication_required',
  'no_payment_method',
  'increment_unavailable',
  'increment_declined',
  'provider_error',
]);
export type HoldFailureReason = z.infer<typeof HoldFailureReason>;

const sessionRef = {
  sessionId: z.string().min(1),
  transactionId: z.number().int().positive(),
  chargePointId: z.string().min(1),
  connectorId: z.number().int().nonnegative(),
  idTag: z.string().min(1),
  siteId: z.string().optional(),
  driverId: z.string().optional(),
};

// ---------------------------------------------------------------------------------------------
// Published by the payments consumer: what happened to a session's money, in session terms.
// ---------------------------------------------------------------------------------------------

/** A hold was authorized for a session. Id: `PaymentHoldPlaced:<sessionId>`. */
export const PaymentHoldPlaced = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PaymentHoldPlaced',
  version: 1,
  data: z.strictObject({
    ...sessionRef,
    channel: PaymentChannel,
    paymentIntentId: z.string().min(1),
    amountMinor: minor,
    currency,
    /** When Stripe releases the hold unless captured (charge.payment_method_details.card.capture_before). */
    captureBefore: iso.optional(),
    incrementalAuthorization: z.boolean(),
    placedAt: iso,
  }),
});

/**
 * The hold was declined, needs the driver (3-D Secure), or could not be placed at all; the session
 * is stopped (RemoteStopTransaction) when it is running. A driver app acts on `reason`.
 * Id: `PaymentHoldFailed:<sessionId>`.
 */
export const PaymentHoldFailed = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PaymentHoldFailed',
  version: 1,
  data: z.strictObject({
    ...sessionRef,
    channel: PaymentChannel,
    reason: HoldFailureReason,
    /** Stripe's error code and decline code, when Stripe answered. */
    code: z.string().optional(),
    declineCode: z.string().optional(),
    message: z.string(),
    paymentIntentId: z.string().optional(),
    /** What the driver can do: update the card, or authenticate the PaymentIntent in the app. */
    driverAction: z.enum(['update_payment_method', 'authenticate', 'none']),
    /** True when a RemoteStopTransaction was sent (accepted or not is on the command record). */
    stopRequested: z.boolean(),
    failedAt: iso,
  }),
});

/** The running cost neared the hold and the hold was raised (incremental authorization). Id: `PaymentHoldIncreased:<sessionId>:<toMinor>`. */
export const PaymentHoldIncreased = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PaymentHoldIncreased',
  version: 1,
  data: z.strictObject({
    ...sessionRef,
    paymentIntentId: z.string().min(1),
    fromMinor: minor,
    toMinor: minor,
    runningCostMinor: minor,
    currency,
    increasedAt: iso,
  }),
});

/**
 * The running cost neared the hold and it could not be raised; `action` is the site's policy:
 * `stop` sent RemoteStopTransaction, `continue` lets the session run and collects the rest after.
 * Id: `PaymentHoldIncreaseRefused:<sessionId>`.
 */
export const PaymentHoldIncreaseRefused = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PaymentHoldIncreaseRefused',
  version: 1,
  data: z.strictObject({
    ...sessionRef,
    paymentIntentId: z.string().min(1),
    holdMinor: minor,
    runningCostMinor: minor,
    currency,
    reason: HoldFailureReason,
    action: z.enum(['stop', 'continue']),
    stopRequested: z.boolean(),
    refusedAt: iso,
  }),
});

/** The one payment outcome a priced session ends with. */
export const SettlementOutcome = z.enum([
  /** The amount due was captured from the hold (a partial capture released the rest). */
  'captured',
  /** The whole hold was captured and the difference charged off-session. */
  'captured_with_top_up',
  /** The hold had expired (or was never usable); the whole amount was charged off-session. */
  'charged_off_session',
  /** Nothing (or less than the currency's minimum) was due: the hold was cancelled and the rest waived. */
  'waived',
  /** Less than the currency's minimum was due: the hold was cancelled, the amount carried to the driver's next session. */
  'carried_forward',
  /** Nothing was due and no money moved. */
  'nothing_due',
  /** Some of the amount could not be collected (the off-session charge was declined); `outstandingMinor` is owed. */
  'collection_failed',
]);
export type SettlementOutcome = z.infer<typeof SettlementOutcome>;

/**
 * A priced card session's payment is settled: exactly one per session (id
 * `SessionPaymentSettled:<sessionId>`). Amounts are incl. VAT, minor units:
 * `dueMinor = sessionTotalMinor + carriedInMinor = capturedMinor + topUpMinor + waivedMinor + carriedOutMinor + outstandingMinor`.
 */
export const SessionPaymentSettled = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'SessionPaymentSettled',
  version: 1,
  data: z
    .strictObject({
      ...sessionRef,
      channel: PaymentChannel,
      outcome: SettlementOutcome,
      currency,
      sessionTotalMinor: minor,
      /** Small amounts of earlier sessions of the same driver added to this one. */
      carriedInMinor: minor,
      carriedInSessionIds: z.array(z.string()),
      dueMinor: minor,
      holdMinor: minor,
      capturedMinor: minor,
      topUpMinor: minor,
      waivedMinor: minor,
      carriedOutMinor: minor,
      outstandingMinor: minor,
      /** The PaymentIntents that moved money: the hold, and the top-up or off-session charge. */
      holdPaymentIntentId: z.string().optional(),
      chargePaymentIntentId: z.string().optional(),
      failure: z.strictObject({ code: z.string().optional(), declineCode: z.string().optional(), message: z.string() }).optional(),
      /**
       * Held for review: `amountMinor` (part of `outstandingMinor`) is above what the payment policy
       * lets VoltLedger take without a person looking (`limitMinor`, its maxHoldMinor); not captured or charged.
       */
      review: z.strictObject({ amountMinor: minor, limitMinor: minor, reason: z.string() }).optional(),
      settledAt: iso,
    })
    .refine(
      (d) =>
        d.dueMinor === d.sessionTotalMinor + d.carriedInMinor &&
        d.dueMinor === d.capturedMinor + d.topUpMinor + d.waivedMinor + d.carriedOutMinor + d.outstandingMinor,
      { message: 'settlement amounts do not add up' },
    ),
});

// ---------------------------------------------------------------------------------------------
// Published by the Stripe webhook: money facts as Stripe settled them, for accounting. The ids
// derive from Stripe's object ids, so a duplicate or replayed webhook republishes the same event.
// `sessionId` comes from the PaymentIntent's metadata (absent for payments VoltLedger did not make).
// ---------------------------------------------------------------------------------------------

const stripeFee = {
  balanceTransactionId: z.string().optional(),
  /** Stripe's fee for this movement and what reaches the balance, when the balance transaction exists. */
  feeMinor: z.number().int().optional(),
  netMinor: z.number().int().optional(),
  availableOn: iso.optional(),
};

/** Money was captured (a hold capture, a top-up or an off-session charge). Id: `PaymentCaptured:<chargeId>`. */
export const PaymentCaptured = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PaymentCaptured',
  version: 1,
  data: z.strictObject({
    sessionId: z.string().optional(),
    purpose: PaymentPurpose.optional(),
    paymentIntentId: z.string().min(1),
    chargeId: z.string().min(1),
    customerId: z.string().optional(),
    currency,
    /** Authorized on the charge (the hold, after any increments). */
    authorizedMinor: minor,
    capturedMinor: minor,
    /** Released by a partial capture (authorized - captured). */
    releasedMinor: minor,
    ...stripeFee,
    capturedAt: iso,
  }),
});

/** A hold ended without capture: cancelled by VoltLedger or expired at Stripe. Id: `PaymentHoldReleased:<paymentIntentId>`. */
export const PaymentHoldReleased = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PaymentHoldReleased',
  version: 1,
  data: z.strictObject({
    sessionId: z.string().optional(),
    purpose: PaymentPurpose.optional(),
    paymentIntentId: z.string().min(1),
    chargeId: z.string().optional(),
    currency,
    amountMinor: minor,
    reason: z.enum(['canceled', 'expired']),
    releasedAt: iso,
  }),
});

/** An authorization or charge attempt failed at Stripe. Id: `PaymentFailed:<chargeId or paymentIntentId>`. */
export const PaymentFailed = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PaymentFailed',
  version: 1,
  data: z.strictObject({
    sessionId: z.string().optional(),
    purpose: PaymentPurpose.optional(),
    paymentIntentId: z.string().min(1),
    chargeId: z.string().optional(),
    currency,
    amountMinor: minor,
    code: z.string().optional(),
    declineCode: z.string().optional(),
    message: z.string(),
    failedAt: iso,
  }),
});

/** A refund succeeded (or failed later: `status: failed` returns the money). Id: `PaymentRefunded:<refundId>:<status>`. */
export const PaymentRefunded = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PaymentRefunded',
  version: 1,
  data: z.strictObject({
    sessionId: z.string().optional(),
    refundId: z.string().min(1),
    paymentIntentId: z.string().optional(),
    chargeId: z.string().min(1),
    currency,
    amountMinor: minor,
    reason: z.string().optional(),
    status: z.enum(['succeeded', 'failed']),
    ...stripeFee,
    refundedAt: iso,
  }),
});

/** A dispute was opened; the amount and the dispute fee left the balance. Id: `DisputeOpened:<disputeId>`. */
export const DisputeOpened = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'DisputeOpened',
  version: 1,
  data: z.strictObject({
    sessionId: z.string().optional(),
    disputeId: z.string().min(1),
    chargeId: z.string().min(1),
    paymentIntentId: z.string().optional(),
    currency,
    amountMinor: minor,
    feeMinor: minor,
    reason: z.string(),
    balanceTransactionIds: z.array(z.string()),
    openedAt: iso,
  }),
});

/** A dispute closed: `won` returns the amount (not the fee); `lost` keeps it withdrawn. Id: `DisputeClosed:<disputeId>`. */
export const DisputeClosed = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'DisputeClosed',
  version: 1,
  data: z.strictObject({
    sessionId: z.string().optional(),
    disputeId: z.string().min(1),
    chargeId: z.string().min(1),
    paymentIntentId: z.string().optional(),
    currency,
    amountMinor: minor,
    feeMinor: minor,
    status: z.enum(['won', 'lost', 'warning_closed']),
    /** Money returned to the balance on closing (the amount when won, else 0). */
    reinstatedMinor: minor,
    balanceTransactionIds: z.array(z.string()),
    closedAt: iso,
  }),
});

/** A payout reached the bank. Id: `PayoutPaid:<payoutId>`. */
export const PayoutPaid = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PayoutPaid',
  version: 1,
  data: z.strictObject({
    payoutId: z.string().min(1),
    currency,
    amountMinor: z.number().int(),
    arrivalDate: iso,
    balanceTransactionId: z.string().optional(),
    paidAt: iso,
  }),
});

/** A payout failed and its money returned to the balance. Id: `PayoutFailed:<payoutId>`. */
export const PayoutFailed = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'PayoutFailed',
  version: 1,
  data: z.strictObject({
    payoutId: z.string().min(1),
    currency,
    amountMinor: z.number().int(),
    failureCode: z.string().optional(),
    failureMessage: z.string().optional(),
    failedAt: iso,
  }),
});

/** What a paid invoice was for: a membership subscription, a fleet statement, or anything else. */
export const InvoiceKind = z.enum(['membership', 'fleet_statement', 'other']);
export type InvoiceKind = z.infer<typeof InvoiceKind>;

/**
 * A Stripe invoice was paid (a membership subscription's, a fleet statement's, or another). Its
 * money arrived through a PaymentIntent without a session, which `PaymentCaptured` books as
 * unallocated receipts; this event says what that money was for. Amounts incl. tax, minor units;
 * `taxMinor` is the invoice's tax (0 when Stripe computed none). `statementId` and `accountId` are
 * the fleet invoicer's metadata (`voltledger_statement_id`, `voltledger_account_id`).
 * Id: `InvoicePaid:<invoiceId>`.
 */
export const InvoicePaid = defineEvent({
  source: PAYMENTS_SOURCE,
  detailType: 'InvoicePaid',
  version: 1,
  data: z
    .strictObject({
      invoiceId: z.string().min(1),
      customerId: z.string().min(1),
      currency,
      amountPaidMinor: minor,
      taxMinor: minor,
      kind: InvoiceKind,
      subscriptionId: z.string().min(1).optional(),
      statementId: z.string().min(1).optional(),
      accountId: z.string().min(1).optional(),
      paidAt: iso,
    })
    .refine((d) => d.taxMinor <= d.amountPaidMinor, { message: 'taxMinor exceeds amountPaidMinor' })
    .refine((d) => d.kind !== 'fleet_statement' || (d.statementId !== undefined && d.accountId !== undefined), { message: 'a fleet statement invoice names its statementId and accountId' }),
});

/** Every event the Stripe webhook turns money movements into (the accounting sync consumes these). */
export const STRIPE_MONEY_EVENTS = [PaymentCaptured, PaymentHoldReleased, PaymentFailed, PaymentRefunded, DisputeOpened, DisputeClosed, PayoutPaid, PayoutFailed, InvoicePaid] as const;
