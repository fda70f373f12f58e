/**
 * What pricing refuses on clock grounds (docs/clocks.md), so a session with impossible times is
 * recorded and published as SessionPricingFailed instead of priced, thrown, retried and dead-lettered.
 */

/** A session longer than this is absurd (the OCPP gateway holds it for review as well). */
export const MAX_PRICED_SESSION_MS = 7 * 24 * 3600_000;
/** The stored price must fit one DynamoDB item (400 KB) with the session's other attributes beside it. */
export const MAX_PRICE_JSON_BYTES = 300_000;

/** Why the session must not be priced, or undefined when its times can be priced. */
export function clockHold(session: { startedAt: string; stoppedAt?: string; clock?: { review?: string } }, completedAt: string): string | undefined {
  if (session.clock?.review) return session.clock.review;
  const start = Date.parse(session.startedAt);
  const end = Date.parse(completedAt);
  if (Number.isNaN(start) || Number.isNaN(end)) return `clock: unreadable session times (${session.startedAt} to ${completedAt}); held for review`;
  if (end < start) return `clock: the session completes (${completedAt}) before it starts (${session.startedAt}); held for review`;
  if (end - start > MAX_PRICED_SESSION_MS) {
    return `clock: the session lasts ${Math.round((end - start) / 3600_000)} h (over ${MAX_PRICED_SESSION_MS / 3600_000} h); held for review`;
  }
  return undefined;
}
