import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import type { Clock } from '../shared/clock.ts';
import type { PaymentDeps } from '../payments/deps.ts';
import { parsePaymentPolicy, type PolicyScope } from '../payments/domain/policy.ts';
import { paymentView } from '../payments/domain/payment-view.ts';
import { transactionIdOf } from '../ocpp/domain/model.ts';
import { json, jsonBody, parseWith, type HttpEvent, type HttpResult } from '../shared/http.ts';

type Route = { method: string; pattern: RegExp; handle: (match: string[], event: HttpEvent) => Promise<HttpResult> };

const RefundBody = z.strictObject({
  amountMinor: z.number().int('amountMinor must be a whole number of minor units').positive('amountMinor must be > 0').optional(),
  reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']).optional(),
  note: z.string().max(500).optional(),
});

const ReaderBody = z.strictObject({
  chargePointId: z.string().min(1).max(48),
  connectorId: z.number().int().min(1, 'connectorId must be >= 1 (a reader pays for one connector)'),
  label: z.string().max(128).optional(),
  /** Re-arm by itself after each payment (default true). */
  autoArm: z.boolean().optional(),
});

const SCOPES: Record<string, PolicyScope> = { 'charge-points': 'charge-point', sites: 'site', default: 'default' };

const header = (event: HttpEvent, name: string) => Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === name)?.[1];

/** The `Idempotency-Key` header (a retried request with the same key refunds or arms once), else a fresh one. */
function requestKey(event: HttpEvent): string {
  const given = header(event, 'idempotency-key');
  if (given === undefined) return randomUUID();
  if (!/^[A-Za-z0-9_.:-]{8,100}$/.test(given)) throw new ValidationError('Idempotency-Key must be 8-100 letters, digits or _.:-', 'Idempotency-Key');
  return given;
}

/**
 * Admin routes for card payments: a session's payment, refunds, payment policies (default, per
 * site, per charge point) and Terminal readers.
 */
export function paymentRoutes(deps: PaymentDeps, clock: Clock): Route[] {
  const scopeOf = (segment: string) => {
    const scope = SCOPES[segment];
    if (!scope) throw new ValidationError('scope must be default, sites or charge-points', 'scope');
    return scope;
  };
  return [
    {
      method: 'GET',
      pattern: /^\/admin\/sessions\/([^/]+)\/payment$/,
      async handle([sessionId]) {
        const payment = await deps.store.get(sessionId!);
        if (!payment) throw new NotFoundError(`session ${sessionId} has no card payment`);
        return json(200, paymentView(payment));
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/sessions\/([^/]+)\/refunds$/,
      async handle([sessionId], event) {
        if (transactionIdOf(sessionId!) === null) throw new ValidationError('sessionId must look like sess_<transactionId>', 'sessionId');
        const body = parseWith(RefundBody, event.body ? jsonBody(event) : {});
        const refunds = await deps.refunds.refund(sessionId!, body, requestKey(event));
        const payment = await deps.store.get(sessionId!);
        return json(201, { refunds, payment: payment ? paymentView(payment) : null });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/payment-policies\/(default|sites|charge-points)(?:\/([^/]+))?$/,
      async handle([segment, id]) {
        const scope = scopeOf(segment!);
        const policy = await deps.store.getPolicy(scope, scope === 'default' ? 'default' : id!);
        if (!policy) throw new NotFoundError(`no ${scope} payment policy${id ? ` for ${id}` : ''}`);
        return json(200, { scope, id: id ?? 'default', policy });
      },
    },
    {
      method: 'PUT',
      pattern: /^\/admin\/payment-policies\/(default|sites|charge-points)(?:\/([^/]+))?$/,
      async handle([segment, id], event) {
        const scope = scopeOf(segment!);
        if (scope !== 'default' && !id) throw new ValidationError(`give the ${scope} id in the path`, 'id');
        const policy = parsePaymentPolicy(jsonBody(event));
        await deps.store.putPolicy(scope, scope === 'default' ? 'default' : id!, policy, clock.now().toISOString());
        return json(200, { scope, id: id ?? 'default', policy });
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/admin\/payment-policies\/(default|sites|charge-points)(?:\/([^/]+))?$/,
      async handle([segment, id]) {
        const scope = scopeOf(segment!);
        if (scope !== 'default' && !id) throw new ValidationError(`give the ${scope} id in the path`, 'id');
        await deps.store.deletePolicy(scope, scope === 'default' ? 'default' : id!);
        return json(200, { scope, id: id ?? 'default', deleted: true });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/readers$/,
      async handle() {
        return json(200, { readers: await deps.readers.list() });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/readers\/([^/]+)$/,
      async handle([readerId]) {
        const reader = await deps.readers.get(readerId!);
        if (!reader) throw new NotFoundError(`reader ${readerId} is not registered`);
        return json(200, reader);
      },
    },
    {
      method: 'PUT',
      pattern: /^\/admin\/readers\/([^/]+)$/,
      async handle([readerId], event) {
        if (!/^tmr_[A-Za-z0-9]+$/.test(readerId!)) throw new ValidationError('readerId must be a Stripe Terminal reader id (tmr_...)', 'readerId');
        const body = parseWith(ReaderBody, jsonBody(event));
        return json(200, await deps.readers.register({ readerId: readerId!, ...body }));
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/readers\/([^/]+)\/arm$/,
      async handle([readerId], event) {
        return json(200, await deps.readers.arm(readerId!, requestKey(event)));
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/jobs\/release-unmatched-reader-payments$/,
      async handle() {
        return json(200, { released: await deps.readers.releaseUnmatched() });
      },
    },
  ];
}
