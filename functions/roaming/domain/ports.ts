import type { PushAnswer } from './delivery.ts';
import type { CdrRecord, DeliveryAttempt, OcpiToken, RoamingPartner, SiteLocation } from './model.ts';

/** A partner's token as stored: the OCPI object and whose it is. */
export interface StoredToken {
  partnerId: string;
  token: OcpiToken;
  updatedAt: string;
}

/** The Roaming table. */
export interface RoamingStore {
  getPartner(partnerId: string): Promise<RoamingPartner | undefined>;
  putPartner(partner: RoamingPartner): Promise<void>;
  /** The token presented as this idTag (its uid, case-insensitive, as OCPP compares idTags). */
  getToken(idTag: string): Promise<StoredToken | undefined>;
  putToken(token: StoredToken): Promise<void>;
  getLocation(siteId: string): Promise<SiteLocation | undefined>;
  putLocation(location: SiteLocation): Promise<void>;
  getCdr(cdrId: string): Promise<CdrRecord | undefined>;
  /** Stores a CDR unless one with its id exists; returns the one on record. */
  createCdr(record: CdrRecord): Promise<CdrRecord>;
  /** Replaces a held CDR (it was never sent) with its built document. */
  replaceHeldCdr(record: CdrRecord): Promise<boolean>;
  /** Counts an attempt and returns its number. */
  /** Claims the push of a CDR until `until`; false when accepted already or another delivery holds it. */
  claimPush(cdrId: string, at: string, until: string): Promise<boolean>;
  releasePush(cdrId: string): Promise<void>;
  nextAttempt(cdrId: string, at: string): Promise<number>;
  recordAttempt(cdrId: string, attempt: DeliveryAttempt): Promise<void>;
  attempts(cdrId: string): Promise<DeliveryAttempt[]>;
  /** Sets the delivery status; `accepted` is final (returns the first acceptance on record). */
  setStatus(cdrId: string, status: Exclude<CdrRecord['status'], 'held'>, fields: Partial<Pick<CdrRecord, 'reason' | 'acceptedAt' | 'partnerLocation'>>): Promise<CdrRecord>;
  /** Links a credit CDR to its original, once; false when another credit got there first. */
  markCredited(cdrId: string, creditCdrId: string): Promise<boolean>;
  listCdrs(partnerId: string): Promise<CdrRecord[]>;
}

/** POSTs a CDR to a partner's CDRs endpoint. */
export interface CdrPusher {
  push(url: string, token: string, cdrJson: string): Promise<PushAnswer>;
}

// ---------------------------------------------------------------------------------------------
// What roaming reads and writes in the OCPP gateway's tables, declared as roaming needs it. The
// composition root (functions/roaming/deps.ts) passes the OCPP context's stores, which satisfy
// these structurally.
// ---------------------------------------------------------------------------------------------

/**
 * The entitlement cache (the IDTAG records Authorize reads), where partners' tokens become idTags.
 * `Entitlement` is the record as the OCPP context defines it (roaming writes it whole and answers
 * with it), so it is a parameter here rather than a copy of that context's model.
 */
export interface EntitlementCache<Entitlement> {
  get(idTag: string): Promise<Entitlement | undefined>;
  put(record: Entitlement): Promise<void>;
}

/** A priced session's price as stored (the PricedSession JSON), for its CDR. */
export interface SessionPriceReader {
  getPrice(transactionId: number): Promise<{ priceJson: string } | undefined>;
}

/** Stored tariffs: a version (the current one without `version`), its JSON exactly as accepted. */
export interface TariffReader {
  get(tariffId: string, version?: number): Promise<{ tariffId: string; version: number; tariffJson: string } | undefined>;
}
