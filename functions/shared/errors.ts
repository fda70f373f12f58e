import type { z } from 'zod';

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

/** `['elements', 0, 'restrictions', 'day_of_week', 1]` -> `elements[0].restrictions.day_of_week[1]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text;
}

/** The first zod issue as a ValidationError naming the field (an unknown key names the key itself). */
export function validationErrorFrom(error: z.ZodError, what: string, prefix: PropertyKey[] = []): ValidationError {
  const issue = error.issues[0]!;
  let path: PropertyKey[] = [...prefix, ...issue.path];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    path = [...path, key];
    message = `unknown field "${key}"`;
  } else if (issue.code === 'invalid_type' && path.length === 0) {
    message = `expected a JSON object`;
  } else if (issue.code === 'invalid_type' && ('input' in issue ? issue.input === undefined : /received undefined/.test(issue.message))) {
    // zod leaves `input` out of issues unless asked (reportInput); a present but wrong value keeps
    // its own message (e.g. "must be a whole number"), only a missing one is "is required".
    message = 'is required';
  }
  const field = formatPath(path) || '(root)';
  return new ValidationError(`invalid ${what}: ${field}: ${message}`, formatPath(path), { cause: error });
}
