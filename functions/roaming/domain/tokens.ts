import { ValidationError } from '../../shared/errors.ts';
import type { OcpiToken, RoamingPartner } from './model.ts';

/** OCPP 1.6 idTags are CiString20. */
const ID_TAG_MAX = 20;

/** OCPP 1.6 AuthorizationStatus: what Authorize answers for an idTag. */
export type AuthorizationStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'ConcurrentTx';

/** OCPP idTags are CiString20: compared case-insensitively, so records are keyed by the upper-case form. */
export function idTagKey(idTag: string): string {
  return idTag.toUpperCase();
}

/**
 * An idTag record of the entitlement cache (the record Authorize answers from), as roaming writes
 * it for a partner's token and reads it back. Fields roaming does not write (a local card's driver,
 * say) are kept as they are read.
 */
export interface IdTagEntitlement {
  idTag: string;
  status: AuthorizationStatus;
  expiryDate?: string;
  parentIdTag?: string;
  /** The billing profile; `{kind: 'roaming', partnerId}` for a partner's token. */
  billing?: Record<string, unknown>;
  tariffId?: string;
  blockedReason?: string;
  /** The transaction the idTag is charging in (single-session enforcement); kept across a token update. */
  activeSession?: { transactionId: number; chargePointId: string; since: string };
  updatedAt: string;
}

/**
 * How a partner's OCPI token answers OCPP Authorize, from the entitlement cache (no request to the
 * eMSP; VoltLedger does not implement OCPI real-time authorization):
 * - `valid: false` -> Blocked;
 * - whitelist `ALWAYS` or `ALLOWED` -> Accepted (whitelisting is allowed, so the cache decides);
 * - whitelist `NEVER` -> Invalid: OCPI forbids whitelisting it, and real-time authorization is not
 *   available, so it cannot be accepted;
 * - whitelist `ALLOWED_OFFLINE` -> Invalid as well: it may be whitelisted only while the eMSP is
 *   unreachable, and VoltLedger never asked, so it is treated like NEVER;
 * - a partner that is not `active` -> Blocked.
 */
export function authorizationFor(token: OcpiToken, partner: RoamingPartner): { status: AuthorizationStatus; reason?: string } {
  if (!partner.active) return { status: 'Blocked', reason: `roaming partner ${partner.partnerId} is not active` };
  if (!token.valid) return { status: 'Blocked', reason: 'OCPI token valid=false' };
  if (token.whitelist === 'NEVER' || token.whitelist === 'ALLOWED_OFFLINE') {
    return { status: 'Invalid', reason: `OCPI whitelist ${token.whitelist}: needs real-time authorization with the eMSP, which VoltLedger does not do` };
  }
  return { status: 'Accepted' };
}

/**
 * The entitlement-cache record for a partner's token: idTag = the token uid, billing
 * `{kind: 'roaming', partnerId}`, the partner's token tariff if it has one, and `group_id` as the
 * parentIdTag (OCPI groups tokens that work as one, as OCPP's parentIdTag does).
 *
 * @throws ValidationError when the token cannot be an OCPP 1.6 idTag or is not the partner's.
 */
export function entitlementForToken(token: OcpiToken, partner: RoamingPartner, now: string): IdTagEntitlement {
  if (token.country_code.toUpperCase() !== partner.countryCode || token.party_id.toUpperCase() !== partner.partyId) {
    throw new ValidationError(`token ${token.uid} belongs to ${token.country_code}/${token.party_id}, partner ${partner.partnerId} is ${partner.countryCode}/${partner.partyId}`, 'party_id');
  }
  if (token.uid.length > ID_TAG_MAX) {
    throw new ValidationError(`uid ${token.uid} is ${token.uid.length} characters; an OCPP 1.6 idTag is at most ${ID_TAG_MAX}, so a charge point cannot present it`, 'uid');
  }
  const { status, reason } = authorizationFor(token, partner);
  return {
    idTag: token.uid,
    status,
    ...(token.group_id && token.group_id.length <= ID_TAG_MAX ? { parentIdTag: token.group_id } : {}),
    billing: { kind: 'roaming', partnerId: partner.partnerId },
    ...(partner.tokenTariffId ? { tariffId: partner.tokenTariffId } : {}),
    ...(reason ? { blockedReason: reason } : {}),
    updatedAt: now,
  };
}
