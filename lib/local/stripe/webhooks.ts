import { createHmac } from 'node:crypto';
import type { Clock } from '../../../functions/shared/clock.ts';
import type { Log } from '../../../functions/shared/log.ts';
import type { PendingDelivery, StripeObject } from './state.ts';

/** A configured webhook endpoint; `enabled_events` `['*']` receives everything. */
export interface WebhookEndpoint {
  id: string;
  url: string;
  enabled_events: string[];
}

/** One delivery attempt, for tests and the control API. */
export interface DeliveryAttempt {
  eventId: string;
  type: string;
  url: string;
  attempt: number;
  status: number | null;
  error?: string;
  at: number;
}

/** Chaos for delivery: each delivery twice, or in a shuffled order (with a little random delay). */
export interface DeliveryChaos {
  duplicate?: boolean;
  outOfOrder?: boolean;
}

export interface WebhookDispatcherOptions {
  secret: string;
  /** Signs with this clock's time (Stripe's wall clock; not the test clock `advanceTime` moves). */
  clock: Clock;
  log: Log;
  /** First retry delay; doubles per attempt. Default 500 ms (Stripe waits minutes to hours). */
  retryBaseDelayMs?: number;
  /** Attempts before giving up on one delivery. Default 8. */
  maxAttempts?: number;
  /** Per-attempt timeout; default 10 s. */
  timeoutMs?: number;
  /** Looks up the event to (re)send. */
  event: (id: string) => StripeObject | undefined;
  /** Looks up an endpoint by id. */
  endpoint: (id: string) => WebhookEndpoint | undefined;
  /** Called when the set of pending deliveries changed (to persist it). */
  onChange: (pending: PendingDelivery[]) => void;
}

/** Stripe's signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload">`. */
export function signatureHeader(payload: string, secret: string, timestamp: number): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

/**
 * Delivers events to webhook endpoints asynchronously, at least once: signed like Stripe, retried
 * with exponential backoff while the endpoint answers non-2xx or cannot be reached. The signature
 * timestamp is the wall clock (not the emulator's test clock), since receivers check it against
 * theirs.
 */
export class WebhookDispatcher {
  private readonly pending = new Map<string, PendingDelivery>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly controllers = new Set<AbortController>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly held: PendingDelivery[] = [];
  private inFlight = 0;
  private closed = false;
  private paused = false;
  chaos: DeliveryChaos = {};
  readonly attempts: DeliveryAttempt[] = [];

  constructor(private readonly options: WebhookDispatcherOptions) {}

  /** Queues an event for each endpoint that wants it. */
  enqueue(event: StripeObject, endpoints: WebhookEndpoint[]): void {
    for (const endpoint of endpoints) {
      if (!endpoint.enabled_events.includes('*') && !endpoint.enabled_events.includes(event.type)) continue;
      const copies = this.chaos.duplicate ? 2 : 1;
      for (let copy = 0; copy < copies; copy++) {
        const delivery: PendingDelivery = { eventId: event.id, endpointId: endpoint.id, attempt: 1 };
        if (copy === 0) this.track(delivery);
        this.dispatch(delivery, this.chaos.outOfOrder ? Math.floor(Math.random() * 40) : 0, copy === 0);
      }
    }
  }

  /** Redelivers what a previous run left pending. */
  restore(pending: PendingDelivery[]): void {
    for (const delivery of pending) {
      this.track(delivery);
      this.dispatch(delivery, 0, true);
    }
  }

  /** Holds new deliveries until {@link resume}; lets a test release them in any order. */
  pause(): void {
    this.paused = true;
  }

  /** Releases held deliveries: in order, reversed, or shuffled. */
  resume(order: 'original' | 'reverse' | 'shuffle' = 'original'): void {
    this.paused = false;
    const released = this.held.splice(0);
    if (order === 'reverse') released.reverse();
    if (order === 'shuffle') {
      for (let i = released.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [released[i], released[j]] = [released[j]!, released[i]!];
      }
    }
    // Sequential start times keep the chosen order observable at the endpoint.
    released.forEach((delivery, index) => {
      this.dispatch(delivery, index * 5, true);
    });
  }

  private key(delivery: PendingDelivery): string {
    return `${delivery.eventId}|${delivery.endpointId}`;
  }

  private track(delivery: PendingDelivery): void {
    this.pending.set(this.key(delivery), delivery);
    this.options.onChange([...this.pending.values()]);
  }

  private untrack(delivery: PendingDelivery): void {
    if (this.pending.delete(this.key(delivery))) this.options.onChange([...this.pending.values()]);
  }

  private dispatch(delivery: PendingDelivery, delayMs: number, tracked: boolean): void {
    if (this.closed) return;
    if (this.paused) {
      this.held.push(delivery);
      return;
    }
    this.inFlight++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.attempt(delivery, tracked).finally(() => this.settle());
    }, delayMs);
    this.timers.add(timer);
  }

  private settle(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.held.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async attempt(delivery: PendingDelivery, tracked: boolean): Promise<void> {
    const event = this.options.event(delivery.eventId);
    const endpoint = this.options.endpoint(delivery.endpointId);
    if (!event || !endpoint) {
      this.untrack(delivery);
      return;
    }
    // Stripe sends the event pretty-printed; receivers must verify these exact bytes.
    const payload = JSON.stringify(event, null, 2);
    const record: DeliveryAttempt = { eventId: event.id, type: event.type, url: endpoint.url, attempt: delivery.attempt, status: null, at: this.options.clock.now().getTime() };
    const controller = new AbortController();
    this.controllers.add(controller);
    const timeout = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 10_000);
    try {
      const response = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
          'stripe-signature': signatureHeader(payload, this.options.secret, Math.floor(this.options.clock.now().getTime() / 1000)),
        },
        body: payload,
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      record.status = response.status;
    } catch (error) {
      record.error = String(error);
    } finally {
      clearTimeout(timeout);
      this.controllers.delete(controller);
    }
    this.attempts.push(record);
    if (record.status !== null && record.status >= 200 && record.status < 300) {
      if (tracked) {
        this.untrack(delivery);
        event.pending_webhooks = Math.max(0, (event.pending_webhooks ?? 1) - 1);
      }
      return;
    }
    if (this.closed) return; // stays pending in state.json; the next run redelivers it
    const maxAttempts = this.options.maxAttempts ?? 8;
    if (delivery.attempt >= maxAttempts) {
      this.options.log.error('webhook delivery gave up after its last attempt', { eventId: event.id, url: endpoint.url, attempts: delivery.attempt });
      if (tracked) this.untrack(delivery);
      return;
    }
    const delay = (this.options.retryBaseDelayMs ?? 500) * 2 ** (delivery.attempt - 1);
    this.options.log.warn('webhook delivery failed; retrying', { eventId: event.id, url: endpoint.url, status: record.status, error: record.error, delayMs: delay });
    const next = { ...delivery, attempt: delivery.attempt + 1 };
    if (tracked) this.track(next);
    this.dispatch(next, delay, tracked);
  }

  /** Resolves once nothing is being delivered or waiting for a retry (held deliveries excepted). */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cancels scheduled retries (they stay pending for the next run) and aborts running deliveries. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers) {
      clearTimeout(timer);
      this.settle();
    }
    this.timers.clear();
    for (const controller of this.controllers) controller.abort();
  }
}
