import type { DeliveryAttempt } from './model.ts';

/** What came back from POSTing a CDR: an HTTP answer (with its OCPI envelope, if it had one) or no answer. */
export interface PushAnswer {
  httpStatus?: number;
  /** The envelope's `status_code`, when the body was an OCPI response. */
  ocpiStatus?: number;
  message?: string;
  /** The `Location` header: the CDR's URL in the partner's system. */
  location?: string;
  /** Set when no HTTP answer came (network error, timeout). */
  error?: string;
}

/**
 * How an answer is read (OCPI 2.2.1 transport_and_format, status_codes):
 * - HTTP 2xx with OCPI `status_code` 1xxx: accepted;
 * - OCPI 2xxx (client errors: invalid or missing parameters, unknown location...): rejected, not
 *   retried: the partner will refuse the same CDR again, a person must look;
 * - OCPI 3xxx (server errors) or 4xxx (hub errors), HTTP 5xx, 408, 429, no answer, or a 2xx that
 *   is not an OCPI envelope: retried with backoff;
 * - other HTTP 4xx (401/403: a wrong token; 404: a wrong URL): rejected.
 */
export function classify(answer: PushAnswer): DeliveryAttempt['outcome'] {
  if (answer.httpStatus === undefined) return 'retry';
  const http = answer.httpStatus;
  if (http >= 200 && http < 300) {
    const ocpi = answer.ocpiStatus;
    if (ocpi === undefined) return 'retry';
    if (ocpi >= 1000 && ocpi < 2000) return 'accepted';
    if (ocpi >= 2000 && ocpi < 3000) return 'rejected';
    return 'retry';
  }
  if (http >= 500 || http === 408 || http === 429) return 'retry';
  return 'rejected';
}

/** Waits before each retry within one delivery run (then the event's own redelivery takes over). Default 0 s, 1 s, 4 s. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [0, 1000, 4000];
