import { z } from 'zod';
import { PeriodNotOverError, StatementBusyError, StatementIntegrityError, type FleetBilling } from '../fleet/fleet-billing.ts';
import type { FleetAccountRecord } from '../fleet/domain/account.ts';
import { FleetPlanSchema, InvoiceCollectionSchema, TaxDetailsSchema } from '../fleet/domain/plan.ts';
import type { FleetAccountStore } from '../fleet/domain/ports.ts';
import { FleetBillingError } from '../fleet/domain/statement.ts';
import type { Clock } from '../shared/clock.ts';
import { ConfigurationError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { json, jsonBody, parseWith, type HttpEvent, type HttpResult } from '../shared/http.ts';
import { isTimeZone } from '../shared/time-zone.ts';

/** What the fleet routes need: fleet billing and the fleet accounts (functions/fleet/deps.ts buildFleetBilling). */
export type FleetAdminDeps = FleetBilling & { accounts: FleetAccountStore };

type Route = { method: string; pattern: RegExp; handle: (match: string[], event: HttpEvent) => Promise<HttpResult> };

const SLUG = /^[A-Za-z0-9_.:-]{1,64}$/;

const FleetBody = z.strictObject({
  name: z.string().min(1).max(128),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
  billingContact: z.strictObject({ name: z.string().min(1).max(128).optional(), email: z.email(), phone: z.string().min(3).max(32).optional() }),
  taxId: z.string().min(2).max(32).optional(),
  tariffId: z.string().min(1).max(36).optional(),
  plan: FleetPlanSchema.optional(),
  taxDetails: TaxDetailsSchema.optional(),
  invoiceCollection: InvoiceCollectionSchema.optional(),
  stripeCustomerId: z.string().regex(/^cus_[A-Za-z0-9]+$/, 'must be a Stripe customer id (cus_...)').optional(),
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').optional(),
});

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
 * Fleet accounts: `PUT /admin/fleet-accounts/{accountId}` creates or replaces one, `GET` shows it.
 * Fleet statements: `GET .../statements` lists them, `GET .../statements/{YYYY-MM}` shows one (as
 * issued, or a preview of what issuing it now would bill), `POST .../statements/{YYYY-MM}/issue`
 * issues it (idempotent: a re-run answers the same statement and never bills a session twice).
 */
export function fleetRoutes(billing: FleetAdminDeps, clock: Clock): Route[] {
  const { accounts } = billing;
  return [
    {
      method: 'PUT',
      pattern: /^\/admin\/fleet-accounts\/([^/]+)$/,
      async handle([accountId], event) {
        if (!SLUG.test(accountId!)) throw new ValidationError('accountId must be 1-64 letters, digits or _.:-', 'accountId');
        const body = parseWith(FleetBody, jsonBody(event));
        const previous = await accounts.getFleet(accountId!);
        const record: FleetAccountRecord = { accountId: accountId!, ...body, updatedAt: clock.now().toISOString() };
        await accounts.putFleet(record);
        return json(previous ? 200 : 201, record);
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/fleet-accounts\/([^/]+)$/,
      async handle([accountId]) {
        const record = await accounts.getFleet(accountId!);
        if (!record) throw new NotFoundError(`fleet account ${accountId} does not exist`);
        return json(200, record);
      },
    },
    { method: 'GET', pattern: /^\/admin\/fleet-accounts\/([^/]+)\/statements$/, handle: ([accountId]) => answer(async () => ({ statements: await billing.list(accountId!) })) },
    { method: 'GET', pattern: /^\/admin\/fleet-accounts\/([^/]+)\/statements\/([^/]+)$/, handle: ([accountId, period]) => answer(() => billing.statement(accountId!, period!)) },
    { method: 'POST', pattern: /^\/admin\/fleet-accounts\/([^/]+)\/statements\/([^/]+)\/issue$/, handle: ([accountId, period]) => answer(() => billing.issue(accountId!, period!)) },
  ];
}
