import { buildEvent, type EventContract, type EventData } from '../../../events/contract.ts';
import { FleetStatementIssued, RoamingCdrAccepted } from '../../../events/billing-events.ts';
import {
  DisputeClosed,
  DisputeOpened,
  InvoicePaid,
  PaymentCaptured,
  PaymentFailed,
  PaymentHoldReleased,
  PaymentRefunded,
  PayoutFailed,
  PayoutPaid,
  SessionPaymentSettled,
} from '../../../events/payment-events.ts';
import { SessionPriced } from '../../../events/pricing-events.ts';
import { formatScaled } from '../../../functions/shared/decimal.ts';
import { parseLedgerEvent, type LedgerEvent } from '../../../functions/accounting/domain/posting-rules.ts';

/** Contract-valid events for the ledger, ids as the producers' contracts name them. */
export const T0 = Date.parse('2026-11-23T09:00:00Z');
export const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/** Minor units as the decimal string the events carry, exactly (no binary float). */
const money = (minor: number) => formatScaled(BigInt(minor), 2);

/** An EventBridge-shaped event for a consumer. */
export function bridgeEvent<C extends EventContract>(contract: C, data: EventData<C>, id: string, occurredAt: string) {
  const { detail } = buildEvent(contract, data, { id, occurredAt: new Date(occurredAt) });
  return { id: `eb-${id}`, version: '0', account: '000000000000', time: occurredAt, region: 'eu-central-1', resources: [], source: contract.source, 'detail-type': contract.detailType, detail };
}

function ledgerEvent<C extends EventContract>(contract: C, data: EventData<C>, id: string, occurredAt: string): LedgerEvent {
  const { detail } = buildEvent(contract, data, { id, occurredAt: new Date(occurredAt) });
  return parseLedgerEvent(contract.detailType, detail);
}

export interface PricedSpec {
  sessionId: string;
  kind?: 'retail' | 'member' | 'fleet' | 'roaming' | 'free';
  party?: string;
  energyMinor?: number;
  timeMinor?: number;
  idleMinor?: number;
  fixedMinor?: number;
  /** VAT rate in percent (19 by default). */
  vatPercent?: number;
  completedAt?: string;
  siteId?: string;
  currency?: string;
}

/** SessionPriced with excl components; incl = excl + round(excl * vat). */
export function aSessionPriced(spec: PricedSpec) {
  const { energyMinor = 1000, timeMinor = 0, idleMinor = 0, fixedMinor = 0, vatPercent = 19 } = spec;
  const excl = energyMinor + timeMinor + idleMinor + fixedMinor;
  const incl = excl + Math.round((excl * vatPercent) / 100);
  const withVat = (m: number) => money(m + Math.round((m * vatPercent) / 100));
  const profile =
    spec.kind === 'fleet' ? { kind: 'fleet', accountId: spec.party ?? 'ACME' }
    : spec.kind === 'roaming' ? { kind: 'roaming', partnerId: spec.party ?? 'DE-EMSP' }
    : spec.kind === 'member' ? { kind: 'member', tier: 'plus' }
    : spec.kind === 'free' ? { kind: 'free', reason: 'staff' }
    : { kind: 'retail' };
  const completedAt = spec.completedAt ?? at(60);
  const data: EventData<typeof SessionPriced> = {
    sessionId: spec.sessionId,
    transactionId: 1,
    chargePointId: 'CP-001',
    connectorId: 1,
    idTag: 'TAG',
    ...(spec.siteId === undefined ? { siteId: 'berlin-mitte' } : spec.siteId ? { siteId: spec.siteId } : {}),
    billingProfile: profile,
    tariff: { tariffId: 'DEMO-TOU', version: 1 },
    currency: spec.currency ?? 'EUR',
    totalMinor: incl,
    total_cost: { excl_vat: money(excl), incl_vat: money(incl) },
    total_energy_cost: { excl_vat: money(energyMinor), incl_vat: withVat(energyMinor) },
    total_time_cost: { excl_vat: money(timeMinor), incl_vat: withVat(timeMinor) },
    total_parking_cost: { excl_vat: money(idleMinor), incl_vat: withVat(idleMinor) },
    total_fixed_cost: { excl_vat: money(fixedMinor), incl_vat: withVat(fixedMinor) },
    total_energy: '10.000',
    total_time: '1.000',
    total_parking_time: '0.000',
    startedAt: at(0),
    completedAt,
    pricedAt: completedAt,
    warnings: [],
  };
  return { event: ledgerEvent(SessionPriced, data, `SessionPriced:${spec.sessionId}`, completedAt), data, totalMinor: incl, exclMinor: excl };
}

