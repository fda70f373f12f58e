import { VoltLedgerError } from '../../shared/errors.ts';

/** Thrown when a journal entry does not balance, mixes currencies or has a bad line: nothing is written. */
export class UnbalancedEntryError extends VoltLedgerError {}

/** Thrown when a line names an account the chart of accounts does not have. */
export class UnknownAccountError extends VoltLedgerError {}

/** Thrown when an entry id is already stored with different content (append-only: the stored one stands). */
export class ConflictingEntryError extends VoltLedgerError {}

/** Thrown when a session already has a different financial closure (a write-off of a captured session). */
export class SessionAlreadyClosedError extends VoltLedgerError {}

/** Thrown when the accounting system refused an entry for good (4xx other than 408/429): no retry helps. */
export class PermanentDeliveryError extends VoltLedgerError {}
