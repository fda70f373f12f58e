import { z } from 'zod';
import { OcpiTokenSchema, RoamingPartnerSchema, SiteLocationSchema } from '../roaming/domain/model.ts';
import { CdrStateError, TokenConflictError, type Roaming } from '../roaming/roaming-service.ts';
import { ValidationError } from '../shared/errors.ts';
import { json, jsonBody, parseWith, type HttpEvent, type HttpResult } from '../shared/http.ts';

/** The roaming service the admin API drives. */
export type RoamingAdminDeps = Roaming;

type Route = { method: string; pattern: RegExp; handle: (match: string[], event: HttpEvent) => Promise<HttpResult> };

const SLUG = /^[A-Za-z0-9_.:-]{1,64}$/;
const slug = (field: string, value: string) => {
  if (!SLUG.test(value)) throw new ValidationError(`${field} must be 1-64 letters, digits or _.:-`, field);
};
const CreditBody = z.strictObject({ remark: z.string().min(1).max(255).optional() });

async function conflicts(run: () => Promise<HttpResult>): Promise<HttpResult> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof TokenConflictError || error instanceof CdrStateError) return json(409, { error: error.name, message: error.message });
    throw error;
  }
}

/**
 * Roaming admin routes (OCPI 2.2.1, CPO side): partners, their tokens (PUT shaped like OCPI's
 * Tokens receiver interface, or a bulk import), site locations, the tariffs exported to a partner,
 * and CDRs (view with every delivery attempt, push again, credit).
 */
export function roamingRoutes(roaming: Roaming): Route[] {
  return [
    {
      method: 'PUT',
      pattern: /^\/admin\/roaming\/partners\/([^/]+)$/,
      async handle([partnerId], event) {
        slug('partnerId', partnerId!);
        const { partner, created } = await roaming.putPartner(partnerId!, parseWith(RoamingPartnerSchema, jsonBody(event)));
        const { token: _secret, ...shown } = partner;
        return json(created ? 201 : 200, { ...shown, hasToken: true });
      },
    },
    { method: 'GET', pattern: /^\/admin\/roaming\/partners\/([^/]+)$/, handle: async ([partnerId]) => json(200, await roaming.getPartner(partnerId!)) },
    { method: 'GET', pattern: /^\/admin\/roaming\/partners\/([^/]+)\/tariffs$/, handle: async ([partnerId]) => json(200, await roaming.exportTariffs(partnerId!)) },
    { method: 'GET', pattern: /^\/admin\/roaming\/partners\/([^/]+)\/cdrs$/, handle: async ([partnerId]) => json(200, { cdrs: await roaming.listCdrs(partnerId!) }) },
    {
      // OCPI 2.2.1 Tokens receiver: PUT {tokens_endpoint_url}/{country_code}/{party_id}/{token_uid}[?type={type}]
      method: 'PUT',
      pattern: /^\/admin\/roaming\/partners\/([^/]+)\/tokens\/([^/]+)\/([^/]+)\/([^/]+)$/,
      handle: ([partnerId, countryCode, partyId, uid], event) =>
        conflicts(async () => {
          const token = parseWith(OcpiTokenSchema, jsonBody(event));
          const type = event.queryStringParameters?.type;
          return json(200, await roaming.putToken(partnerId!, token, { countryCode: countryCode!, partyId: partyId!, uid: uid!, ...(type ? { type } : {}) }));
        }),
    },
    {
      // Bulk import: every token is checked first; any error (index and field named) and nothing is written.
      method: 'POST',
      pattern: /^\/admin\/roaming\/partners\/([^/]+)\/tokens$/,
      handle: ([partnerId], event) =>
        conflicts(async () => {
          const tokens = parseWith(z.array(OcpiTokenSchema).min(1).max(1000), jsonBody(event));
          for (const [index, token] of tokens.entries()) {
            try {
              await roaming.checkToken(partnerId!, token);
            } catch (error) {
              if (error instanceof ValidationError) throw new ValidationError(`[${index}]: ${error.message}`, `[${index}].${error.path}`, { cause: error });
              if (error instanceof TokenConflictError) throw new TokenConflictError(`[${index}]: ${error.message}`);
              throw error;
            }
          }
          const results = [];
          for (const token of tokens) results.push(await roaming.putToken(partnerId!, token));
          return json(200, { imported: results.length, idTags: results.map((r) => ({ idTag: r.entitlement.idTag, status: r.entitlement.status })) });
        }),
    },
    { method: 'GET', pattern: /^\/admin\/roaming\/tokens\/([^/]+)$/, handle: async ([idTag]) => json(200, await roaming.getToken(idTag!)) },
    {
      method: 'PUT',
      pattern: /^\/admin\/roaming\/locations\/([^/]+)$/,
      async handle([siteId], event) {
        slug('siteId', siteId!);
        return json(200, await roaming.putLocation(siteId!, parseWith(SiteLocationSchema, jsonBody(event))));
      },
    },
    { method: 'GET', pattern: /^\/admin\/roaming\/cdrs\/([^/]+)$/, handle: async ([cdrId]) => json(200, await roaming.getCdr(cdrId!)) },
    { method: 'POST', pattern: /^\/admin\/roaming\/cdrs\/([^/]+)\/push$/, handle: ([cdrId]) => conflicts(async () => json(200, await roaming.push(cdrId!))) },
    {
      method: 'POST',
      pattern: /^\/admin\/roaming\/cdrs\/([^/]+)\/credit$/,
      handle: ([cdrId], event) =>
        conflicts(async () => {
          const body = event.body?.trim() ? parseWith(CreditBody, jsonBody(event)) : {};
          const { cdrJson: _doc, ...record } = await roaming.credit(cdrId!, body.remark);
          return json(200, record);
        }),
    },
  ];
}