export function aPaymentCaptured(spec: { sessionId?: string; chargeId: string; paymentIntentId?: string; capturedMinor: number; authorizedMinor?: number; feeMinor?: number; balanceTransactionId?: string; purpose?: 'hold' | 'top_up' | 'off_session_charge'; capturedAt?: string }) {
  const authorized = spec.authorizedMinor ?? spec.capturedMinor;
  const data: EventData<typeof PaymentCaptured> = {
    ...(spec.sessionId ? { sessionId: spec.sessionId } : {}),
    purpose: spec.purpose ?? 'hold',
    paymentIntentId: spec.paymentIntentId ?? `pi_${spec.chargeId}`,
    chargeId: spec.chargeId,
    currency: 'EUR',
    authorizedMinor: authorized,
    capturedMinor: spec.capturedMinor,
    releasedMinor: authorized - spec.capturedMinor,
    ...(spec.feeMinor !== undefined ? { feeMinor: spec.feeMinor, netMinor: spec.capturedMinor - spec.feeMinor, balanceTransactionId: spec.balanceTransactionId ?? `txn_${spec.chargeId}`, availableOn: at(2 * 24 * 60) } : {}),
    capturedAt: spec.capturedAt ?? at(61),
  };
  return ledgerEvent(PaymentCaptured, data, `PaymentCaptured:${spec.chargeId}`, data.capturedAt);
}

export function aSettlement(spec: Partial<EventData<typeof SessionPaymentSettled>> & { sessionId: string; sessionTotalMinor: number }) {
  const due = spec.sessionTotalMinor + (spec.carriedInMinor ?? 0);
  const data: EventData<typeof SessionPaymentSettled> = {
    transactionId: 1,
    chargePointId: 'CP-001',
    connectorId: 1,
    idTag: 'TAG',
    channel: 'app',
    outcome: 'captured',
    currency: 'EUR',
    carriedInMinor: 0,
    carriedInSessionIds: [],
    dueMinor: due,
    holdMinor: 5000,
    capturedMinor: due,
    topUpMinor: 0,
    waivedMinor: 0,
    carriedOutMinor: 0,
    outstandingMinor: 0,
    settledAt: at(62),
    ...spec,
  };
  return ledgerEvent(SessionPaymentSettled, data, `SessionPaymentSettled:${spec.sessionId}`, data.settledAt);
}

export function aHoldReleased(spec: { sessionId: string; paymentIntentId: string; amountMinor: number }) {
  return ledgerEvent(PaymentHoldReleased, { ...spec, currency: 'EUR', reason: 'canceled', releasedAt: at(62) }, `PaymentHoldReleased:${spec.paymentIntentId}`, at(62));
}

export function aPaymentFailed(spec: { paymentIntentId: string; amountMinor: number; sessionId?: string; chargeId?: string }) {
  return ledgerEvent(PaymentFailed, { ...spec, currency: 'EUR', code: 'card_declined', message: 'Your card was declined.', failedAt: at(1) }, `PaymentFailed:${spec.paymentIntentId}`, at(1));
}

export function aRefund(spec: { refundId: string; chargeId: string; sessionId?: string; amountMinor: number; status?: 'succeeded' | 'failed'; refundedAt?: string }) {
  const status = spec.status ?? 'succeeded';
  const data: EventData<typeof PaymentRefunded> = {
    ...(spec.sessionId ? { sessionId: spec.sessionId } : {}),
    refundId: spec.refundId,
    chargeId: spec.chargeId,
    currency: 'EUR',
    amountMinor: spec.amountMinor,
    status,
    refundedAt: spec.refundedAt ?? at(120),
  };
  return ledgerEvent(PaymentRefunded, data, `PaymentRefunded:${spec.refundId}:${status}`, data.refundedAt);
}

export function aDisputeOpened(spec: { disputeId: string; chargeId: string; sessionId?: string; amountMinor: number; feeMinor?: number }) {
  const data: EventData<typeof DisputeOpened> = {
    ...(spec.sessionId ? { sessionId: spec.sessionId } : {}),
    disputeId: spec.disputeId,
    chargeId: spec.chargeId,
    currency: 'EUR',
    amountMinor: spec.amountMinor,
    feeMinor: spec.feeMinor ?? 1500,
    reason: 'fraudulent',
    balanceTransactionIds: [`txn_${spec.disputeId}_open`],
    openedAt: at(180),
  };
  return ledgerEvent(DisputeOpened, data, `DisputeOpened:${spec.disputeId}`, data.openedAt);
}

