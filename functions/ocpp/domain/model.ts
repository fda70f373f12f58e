import { parseOcppTimestamp, type ClockMeasurement, type SessionClock } from './clock-skew.ts';

/** Records the OCPP gateway keeps, independent of where they are stored. */

export type AuthorizationStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'ConcurrentTx';

/** OCPP 1.6 IdTagInfo as answered in Authorize.conf, StartTransaction.conf and StopTransaction.conf. */
export interface IdTagInfo {
  status: AuthorizationStatus;
  expiryDate?: string;
  parentIdTag?: string;
}

/**
 * What VoltLedger knows about an idTag (RFID card, app token, roaming token). `billing` is the
 * billing profile later capabilities fill in (who pays and how); it is snapshotted into each session.
 */
export interface EntitlementRecord {
  idTag: string;
  status: AuthorizationStatus;
  expiryDate?: string;
  parentIdTag?: string;
  billing?: Record<string, unknown>;
  /**
   * The transaction this idTag is charging in, when single-session enforcement is on: set at
   * StartTransaction, cleared at StopTransaction; a marker older than the configured limit is stale.
   */
  activeSession?: ActiveSessionMarker;
  /** A tariff that applies to this idTag wherever it charges, instead of the charge point's. */
  tariffId?: string;
  /**
   * The driver whose membership decides `billing` (and may block the tag when a lapsed member has
   * no payment method). Memberships rewrite such records; see functions/entitlements.
   */
  driverId?: string;
  /** The status an operator set, kept apart from `status` so a membership block can be lifted again. */
  baseStatus?: AuthorizationStatus;
  /** Why `status` differs from `baseStatus` (for example `no-payment-method`). */
  blockedReason?: string;
  /** The driver record version this record was derived from; an older derivation never overwrites a newer one. */
  driverVersion?: number;
  updatedAt: string;
}

export interface ActiveSessionMarker {
  transactionId: number;
  chargePointId: string;
  since: string;
}

export interface ChargePointProfile {
  chargePointId: string;
  /** `scrypt$N$r$p$salt$hash`, never the password itself. */
  passwordHash: string;
  timeZone: string;
  tariffId?: string;
  siteId?: string;
  maxPowerKw?: number;
  boot?: { vendor: string; model: string; serialNumber?: string; firmwareVersion?: string; bootedAt: string };
  /** The charge point's clock as last measured against the server's receive times (docs/clocks.md). */
  clock?: ClockMeasurement;
  lastSeenAt?: string;
  connectionId?: string;
  updatedAt: string;
}

export interface ConnectorStatusRecord {
  chargePointId: string;
  connectorId: number;
  status: string;
  errorCode: string;
  timestamp: string;
  info?: string;
  vendorId?: string;
  vendorErrorCode?: string;
  receivedAt: string;
  /** Set when the clock policy replaced the reported timestamp (a future or pre-2010 one): what was sent, and why. */
  reportedTimestamp?: string;
  clockFlags?: string[];
}

export type SessionState = 'started' | 'stopped' | 'completed';

export interface MeterSample {
  timestamp: string;
  sampledValue: Array<Record<string, string>>;
  /** Where the sample came from: a MeterValues message or StopTransaction's transactionData. */
  source: 'MeterValues' | 'StopTransaction';
  /** The charge point's own timestamp, when the clock policy corrected it (docs/clocks.md). */
  reportedTimestamp?: string;
}

