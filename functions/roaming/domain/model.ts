import { z } from 'zod';

/** OCPI CiString: printable ASCII only. */
const ciString = (max: number, what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .max(max, `${what} is at most ${max} characters`)
    .regex(/^[\x20-\x7E]*$/, `${what} must be printable ASCII (OCPI CiString)`);

const ocpiDateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|z)?$/, 'must be an OCPI DateTime (RFC 3339, UTC)');

/** OCPI 2.2.1 TokenType. */
export const TOKEN_TYPES = ['AD_HOC_USER', 'APP_USER', 'OTHER', 'RFID'] as const;
/** OCPI 2.2.1 WhitelistType. */
export const WHITELIST_TYPES = ['ALWAYS', 'ALLOWED', 'ALLOWED_OFFLINE', 'NEVER'] as const;

/**
 * An OCPI 2.2.1 Token as an eMSP pushes it (mod_tokens, Token object), strictly validated: an
 * unknown field is an error naming it.
 */
export const OcpiTokenSchema = z.strictObject({
  country_code: z.string().regex(/^[A-Za-z]{2}$/, 'country_code is an ISO 3166-1 alpha-2 code'),
  party_id: z.string().regex(/^[A-Za-z0-9]{3}$/, 'party_id is 3 letters or digits'),
  uid: ciString(36, 'uid'),
  type: z.enum(TOKEN_TYPES),
  contract_id: ciString(36, 'contract_id'),
  visual_number: z.string().max(64).optional(),
  issuer: z.string().min(1).max(64),
  group_id: ciString(36, 'group_id').optional(),
  valid: z.boolean(),
  whitelist: z.enum(WHITELIST_TYPES),
  language: z.string().regex(/^[a-z]{2}$/, 'language is an ISO 639-1 code').optional(),
  default_profile_type: z.enum(['CHEAP', 'FAST', 'GREEN', 'REGULAR']).optional(),
  energy_contract: z.strictObject({ supplier_name: z.string().min(1).max(64), contract_id: z.string().max(64).optional() }).optional(),
  last_updated: ocpiDateTime,
});
export type OcpiToken = z.infer<typeof OcpiTokenSchema>;

/** A roaming partner (eMSP) as the admin API takes it. */
export const RoamingPartnerSchema = z.strictObject({
  name: z.string().min(1).max(128),
  /** The eMSP's OCPI party: its tokens carry these. */
  countryCode: z.string().regex(/^[A-Z]{2}$/, 'countryCode is an upper-case ISO 3166-1 alpha-2 code'),
  partyId: z.string().regex(/^[A-Z0-9]{3}$/, 'partyId is 3 upper-case letters or digits'),
  /** The eMSP's CDRs receiver endpoint (OCPI 2.2.1 `cdrs` module, receiver interface): CDRs are POSTed here. */
  cdrsUrl: z.url({ protocol: /^https?$/, error: 'cdrsUrl must be an http(s) URL' }),
  /** The credentials token the eMSP gave us, sent as `Authorization: Token <base64(token)>`. */
  token: z.string().min(8).max(256),
  /** The CPO tariffs published to this partner (OCPI Tariffs module); a roaming session is priced with one of them. */
  tariffIds: z.array(z.string().min(1).max(36)).max(50).default([]),
  /** A tariff every token of this partner charges at, wherever (else the charge point's, which must be published). */
  tokenTariffId: z.string().min(1).max(36).optional(),
  /** false: no CDR is pushed (they wait as `held`) and its tokens are refused. */
  active: z.boolean().default(true),
});
export type RoamingPartnerInput = z.infer<typeof RoamingPartnerSchema>;
export interface RoamingPartner extends RoamingPartnerInput {
  partnerId: string;
  updatedAt: string;
}

