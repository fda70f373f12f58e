import { PermanentDeliveryError } from '../domain/errors.ts';
import { SIGNATURE_HEADER, signatureHeader } from '../domain/signature.ts';
import type { Clock } from '../../shared/clock.ts';

/** Where journal entries go: one delivery, keyed for idempotency. */
export interface AccountingSink {
  deliver(input: { idempotencyKey: string; body: string }): Promise<void>;
}

/**
 * POSTs JSON to the accounting system's webhook (or an integration platform in front of it),
 * signed with HMAC-SHA256 over `timestamp.body` in the `VoltLedger-Signature` header, with
 * `Idempotency-Key` set to the entry id so the receiver books each entry once however often it
 * arrives. 2xx is delivered; 408, 429, 5xx and network errors are worth a retry; any other 4xx
 * throws PermanentDeliveryError.
 */
export class SignedWebhookSink implements AccountingSink {
  constructor(
    private readonly options: { url: string; secret: string; clock: Clock; timeoutMs?: number; fetchImpl?: typeof fetch },
  ) {}

  async deliver(input: { idempotencyKey: string; body: string }): Promise<void> {
    const timestamp = Math.floor(this.options.clock.now().getTime() / 1000);
    const response = await (this.options.fetchImpl ?? fetch)(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': input.idempotencyKey,
        [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(this.options.secret, timestamp, input.body),
        'user-agent': 'VoltLedger-Accounting/1',
      },
      body: input.body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
    });
    if (response.ok) {
      await response.body?.cancel();
      return;
    }
    const text = (await response.text()).slice(0, 300);
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
      throw new PermanentDeliveryError(`accounting webhook refused entry ${input.idempotencyKey}: HTTP ${response.status} ${text}`);
    }
    throw new Error(`accounting webhook answered HTTP ${response.status} for entry ${input.idempotencyKey}: ${text}`);
  }
}