export function aDisputeClosed(spec: { disputeId: string; chargeId: string; sessionId?: string; amountMinor: number; status: 'won' | 'lost' }) {
  const data: EventData<typeof DisputeClosed> = {
    ...(spec.sessionId ? { sessionId: spec.sessionId } : {}),
    disputeId: spec.disputeId,
    chargeId: spec.chargeId,
    currency: 'EUR',
    amountMinor: spec.amountMinor,
    feeMinor: 1500,
    status: spec.status,
    reinstatedMinor: spec.status === 'won' ? spec.amountMinor : 0,
    balanceTransactionIds: spec.status === 'won' ? [`txn_${spec.disputeId}_won`] : [],
    closedAt: at(240),
  };
  return ledgerEvent(DisputeClosed, data, `DisputeClosed:${spec.disputeId}`, data.closedAt);
}

export function aPayoutPaid(spec: { payoutId: string; amountMinor: number }) {
  return ledgerEvent(PayoutPaid, { payoutId: spec.payoutId, currency: 'EUR', amountMinor: spec.amountMinor, arrivalDate: at(3 * 24 * 60), paidAt: at(3 * 24 * 60) }, `PayoutPaid:${spec.payoutId}`, at(3 * 24 * 60));
}

export function aPayoutFailed(spec: { payoutId: string; amountMinor: number }) {
  return ledgerEvent(PayoutFailed, { payoutId: spec.payoutId, currency: 'EUR', amountMinor: spec.amountMinor, failureCode: 'account_closed', failedAt: at(4 * 24 * 60) }, `PayoutFailed:${spec.payoutId}`, at(4 * 24 * 60));
}

export function aFleetStatement(spec: { statementId: string; accountId: string; sessionIds: string[]; sessionsExclVatMinor: number; fixedFeeMinor?: number; taxMinor?: number }) {
  const fixed = spec.fixedFeeMinor ?? 0;
  const subtotal = spec.sessionsExclVatMinor + fixed;
  const tax = spec.taxMinor ?? Math.round(subtotal * 0.19);
  const data: EventData<typeof FleetStatementIssued> = {
    statementId: spec.statementId,
    accountId: spec.accountId,
    period: '2026-11',
    currency: 'EUR',
    sessionIds: spec.sessionIds,
    sessionsExclVatMinor: spec.sessionsExclVatMinor,
    fixedFeeMinor: fixed,
    overageMinor: 0,
    subtotalMinor: subtotal,
    taxMinor: tax,
    totalMinor: subtotal + tax,
    issuedAt: at(7 * 24 * 60),
  };
  return ledgerEvent(FleetStatementIssued, data, `FleetStatementIssued:${spec.statementId}`, data.issuedAt);
}

export function aRoamingCdr(spec: { cdrId: string; partnerId: string; sessionId: string; exclVatMinor: number; credit?: boolean; creditsCdrId?: string }) {
  const vat = Math.round(spec.exclVatMinor * 0.19);
  const data: EventData<typeof RoamingCdrAccepted> = {
    cdrId: spec.cdrId,
    partnerId: spec.partnerId,
    sessionId: spec.sessionId,
    credit: spec.credit ?? false,
    ...(spec.creditsCdrId ? { creditsCdrId: spec.creditsCdrId } : {}),
    currency: 'EUR',
    exclVatMinor: spec.exclVatMinor,
    vatMinor: vat,
    inclVatMinor: spec.exclVatMinor + vat,
    acceptedAt: at(90),
  };
  return ledgerEvent(RoamingCdrAccepted, data, `RoamingCdrAccepted:${spec.cdrId}`, data.acceptedAt);
}

/** A paid Stripe invoice: a membership's (subscription), a fleet statement's, or another. */
export function anInvoicePaid(spec: { invoiceId: string; kind: 'membership' | 'fleet_statement' | 'other'; amountPaidMinor: number; taxMinor?: number; statementId?: string; accountId?: string; subscriptionId?: string; paidAt?: string }) {
  const data: EventData<typeof InvoicePaid> = {
    invoiceId: spec.invoiceId,
    customerId: 'cus_1',
    currency: 'EUR',
    amountPaidMinor: spec.amountPaidMinor,
    taxMinor: spec.taxMinor ?? 0,
    kind: spec.kind,
    ...(spec.kind === 'membership' ? { subscriptionId: spec.subscriptionId ?? `sub_${spec.invoiceId}` } : {}),
    ...(spec.kind === 'fleet_statement' ? { statementId: spec.statementId ?? `st_${spec.invoiceId}`, accountId: spec.accountId ?? 'ACME' } : {}),
    paidAt: spec.paidAt ?? at(24 * 60),
  };
  return ledgerEvent(InvoicePaid, data, `InvoicePaid:${spec.invoiceId}`, data.paidAt);
}