const CONNECTOR_STANDARDS = [
  'CHADEMO', 'CHAOJI', 'DOMESTIC_A', 'DOMESTIC_B', 'DOMESTIC_C', 'DOMESTIC_D', 'DOMESTIC_E', 'DOMESTIC_F', 'DOMESTIC_G', 'DOMESTIC_H', 'DOMESTIC_I', 'DOMESTIC_J',
  'DOMESTIC_K', 'DOMESTIC_L', 'DOMESTIC_M', 'DOMESTIC_N', 'DOMESTIC_O', 'GBT_AC', 'GBT_DC', 'IEC_60309_2_single_16', 'IEC_60309_2_three_16', 'IEC_60309_2_three_32',
  'IEC_60309_2_three_64', 'IEC_62196_T1', 'IEC_62196_T1_COMBO', 'IEC_62196_T2', 'IEC_62196_T2_COMBO', 'IEC_62196_T3A', 'IEC_62196_T3C', 'NEMA_5_20', 'NEMA_6_30',
  'NEMA_6_50', 'NEMA_10_30', 'NEMA_10_50', 'NEMA_14_30', 'NEMA_14_50', 'PANTOGRAPH_BOTTOM_UP', 'PANTOGRAPH_TOP_DOWN', 'TESLA_R', 'TESLA_S',
] as const;

/** An OCPI connector: standard, format, power type (mod_locations). */
export const ConnectorSpecSchema = z.strictObject({
  standard: z.enum(CONNECTOR_STANDARDS),
  format: z.enum(['SOCKET', 'CABLE']),
  power_type: z.enum(['AC_1_PHASE', 'AC_2_PHASE', 'AC_2_PHASE_SPLIT', 'AC_3_PHASE', 'DC']),
});
export type ConnectorSpec = z.infer<typeof ConnectorSpecSchema>;

/**
 * A site as OCPI CDRs describe it (CdrLocation): the address and coordinates of the site, and its
 * connectors: `defaultConnector`, or per `<chargePointId>/<connectorId>` in `connectors`.
 */
export const SiteLocationSchema = z.strictObject({
  name: z.string().min(1).max(255).optional(),
  address: z.string().min(1).max(45),
  city: z.string().min(1).max(45),
  postal_code: z.string().min(1).max(10).optional(),
  state: z.string().min(1).max(20).optional(),
  country: z.string().regex(/^[A-Z]{3}$/, 'country is an ISO 3166-1 alpha-3 code such as DEU'),
  coordinates: z.strictObject({
    latitude: z.string().regex(/^-?[0-9]{1,2}\.[0-9]{5,7}$/, 'latitude is decimal degrees with 5-7 decimals, such as "52.52000"'),
    longitude: z.string().regex(/^-?[0-9]{1,3}\.[0-9]{5,7}$/, 'longitude is decimal degrees with 5-7 decimals, such as "13.40500"'),
  }),
  defaultConnector: ConnectorSpecSchema,
  connectors: z.record(z.string().regex(/^[^/]+\/\d+$/, 'keys are <chargePointId>/<connectorId>'), ConnectorSpecSchema).default({}),
});
export type SiteLocationInput = z.infer<typeof SiteLocationSchema>;
export interface SiteLocation extends SiteLocationInput {
  siteId: string;
  updatedAt: string;
}

/** Where a CDR stands with its partner. */
export type CdrStatus = 'pending' | 'accepted' | 'rejected' | 'failed' | 'held';

/** One answer (or its absence) from the partner's CDR endpoint. */
export interface DeliveryAttempt {
  attempt: number;
  at: string;
  /** HTTP status, when an answer came. */
  httpStatus?: number;
  /** OCPI status_code of the answer's envelope. */
  ocpiStatus?: number;
  message?: string;
  /** The `Location` the partner answered (where the CDR lives in its system). */
  location?: string;
  outcome: 'accepted' | 'rejected' | 'retry';
}

/** A CDR as VoltLedger keeps it: the document exactly as sent, never edited; its delivery state beside it. */
export interface CdrRecord {
  cdrId: string;
  partnerId: string;
  sessionId: string;
  credit: boolean;
  creditsCdrId?: string;
  /** The OCPI CDR JSON, byte for byte what is POSTed. */
  cdrJson: string;
  currency: string;
  exclVatMinor: number;
  vatMinor: number;
  inclVatMinor: number;
  status: CdrStatus;
  /** Why a CDR is held, rejected or failed. */
  reason?: string;
  createdAt: string;
  attempts: number;
  lastAttemptAt?: string;
  acceptedAt?: string;
  partnerLocation?: string;
  /** The credit CDR issued for this one, once. */
  creditedBy?: string;
  /** Repricing the CDR with `priceCdr` under the tariff in it gave the same total (it always should). */
  repricedTotal?: { excl_vat: string; incl_vat: string; matches: boolean };
}