export interface SessionRecord {
  sessionId: string;
  transactionId: number;
  chargePointId: string;
  connectorId: number;
  idTag: string;
  parentIdTag?: string;
  authorizationStatus: AuthorizationStatus;
  startedAt: string;
  meterStartWh: number;
  reservationId?: number;
  timeZone: string;
  siteId?: string;
  tariff: { tariffId: string; version: number } | null;
  billingProfile: Record<string, unknown> | null;
  state: SessionState;
  stoppedAt?: string;
  /** When VoltLedger stored the stop (server clock); the idle limit counts from here. */
  stopRecordedAt?: string;
  meterStopWh?: number;
  energyWh?: number;
  stopReason?: string;
  stopIdTag?: string;
  completedAt?: string;
  /** `closed-without-stop`: no StopTransaction came (superseded or open past the limit; docs/sessions.md). */
  completedBy?: 'unplugged' | 'idle-limit' | 'closed-without-stop';
  /**
   * Set when VoltLedger closed the session because no StopTransaction would come: stopped from its
   * last meter reading and completed at that reading (docs/sessions.md).
   */
  closedWithoutStop?: ClosedWithoutStop;
  flags: string[];
  createdAt: string;
  /** Set once the session is priced (the full price is a separate record). */
  pricedAt?: string;
  totalMinor?: number;
  currency?: string;
  pricingError?: { reason: string; failedAt: string };
  /** The clock policy's record: each transaction timestamp as reported, received and used; a review hold (docs/clocks.md). */
  clock?: SessionClock;
}

export interface ClosedWithoutStop {
  /** `superseded`: a new StartTransaction on the same connector; `no-stop`: open past SESSION_MAX_OPEN_HOURS. */
  cause: 'superseded' | 'no-stop';
  /** When VoltLedger closed it (server clock). */
  closedAt: string;
  /** The transaction whose start superseded it. */
  supersededBy?: number;
  /** Where the stop came from: the last energy register reading, or the start when there was none. */
  stopFrom: 'last-meter-reading' | 'meter-start';
}

/**
 * A StopTransaction or MeterValues that VoltLedger could not put on a session (an unknown or
 * made-up transactionId, a `-1` it could not match, a stop after the session was closed without
 * one). Answered as OCPP requires, kept for review (GET /admin/unmatched, revenue assurance).
 */
export interface UnmatchedMessage {
  kind: 'StopTransaction' | 'MeterValues';
  chargePointId: string;
  connectorId?: number;
  transactionId?: number;
  /**
   * `unknown-transaction`: no session of this charge point has the id; `no-open-session` /
   * `ambiguous-match`: a `-1` (errata 3.18) that matched no open session, or more than one;
   * `after-close-without-stop`: the session was already closed without a stop (its data is not billed).
   */
  reason: 'unknown-transaction' | 'no-open-session' | 'ambiguous-match' | 'after-close-without-stop';
  /** Sessions the message could belong to (ambiguous matches, or the closed session). */
  candidates?: number[];
  receivedAt: string;
  messageId: string;
  payload: Record<string, unknown>;
}

export interface TariffVersionRef {
  tariffId: string;
  version: number;
}

export type PendingCallState = 'pending' | 'accepted' | 'rejected' | 'error';

/** A CALL the central system sent to a charge point, waiting for its CALLRESULT or CALLERROR. */
export interface PendingCall {
  chargePointId: string;
  messageId: string;
  action: string;
  payload: Record<string, unknown>;
  state: PendingCallState;
  createdAt: string;
  answeredAt?: string;
  result?: Record<string, unknown>;
  error?: { code: string; description: string; details: Record<string, unknown> };
}

/** The status a connector reports when nothing is plugged in. */
export const UNPLUGGED_STATUS = 'Available';

/** Normalises an OCPP timestamp to a sortable UTC ISO string (keys and comparisons use this form). */
export function normalizeTimestamp(timestamp: string): string {
  // A leap second (23:59:60) is read as 23:59:59.999; the clock policy flags it (docs/clocks.md).
  return parseOcppTimestamp(timestamp).at;
}

/** OCPP idTags are CiString20: compared case-insensitively, so records are keyed by this form. */
export function idTagKey(idTag: string): string {
  return idTag.toUpperCase();
}

/** The public id of the session that a transactionId names. */
export function sessionIdFor(transactionId: number): string {
  return `sess_${transactionId}`;
}

/** Inverse of sessionIdFor; null when the string is not a session id. */
export function transactionIdOf(sessionId: string): number | null {
  const match = /^sess_([1-9]\d{0,15})$/.exec(sessionId);
  return match ? Number(match[1]) : null;
}
