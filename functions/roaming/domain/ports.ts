import type { OutgoingEvent } from '../../../events/contract.ts';
import type { DecimalPrice, OcpiCdrDocument, OcpiTariffDocument } from './cdr.ts';
import type { PushAnswer } from './delivery.ts';
import type { CdrRecord, DeliveryAttempt, OcpiToken, RoamingPartner, SiteLocation } from './model.ts';
import type { IdTagEntitlement } from './tokens.ts';

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
// What roaming reads and writes of other contexts' records, declared as roaming needs it and
// implemented by roaming's own adapters (functions/roaming/adapters) over the shared tables.
// ---------------------------------------------------------------------------------------------

/** The entitlement cache (the IDTAG records Authorize reads), where partners' tokens become idTags. */
export interface EntitlementCache {
  get(idTag: string): Promise<IdTagEntitlement | undefined>;
  put(record: IdTagEntitlement): Promise<void>;
}

/** A priced session's price as pricing stored it (the PricedSession JSON), for its CDR. */
export interface SessionPriceReader {
  getPrice(transactionId: number): Promise<{ priceJson: string } | undefined>;
}

/** Stored tariffs: a version (the current one without `version`), its JSON exactly as accepted. */
export interface TariffReader {
  get(tariffId: string, version?: number): Promise<{ tariffId: string; version: number; tariffJson: string } | undefined>;
}

/**
 * Pricing's tariff rules as roaming uses them: the OCPI export of a stored tariff and the repricing
 * of a CDR under it (a check that the CDR says what the session cost).
 */
export interface TariffRules {
  /** The stored tariff JSON as OCPI 2.2.1 says it, and what the export had to drop. */
  exportToOcpi(tariffJson: string): { tariff: OcpiTariffDocument; dropped: string[] };
  /** The CDR's total cost priced under the exported tariff in `timeZone` (exact decimal texts). */
  repriceCdr(tariff: OcpiTariffDocument, cdr: OcpiCdrDocument, timeZone: string): DecimalPrice;
}

/** Publishes roaming's events; throws when any is not accepted. */
export interface RoamingEventPort {
  publish(events: OutgoingEvent[]): Promise<void>;
}
