import { z } from 'zod';
import type { Clock } from '../shared/clock.ts';
import { ValidationError } from '../shared/errors.ts';
import type { CentralSystem } from '../ocpp/central-system.ts';
import type { OcppStores } from '../ocpp/deps.ts';
import { json, parseWith, type HttpEvent, type HttpResult } from '../shared/http.ts';

type Route = { method: string; pattern: RegExp; handle: (match: string[], event: HttpEvent) => Promise<HttpResult> };

const DAY_MS = 86_400_000;
/** The longest window one listing reads (one DynamoDB partition per UTC day). */
const MAX_WINDOW_DAYS = 31;

const UnmatchedQuery = z.strictObject({
  chargePointId: z.string().regex(/^[A-Za-z0-9._~-]{1,48}$/, 'must be 1-48 characters of A-Z a-z 0-9 . _ ~ -').optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: z.string().regex(/^[1-9]\d{0,2}$/, 'must be an integer from 1 to 100').transform(Number).refine((n) => n <= 100, 'must be an integer from 1 to 100').optional(),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,2000}$/, 'must be the nextCursor of a previous page').optional(),
});

/**
 * Sessions that would never end (docs/sessions.md): the StopTransaction and MeterValues messages
 * no session took (unknown or made-up transactionIds, unmatched `-1`s, stops after a close), and the
 * sweep that closes sessions open past SESSION_MAX_OPEN_HOURS, on demand.
 */
export function sessionRoutes(stores: Pick<OcppStores, 'sessions'>, system: Partial<Pick<CentralSystem, 'closeStaleSessions'>>, clock: Clock): Route[] {
  const { closeStaleSessions } = system;
  return [
    {
      method: 'GET',
      pattern: /^\/admin\/unmatched$/,
      async handle(_match, event) {
        const query = parseWith(UnmatchedQuery, event.queryStringParameters ?? {});
        const to = query.to ? new Date(query.to).toISOString() : clock.now().toISOString();
        const from = query.from ? new Date(query.from).toISOString() : new Date(Date.parse(to) - 7 * DAY_MS).toISOString();
        if (from > to) throw new ValidationError('must not be after to', 'from');
        if (Date.parse(to) - Date.parse(from) > MAX_WINDOW_DAYS * DAY_MS) throw new ValidationError(`from and to may be at most ${MAX_WINDOW_DAYS} days apart`, 'from');
        if (query.cursor !== undefined) {
          let cursor: unknown;
          try {
            cursor = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8'));
          } catch {
            cursor = undefined;
          }
          const valid = typeof cursor === 'object' && cursor !== null && /^UNMATCHED#\d{4}-\d{2}-\d{2}$/.test(String((cursor as { pk?: unknown }).pk)) && typeof (cursor as { sk?: unknown }).sk === 'string';
          if (!valid) throw new ValidationError('must be the nextCursor of a previous page', 'cursor');
        }
        const page = await stores.sessions.listUnmatched({
          from,
          to,
          limit: query.limit ?? 50,
          ...(query.chargePointId ? { chargePointId: query.chargePointId } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        });
        return json(200, { from, to, unmatched: page.items, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
      },
    },
    ...(closeStaleSessions
      ? [
          {
            method: 'POST',
            pattern: /^\/admin\/jobs\/close-stale-sessions$/,
            async handle() {
              return json(200, { closed: await closeStaleSessions() });
            },
          },
        ]
      : []),
  ];
}
