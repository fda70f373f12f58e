import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../shared/clock.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import type { Log } from '../shared/log.ts';
import { COMMAND_ACTIONS, type CentralSystem, type CommandAction } from '../ocpp/central-system.ts';
import type { OcppStores } from '../ocpp/deps.ts';
import { idTagKey, transactionIdOf, type SessionRecord } from '../ocpp/domain/model.ts';
import { hashPassword } from '../ocpp/domain/passwords.ts';
import { parseBillingProfile, parseTariff } from '../pricing/domain/index.ts';
import type { PriceReader } from '../pricing/domain/ports.ts';
import { errorResult, json, jsonBody, parseWith, type HttpEvent, type HttpResult } from '../shared/http.ts';
import { membershipRoutes, type MembershipAdminDeps } from './membership-routes.ts';
import { paymentRoutes } from './payment-routes.ts';
import type { PaymentDeps } from '../payments/deps.ts';
import { paymentView } from '../payments/domain/payment-view.ts';
import { fleetRoutes, type FleetAdminDeps } from './fleet-routes.ts';
import { roamingRoutes, type RoamingAdminDeps } from './roaming-routes.ts';
import { accountingRoutes, type AccountingAdminDeps } from './accounting-routes.ts';
import { sessionRoutes } from './session-routes.ts';
import { isTimeZone } from '../shared/time-zone.ts';

export interface AdminApiDeps {
  stores: OcppStores;
  /** Sessions' stored prices (pricing's; functions/pricing/deps.ts createPriceReader). */
  prices: PriceReader;
  system: Pick<CentralSystem, 'sendCommand' | 'completeIdleSessions'> & Partial<Pick<CentralSystem, 'closeStaleSessions'>>;
  clock: Clock;
  log: Log;
  /** When set, every request needs `Authorization: Bearer <token>` (local stack); on AWS, IAM auth guards the API. */
  adminToken?: string;
  /** Drivers, membership tiers, fleet accounts (the Entitlements table beyond idTags). */
  memberships?: MembershipAdminDeps;
  /** Card payments (session payment views, refunds, payment policies, Terminal readers); absent without Stripe. */
  payments?: PaymentDeps;
  /** Fleet accounts and statements (functions/fleet). */
  fleet?: FleetAdminDeps;
  /** Roaming partners, tokens, locations, CDRs, tariff export (functions/roaming). */
  roaming?: RoamingAdminDeps;
  /** Ledger, reconciliation, revenue assurance and the accounting sync (the Ledger table). */
  accounting?: AccountingAdminDeps;
}

/** How often a long poll for a command's answer reads it again. */
const COMMAND_POLL_MS = 100;

/** OCPP's charge point identity: what fits a URL path segment and an HTTP Basic username. */
const CHARGE_POINT_ID = /^[A-Za-z0-9._~-]{1,48}$/;

const ChargePointBody = z.strictObject({
  // OCPP 1.6 Security Profile 1/2 passwords are 16 to 40 characters.
  password: z.string().min(16).max(40).optional(),
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Berlin').optional(),
  tariffId: z.string().min(1).max(36).optional(),
  siteId: z.string().min(1).max(64).optional(),
  maxPowerKw: z.number().positive().max(2000).optional(),
});

const IdTagBody = z.strictObject({
  status: z.enum(['Accepted', 'Blocked', 'Expired', 'Invalid', 'ConcurrentTx']),
  expiryDate: z.iso.datetime({ offset: true }).optional(),
  parentIdTag: z.string().min(1).max(20).optional(),
  billing: z.record(z.string(), z.unknown()).optional(),
  tariffId: z.string().min(1).max(36).optional(),
});

const CommandBody = z.strictObject({
  action: z.enum(COMMAND_ACTIONS),
  payload: z.record(z.string(), z.unknown()).default({}),
});

type Route = { method: string; pattern: RegExp; handle: (match: string[], event: HttpEvent) => Promise<HttpResult> };

/**
 * The admin HTTP API: charge points, id tags, tariffs, sessions and commands to charge points.
 * Shaped as an API Gateway HTTP API handler; the local stack serves it on the OCPP port.
 */
