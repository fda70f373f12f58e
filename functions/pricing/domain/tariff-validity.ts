import { ValidationError } from '../../shared/errors.ts';
import { instantOf } from '../../shared/time-zone.ts';
import type { Tariff } from './tariff.ts';

/**
 * OCPI 2.2.1 Tariff `start_date_time` / `end_date_time`: the instants between which a tariff is
 * active. VoltLedger judges a session by its start (the tariff in force when the driver started
 * is the one that prices the whole session, as consumer law in many countries requires): a tariff
 * covers a session when `start_date_time <= session start < end_date_time` (`end_date_time` is
 * "the time after which this tariff is no longer valid"; taken as exclusive, so that a successor
 * version starting at that instant takes over without overlap).
 */

/** Why a tariff does not cover a session that started at `startMs`, or null when it does. */
export function tariffNotActiveReason(tariff: Tariff, startMs: number): string | null {
  const from = tariff.start_date_time === undefined ? null : instantOf(tariff.start_date_time);
  const until = tariff.end_date_time === undefined ? null : instantOf(tariff.end_date_time);
  const started = new Date(startMs).toISOString();
  if (from !== null && startMs < from) return `tariff ${tariff.id} is active from ${tariff.start_date_time} (start_date_time), the session started at ${started}`;
  if (until !== null && startMs >= until) return `tariff ${tariff.id} is active until ${tariff.end_date_time} (end_date_time), the session started at ${started}`;
  return null;
}

/** The reason code on SessionPricingFailed (and on the session) when no tariff version covers the session. */
export const TARIFF_NOT_ACTIVE = 'TARIFF_NOT_ACTIVE';

/** Thrown by priceSession for a tariff that does not cover the session's start: such a tariff never prices it. */
export class TariffNotActiveError extends ValidationError {
  readonly code = TARIFF_NOT_ACTIVE;
  constructor(reason: string) {
    super(`${TARIFF_NOT_ACTIVE}: ${reason}`, 'tariff.start_date_time');
  }
}

/** Throws {@link TariffNotActiveError} unless `tariff` covers a session started at `startMs`. */
export function assertTariffActive(tariff: Tariff, startMs: number): void {
  const reason = tariffNotActiveReason(tariff, startMs);
  if (reason !== null) throw new TariffNotActiveError(reason);
}
