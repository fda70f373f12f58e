import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNATURE_HEADER, verifySignature } from '../../functions/accounting/domain/signature.ts';
import type { Clock } from '../../functions/shared/clock.ts';

/** One journal entry the receiver accepted (the first delivery of its Idempotency-Key). */
export interface ReceivedEntry {
  idempotencyKey: string;
  receivedAt: string;
  /** Deliveries of the same key after the first (answered 200, not recorded again). */
  duplicates: number;
  body: any;
}

export interface AccountingReceiver {
  /** Handles one POST: 401 on a bad signature, 400 without Idempotency-Key, 503 when a failure is armed, else 200. */
  handle(request: { headers: Record<string, string | undefined>; body: string }): { statusCode: number; body: string };
  received(): ReceivedEntry[];
  /** Refused deliveries (bad signature) so far. */
  rejected(): number;
  /** The next `count` deliveries answer 503 (to watch retries and dead letters). */
  failNext(count: number): void;
}

/**
 * The local stand-in for the accounting system: verifies the VoltLedger-Signature over the exact
 * body, books each Idempotency-Key once, and records what it was sent (in memory, and appended to
 * `${dataDir}/accounting/received.jsonl` so it survives restarts).
 */
export function createAccountingReceiver(options: { secret: string; clock: Clock; dataDir?: string; toleranceSeconds?: number }): AccountingReceiver {
  const entries = new Map<string, ReceivedEntry>();
  let rejected = 0;
  let failures = 0;
  const file = options.dataDir ? join(options.dataDir, 'accounting', 'received.jsonl') : undefined;
  if (file) {
    mkdirSync(join(options.dataDir!, 'accounting'), { recursive: true });
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        const entry = JSON.parse(line) as ReceivedEntry;
        entries.set(entry.idempotencyKey, entry);
      }
    }
  }
  const reply = (statusCode: number, body: unknown) => ({ statusCode, body: JSON.stringify(body) });
  return {
    handle({ headers, body }) {
      const header = (name: string) => Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
      const now = Math.floor(options.clock.now().getTime() / 1000);
      if (!verifySignature(options.secret, header(SIGNATURE_HEADER), body, now, options.toleranceSeconds)) {
        rejected++;
        return reply(401, { error: 'BadSignature' });
      }
      const key = header('idempotency-key');
      if (!key) return reply(400, { error: 'Idempotency-Key required' });
      if (failures > 0) {
        failures--;
        return reply(503, { error: 'Unavailable', message: 'failure armed with failNext' });
      }
      const existing = entries.get(key);
      if (existing) {
        existing.duplicates++;
        return reply(200, { status: 'duplicate', idempotencyKey: key });
      }
      const entry: ReceivedEntry = { idempotencyKey: key, receivedAt: options.clock.now().toISOString(), duplicates: 0, body: JSON.parse(body) };
      entries.set(key, entry);
      if (file) appendFileSync(file, JSON.stringify(entry) + '\n');
      return reply(200, { status: 'booked', idempotencyKey: key });
    },
    received: () => [...entries.values()],
    rejected: () => rejected,
    failNext(count) {
      failures = count;
    },
  };
}
