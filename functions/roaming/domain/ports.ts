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
