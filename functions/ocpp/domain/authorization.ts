import type { EntitlementRecord, IdTagInfo } from './model.ts';

/**
 * Decides the IdTagInfo for an idTag from its entitlement record alone (one read, no network
 * call): unknown -> Invalid; a stored non-Accepted status stands; an expiry in the past -> Expired.
 * The expiryDate is passed on so charge points' local authorization caches age correctly.
 */
export function decideAuthorization(record: EntitlementRecord | undefined, now: Date): IdTagInfo {
  if (!record) return { status: 'Invalid' };
  const info: IdTagInfo = { status: record.status };
  if (record.expiryDate) info.expiryDate = record.expiryDate;
  if (record.parentIdTag) info.parentIdTag = record.parentIdTag;
  if (info.status === 'Accepted' && record.expiryDate && Date.parse(record.expiryDate) <= now.getTime()) {
    info.status = 'Expired';
  }
  return info;
}
