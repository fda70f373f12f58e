/** Base of every error VoltLedger throws on purpose; `cause` keeps the underlying error. */
export class VoltLedgerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Thrown at start-up when a required environment variable is unset or empty. */
export class ConfigurationError extends VoltLedgerError {}

/** Thrown when input (an admin request, a file, a tariff) fails validation; `path` names the field. */
export class ValidationError extends VoltLedgerError {
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown when a record that must exist (charge point, session, tariff) does not. */
export class NotFoundError extends VoltLedgerError {}

/** Thrown when a request is valid but the state of things does not allow it (HTTP 409). */
export class ConflictError extends VoltLedgerError {}

/** Thrown when a charge point is not connected (API Gateway answered GoneException). */
export class ChargePointOfflineError extends VoltLedgerError {}

/** Thrown when publishing domain events failed, fully or for some entries. */
export class EventPublishError extends VoltLedgerError {}
