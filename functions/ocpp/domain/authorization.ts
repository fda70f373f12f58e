import { paidByCard } from '../../../events/billing.ts';
import type { EntitlementRecord, IdTagInfo } from './model.ts';

/** Single-session enforcement: an idTag may charge in one transaction at a time. */
export interface ConcurrencyPolicy {
  rejectConcurrent: boolean;
  /** A marker older than this is a session whose StopTransaction never came: it no longer blocks. */
  activeSessionMaxAgeMs: number;
  /**
   * Answer Blocked for a card-paid idTag (retail, member or no billing profile; not a one-off card
   * grant) that no driver with a means of payment stands behind (docs/payments.md, "Who pays").
   * Off (`undefined`/false) accepts such tags ad hoc; deployments read OCPP_PAYERLESS_CARD_TAGS.
   */
  blockPayerless?: boolean;
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
  if (info.status === 'Accepted' && policy.blockPayerless && !hasPayer(record)) info.status = 'Blocked';
  if (info.status === 'Accepted' && chargingElsewhere(record, now, policy)) info.status = 'ConcurrentTx';
  return info;
}

/**
 * Whether someone pays for the idTag's sessions, as far as the cached record says (one read): a
 * fleet account, a roaming partner or a free profile does; a card-paid tag needs a driver (whose
 * saved card payments charges; a driver without one is Blocked by the membership sync) or a card
 * presented at a reader (`channel: 'card'`, a one-off grant).
 */
export function hasPayer(record: Pick<EntitlementRecord, 'billing' | 'driverId'>): boolean {
  if (!paidByCard(record.billing ?? null)) return true;
  if ((record.billing as { channel?: unknown } | undefined)?.channel === 'card') return true;
  return record.driverId !== undefined;
}
