import type { EventContract } from './contract.ts';
import { JournalEntryPosted } from './accounting-events.ts';
import { FleetStatementIssued, RoamingCdrAccepted } from './billing-events.ts';
import { PayoutPaid, SessionPaymentSettled, STRIPE_MONEY_EVENTS } from './payment-events.ts';
import { SessionPriced } from './pricing-events.ts';
import { SessionCompleted, SessionMeterValues, SessionStarted } from './session-events.ts';

/**
 * Who consumes which events. The CDK stack turns each subscription into an EventBridge rule whose
 * targets are the consumer's Lambda; the local bus routes with the very same patterns. Consumers
 * are named, not imported, so this module stays free of handler code.
 */
export interface Subscription {
  /** Stable rule name (also the construct id in CDK). */
  readonly ruleName: string;
  /** Consumer function id, e.g. `pricing`; resolved to a handler by the local stack and to a Lambda by CDK. */
  readonly consumer: string;
  readonly events: readonly EventContract[];
}

/** EventBridge event pattern matching exactly the subscription's contracts. */
export function eventPatternFor(subscription: Pick<Subscription, 'events'>): {
  source: string[];
  'detail-type': string[];
} {
  const sources = [...new Set(subscription.events.map((e) => e.source))].sort();
  const detailTypes = [...new Set(subscription.events.map((e) => e.detailType))].sort();
  return { source: sources, 'detail-type': detailTypes };
}

/** Subscriptions in force; later capabilities (payments, accounting) add theirs here. */
export const SUBSCRIPTIONS: Subscription[] = [
  // A session is priced once it is over for billing (unplugged, or the idle limit passed).
  { ruleName: 'PriceCompletedSessions', consumer: 'pricing', events: [SessionCompleted] },
  // Card payments: the hold at start, the running cost against it, the capture once priced.
  { ruleName: 'ChargeCardSessions', consumer: 'payments', events: [SessionStarted, SessionMeterValues, SessionPriced] },
  // Fleet sessions accrue to their account's next statement; roaming sessions become OCPI CDRs.
  { ruleName: 'AccrueFleetSessions', consumer: 'fleet', events: [SessionPriced] },
  { ruleName: 'SendRoamingCdrs', consumer: 'roaming', events: [SessionPriced] },
  // Every money event becomes balanced journal entries (functions/accounting, docs/accounting.md).
  {
    ruleName: 'BookMoneyEventsInLedger',
    consumer: 'ledger',
    events: [SessionPriced, SessionPaymentSettled, ...STRIPE_MONEY_EVENTS, FleetStatementIssued, RoamingCdrAccepted],
  },
  // Each posted entry goes to the accounting system as it happens.
  { ruleName: 'PushJournalEntriesToAccounting', consumer: 'accounting-sync', events: [JournalEntryPosted] },
  // A payout that reached the bank is reconciled against its balance transactions.
  { ruleName: 'ReconcilePaidPayouts', consumer: 'reconciliation', events: [PayoutPaid] },
];