export function createAdminApi(deps: AdminApiDeps) {
  const { stores, system, clock, log } = deps;

  async function sessionView(session: SessionRecord) {
    const [samples, statusTimeline, price, payment, chargePoint] = await Promise.all([
      stores.sessions.samples(session.transactionId),
      stores.registry.statusTimeline(session.chargePointId, session.connectorId, session.startedAt),
      deps.prices.getPrice(session.transactionId),
      deps.payments?.store.get(session.sessionId),
      stores.registry.getChargePoint(session.chargePointId),
    ]);
    return {
      ...session,
      lifecycle: session.state,
      // The priced session (totals in OCPI CDR terms, line items, periods), once priced.
      price: price ? JSON.parse(price.priceJson) : null,
      // The card payment (provider, PaymentIntent ids, status, amounts authorized/captured/refunded), when a card pays.
      payment: payment ? paymentView(payment) : null,
      meterSamples: samples,
      // The connector's statuses from the start until completion (or until now while it runs).
      statusTimeline: statusTimeline.filter((s) => !session.completedAt || s.timestamp <= session.completedAt),
      // The clock policy (docs/clocks.md): the session's own record is `clock` (start and stop as
      // reported, received and used; notes; a review hold); this is the charge point's latest measurement.
      chargePointClock: chargePoint?.clock ?? null,
    };
  }

  const routes: Route[] = [
    {
      method: 'PUT',
      pattern: /^\/admin\/charge-points\/([^/]+)$/,
      async handle([id], event) {
        if (!CHARGE_POINT_ID.test(id!)) throw new ValidationError('chargePointId must be 1-48 characters of A-Z a-z 0-9 . _ ~ -', 'chargePointId');
        const body = parseWith(ChargePointBody, jsonBody(event));
        const existing = await stores.registry.getChargePoint(id!);
        if (!existing && !body.password) throw new ValidationError('password is required for a new charge point', 'password');
        const saved = await stores.registry.upsertChargePoint(
          id!,
          {
            ...(body.password ? { passwordHash: await hashPassword(body.password) } : {}),
            timeZone: body.timeZone ?? existing?.timeZone ?? 'UTC',
            tariffId: body.tariffId,
            siteId: body.siteId,
            maxPowerKw: body.maxPowerKw,
          },
          clock.now().toISOString(),
        );
        return json(existing ? 200 : 201, publicChargePoint(saved));
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/charge-points\/([^/]+)$/,
      async handle([id]) {
        const chargePoint = await stores.registry.getChargePoint(id!);
        if (!chargePoint) throw new NotFoundError(`charge point ${id} does not exist`);
        const [connectors, recentNotifications] = await Promise.all([stores.registry.connectorStatuses(id!), stores.registry.notifications(id!)]);
        return json(200, { ...publicChargePoint(chargePoint), online: Boolean(chargePoint.connectionId), connectors, recentNotifications });
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/charge-points\/([^/]+)\/commands$/,
      async handle([id], event) {
        const body = parseWith(CommandBody, jsonBody(event));
        const call = await system.sendCommand(id!, body.action as CommandAction, body.payload);
        return json(202, call);
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/charge-points\/([^/]+)\/commands\/([^/]+)$/,
      async handle([id, messageId], event) {
        const wait = Math.min(Number(event.queryStringParameters?.waitSeconds ?? 0) || 0, 25);
        // A long poll of at most `wait` seconds, counted in polls (a real-time wait, not business
        // time: it reads no clock).
        const polls = Math.ceil((wait * 1000) / COMMAND_POLL_MS);
        for (let poll = 0; ; poll++) {
          const call = await stores.registry.getPendingCall(id!, messageId!);
          if (!call) throw new NotFoundError(`no command ${messageId} for charge point ${id}`);
          if (call.state !== 'pending' || poll >= polls) return json(200, call);
          await new Promise((r) => setTimeout(r, COMMAND_POLL_MS));
        }
      },
    },
    {
      method: 'PUT',
      pattern: /^\/admin\/id-tags\/([^/]+)$/,
      async handle([idTag], event) {
        if (idTag!.length > 20) throw new ValidationError('idTag must be at most 20 characters (OCPP CiString20)', 'idTag');
        const body = parseWith(IdTagBody, jsonBody(event));
        if (body.billing !== undefined) {
          try {
            parseBillingProfile(body.billing);
          } catch (error) {
            if (error instanceof ValidationError) throw new ValidationError(error.message, `billing.${error.path}`, { cause: error });
            throw error;
          }
        }
        const existing = await stores.entitlements.get(idTag!);
        if (existing?.driverId) {
          // A driver's idTag is priced by the driver's membership; the operator sets its status.
          if (body.billing !== undefined) throw new ValidationError(`billing of idTag ${idTagKey(idTag!)} follows driver ${existing.driverId}; change the driver instead`, 'billing');
          const { status, ...rest } = body;
          const record = { ...existing, ...rest, status, baseStatus: status, updatedAt: clock.now().toISOString() };
          await stores.entitlements.put(record);
          await deps.memberships?.sync.applyDriver(existing.driverId);
          return json(200, (await stores.entitlements.get(idTag!)) ?? record);
        }
        // The operator's fields replace the record; a running session's hold (ConcurrentTx) stays.
        const activeSession = existing?.activeSession;
        const record = { idTag: idTag!, ...body, ...(activeSession ? { activeSession } : {}), updatedAt: clock.now().toISOString() };
        await stores.entitlements.put(record);
        return json(existing ? 200 : 201, record);
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/id-tags\/([^/]+)$/,
      async handle([idTag]) {
        const record = await stores.entitlements.get(idTag!);
        if (!record) throw new NotFoundError(`idTag ${idTagKey(idTag!)} is not known`);
        return json(200, record);
      },
    },
    {
      method: 'PUT',
      pattern: /^\/admin\/tariffs\/([^/]+)$/,
      async handle([tariffId], event) {
        const body = jsonBody(event);
        parseTariff(body);
        if ((body as { id?: unknown }).id !== tariffId) throw new ValidationError(`id must equal the tariff id in the path (${tariffId})`, 'id');
        const stored = await stores.tariffs.putNewVersion(tariffId!, JSON.stringify(body), clock.now().toISOString());
        return json(201, { tariffId: stored.tariffId, version: stored.version, createdAt: stored.createdAt, tariff: body });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/tariffs\/([^/]+)$/,
      async handle([tariffId], event) {
        const versionParam = event.queryStringParameters?.version;
        const version = versionParam === undefined ? undefined : Number(versionParam);
        if (version !== undefined && !(Number.isInteger(version) && version > 0)) throw new ValidationError('version must be a positive integer', 'version');
        const stored = await stores.tariffs.get(tariffId!, version);
        if (!stored) throw new NotFoundError(`tariff ${tariffId}${version ? ` version ${version}` : ''} does not exist`);
        return json(200, { tariffId: stored.tariffId, version: stored.version, createdAt: stored.createdAt, tariff: JSON.parse(stored.tariffJson) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/sessions\/([^/]+)$/,
      async handle([sessionId]) {
        const transactionId = transactionIdOf(sessionId!);
        const session = transactionId === null ? undefined : await stores.sessions.getSession(transactionId);
        if (!session) throw new NotFoundError(`session ${sessionId} does not exist`);
        return json(200, await sessionView(session));
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/sessions$/,
      async handle(_match, event) {
        const { chargePointId, transactionId } = event.queryStringParameters ?? {};
        if (transactionId !== undefined) {
          if (!/^[1-9]\d{0,15}$/.test(transactionId)) throw new ValidationError('transactionId must be a positive integer', 'transactionId');
          const session = await stores.sessions.getSession(Number(transactionId));
          if (!session || (chargePointId !== undefined && session.chargePointId !== chargePointId)) {
            throw new NotFoundError(`no session with transactionId ${transactionId}${chargePointId ? ` on ${chargePointId}` : ''}`);
          }
          return json(200, await sessionView(session));
        }
        if (!chargePointId) throw new ValidationError('give chargePointId (and optionally transactionId)', 'chargePointId');
        const sessions = await stores.sessions.listSessions(chargePointId, 100);
        return json(200, { sessions });
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/jobs\/complete-idle-sessions$/,
      async handle() {
        return json(200, { completed: await system.completeIdleSessions() });
      },
    },
    ...sessionRoutes(stores, system, clock),
    ...(deps.memberships ? membershipRoutes(deps.memberships, clock, log) : []),
    ...(deps.payments ? paymentRoutes(deps.payments, clock) : []),
    ...(deps.fleet ? fleetRoutes(deps.fleet, clock) : []),
    ...(deps.roaming ? roamingRoutes(deps.roaming) : []),
    ...(deps.accounting ? accountingRoutes(deps.accounting, clock) : []),
  ];

  function authorized(event: HttpEvent): boolean {
    if (!deps.adminToken) return true;
    const header = Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === 'authorization')?.[1] ?? '';
    const given = Buffer.from(header);
    const expected = Buffer.from(`Bearer ${deps.adminToken}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  return async function handle(event: HttpEvent): Promise<HttpResult> {
    if (!authorized(event)) return { ...json(401, { error: 'Unauthorized', message: 'Authorization: Bearer <ADMIN_TOKEN> required' }), headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' } };
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath.replace(/\/+$/, '') || '/';
    let pathMatched = false;
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      try {
        return await route.handle(match.slice(1).map((m) => decodeURIComponent(m)), event);
      } catch (error) {
        try {
          return errorResult(error);
        } catch {
          log.error('admin request failed', { method, path, error: String(error) });
          return json(500, { error: 'InternalError', message: 'the request could not be processed' });
        }
      }
    }
    return pathMatched ? json(405, { error: 'MethodNotAllowed', message: `${method} is not allowed on ${path}` }) : json(404, { error: 'NotFound', message: `no route ${method} ${path}` });
  };
}

function publicChargePoint(profile: Awaited<ReturnType<OcppStores['registry']['getChargePoint']>> & object) {
  const { passwordHash: _hidden, ...rest } = profile;
  return { ...rest, hasPassword: Boolean(profile.passwordHash) };
}

