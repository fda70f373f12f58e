import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A Stripe API object as the emulator stores and answers it: plain JSON, exactly the wire shape.
 * Loosely typed on purpose: the emulator shapes objects after Stripe's reference, and the real SDK's
 * types check them where they are consumed (the tests).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StripeObject = Record<string, any>;

/** The collections the emulator keeps, by Stripe's id prefix. */
export const COLLECTIONS = {
  cus: 'customers',
  pm: 'payment_methods',
  pi: 'payment_intents',
  ch: 'charges',
  re: 'refunds',
  du: 'disputes',
  txn: 'balance_transactions',
  po: 'payouts',
  prod: 'products',
  price: 'prices',
  sub: 'subscriptions',
  in: 'invoices',
  evt: 'events',
  we: 'webhook_endpoints',
  tml: 'terminal_locations',
  tmr: 'terminal_readers',
} as const;

export type Collection = (typeof COLLECTIONS)[keyof typeof COLLECTIONS];

/** A stored answer for an Idempotency-Key. */
export interface IdempotencyRecord {
  method: string;
  path: string;
  params: string;
  status: number;
  body: string;
}

/** A webhook delivery not yet acknowledged by its endpoint, kept so a restart redelivers it. */
export interface PendingDelivery {
  eventId: string;
  endpointId: string;
  attempt: number;
}

/** Everything the emulator remembers; `state.json` is this object. */
export interface EmulatorState {
  version: 1;
  /** Seconds added to the wall clock by `advanceTime`. */
  clockOffsetSeconds: number;
  /** Creation order, so lists sort newest first even within one second. */
  nextSeq: number;
  seq: Record<string, number>;
  objects: Record<Collection, Record<string, StripeObject>>;
  /**
   * Which test card a materialised PaymentMethod behaves as: a token (`pm_card_visa`) for `card`,
   * a card number (`4000000000009995`) for a `card_present` method a simulated reader read.
   */
  testCards: Record<string, string>;
  /** Payout id per balance transaction it paid out. */
  payoutOf: Record<string, string>;
  /** How many incremental authorizations each PaymentIntent attempted (Stripe allows 10). */
  incrementAttempts: Record<string, number>;
  idempotency: Record<string, IdempotencyRecord>;
  pendingDeliveries: PendingDelivery[];
}

export function emptyState(): EmulatorState {
  const objects = {} as Record<Collection, Record<string, StripeObject>>;
  for (const name of Object.values(COLLECTIONS)) objects[name] = {};
  return {
    version: 1,
    clockOffsetSeconds: 0,
    nextSeq: 1,
    seq: {},
    objects,
    testCards: {},
    payoutOf: {},
    incrementAttempts: {},
    idempotency: {},
    pendingDeliveries: [],
  };
}

/** Reads `state.json`, or an empty state when there is none yet. */
export function loadState(path: string | undefined): EmulatorState {
  if (!path || !existsSync(path)) return emptyState();
  const loaded = JSON.parse(readFileSync(path, 'utf8')) as EmulatorState;
  const state = { ...emptyState(), ...loaded };
  for (const name of Object.values(COLLECTIONS)) state.objects[name] ??= {};
  return state;
}

/** Writes the state atomically: a temporary file, fsync'd, renamed over the old one. */
export function saveState(path: string, state: EmulatorState): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w');
  try {
    writeSync(fd, JSON.stringify(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}
