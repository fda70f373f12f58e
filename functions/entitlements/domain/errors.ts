import { VoltLedgerError } from '../../shared/errors.ts';

/** Thrown when subscriptions could not be read from Stripe (network, rate limit, 5xx); the webhook answers 500 so Stripe retries. */
export class SubscriptionSourceError extends VoltLedgerError {}

/** Thrown when a driver record kept changing under a membership refresh (every retry lost the race). */
export class MembershipConflictError extends VoltLedgerError {}
