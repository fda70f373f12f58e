import { PeriodNotOverError, StatementBusyError, StatementIntegrityError, type FleetBilling } from '../fleet/fleet-billing.ts';
import { FleetBillingError } from '../fleet/domain/statement.ts';
import { ConfigurationError } from '../shared/errors.ts';
import { json, type HttpEvent, type HttpResult } from '../shared/http.ts';

type Route = { method: string; pattern: RegExp; handle: (match: string[], event: HttpEvent) => Promise<HttpResult> };

/** Fleet errors as answers: a period not over, a statement being issued, an account not billable: 409; Stripe missing: 503. */
async function answer(run: () => Promise<unknown>): Promise<HttpResult> {
  try {
    return json(200, await run());
  } catch (error) {
    if (error instanceof PeriodNotOverError || error instanceof StatementBusyError || error instanceof FleetBillingError) {
      return json(409, { error: error.name, message: error.message });
    }
    if (error instanceof StatementIntegrityError) return json(500, { error: error.name, message: error.message });
    if (error instanceof ConfigurationError) return json(503, { error: error.name, message: error.message });
    throw error;
  }
}

/**
 * Fleet statements: `GET .../statements` lists them, `GET .../statements/{YYYY-MM}` shows one (as
 * issued, or a preview of what issuing it now would bill), `POST .../statements/{YYYY-MM}/issue`
 * issues it (idempotent: a re-run answers the same statement and never bills a session twice).
 */
export function fleetRoutes(billing: FleetBilling): Route[] {
  return [
    { method: 'GET', pattern: /^\/admin\/fleet-accounts\/([^/]+)\/statements$/, handle: ([accountId]) => answer(async () => ({ statements: await billing.list(accountId!) })) },
    { method: 'GET', pattern: /^\/admin\/fleet-accounts\/([^/]+)\/statements\/([^/]+)$/, handle: ([accountId, period]) => answer(() => billing.statement(accountId!, period!)) },
    { method: 'POST', pattern: /^\/admin\/fleet-accounts\/([^/]+)\/statements\/([^/]+)\/issue$/, handle: ([accountId, period]) => answer(() => billing.issue(accountId!, period!)) },
  ];
}
