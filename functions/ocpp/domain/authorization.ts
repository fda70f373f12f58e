import type { EntitlementRecord, IdTagInfo } from './model.ts';

/** Single-session enforcement: an idTag may charge in one transaction at a time. */
export interface ConcurrencyPolicy {
  rejectConcurrent: boolean;
  /** A marker older than this is a session whose StopTransaction never came: it no longer blocks. */
  activeSessionMaxAgeMs: number;
}

export const NO_CONCURRENCY_CHECK: ConcurrencyPolicy = { rejectConcurrent: false, activeSessionMaxAgeMs: 0 };

/** Whether the record shows the idTag charging in another, live transaction. */
export function chargingElsewhere(record: EntitlementRecord | undefined, now: Date, policy: ConcurrencyPolicy, transactionId?: number): boolean {
  const active = record?.activeSession;
  if (!policy.rejectConcurrent || !active || active.transactionId === transactionId) return false;
  return now.getTime() - Date.parse(active.since) < policy.activeSessionMaxAgeMs;
}

/**
 * Decides the IdTagInfo for an idTag from its entitlement record alone (one read, no network
 * call): unknown -> Invalid; a stored non-Accepted status stands; an expiry in the past -> Expired.
 * The expiryDate is passed on so charge points' local authorization caches age correctly. With
 * single-session enforcement, an Accepted idTag charging in a live transaction is ConcurrentTx.
 */
export function decideAuthorization(record: EntitlementRecord | undefined, now: Date, policy: ConcurrencyPolicy = NO_CONCURRENCY_CHECK): IdTagInfo {
  if (!record) return { status: 'Invalid' };
  const info: IdTagInfo = { status: record.status };
  if (record.expiryDate) info.expiryDate = record.expiryDate;
  if (record.parentIdTag) info.parentIdTag = record.parentIdTag;
  if (info.status === 'Accepted' && record.expiryDate && Date.parse(record.expiryDate) <= now.getTime()) {
    info.status = 'Expired';
  }
  if (info.status === 'Accepted' && chargingElsewhere(record, now, policy)) info.status = 'ConcurrentTx';
  return info;
}
