import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Stripe from 'stripe';
import type { OutgoingEvent } from '../../events/contract.ts';
import type { TableNames } from '../../lib/tables.ts';
import type { Clock } from './clock.ts';
import type { Env } from './env.ts';
import type { Log } from './log.ts';

/**
 * What every context's composition root is built from: the AWS clients, the tables, the bus, Stripe,
 * the accounting webhook, the settings, the clock and the log. On Lambda it is read from the
 * environment (`lambdaPlatform` in lambda-platform.ts); the local stack builds one over its
 * stand-ins (lib/local/stack.ts). Handler modules take a platform, so Lambda and the local stack
 * run the same handler code, middy chain and metrics included.
 */
export interface Platform {
  readonly dynamo: DynamoDBClient;
  /** Physical table names by table id (lib/tables.ts). */
  readonly tables: TableNames;
  /** Publishes domain events to the bus; throws when any is not accepted. */
  readonly events: EventPublisher;
  /** The WebSocket API's @connections client (frames to charge points); built on first use. */
  readonly connections: () => ApiGatewayManagementApiClient;
  /** Stripe, when it is configured; the secrets are read on first use (inside an invocation on Lambda). */
  readonly stripe?: StripeAccess;
  /** Where journal entries are pushed; undefined when no accounting system is configured. */
  readonly accountingWebhook: () => Promise<{ url: string; secret: string } | undefined>;
  /** Settings by environment variable name (process.env on Lambda); each context reads its own. */
  readonly env: Env;
  readonly clock: Clock;
  readonly log: Log;
  /** A metrics buffer for a service (Embedded Metric Format on Lambda); flushed by the handler. */
  readonly metrics: (service: string) => MetricsBuffer;
}

/** Publishes events on the bus (EventBridgePublisher on both Lambda and the local stack). */
export interface EventPublisher {
  publish(events: OutgoingEvent[]): Promise<void>;
}

/** VoltLedger's Stripe account: the SDK client and the webhook signing secret, resolved on first use. */
export interface StripeAccess {
  client(): Promise<Stripe>;
  webhookSecret(): Promise<string>;
}

/** The part of Powertools' Metrics the handlers use. */
export interface MetricsBuffer {
  addMetric(name: string, unit: MetricUnitValue, value: number): void;
  hasStoredMetrics(): boolean;
  publishStoredMetrics(): void;
}

type MetricUnitValue = Parameters<import('@aws-lambda-powertools/metrics').Metrics['addMetric']>[1];

/** Where a handler module gets its platform: called on the first invocation, never at import. */
export type PlatformSource = () => Platform;

/**
 * A context's composition, built once per platform: the local stack composes a context (with its
 * overrides) before it serves anything, and the handler modules it invokes then get the same
 * instances; on Lambda the first invocation composes it from the environment. A composition that
 * is a promise and rejects is forgotten, so the next invocation tries again.
 */
export function perPlatform<T, A extends unknown[]>(build: (platform: Platform, ...args: A) => T): (platform: Platform, ...args: A) => T {
  const built = new WeakMap<Platform, T>();
  return (platform, ...args) => {
    if (built.has(platform)) {
      // Overrides apply only to the first composition; a later caller passing some would be ignored silently.
      if (args.some((arg) => arg !== undefined)) throw new Error('this context is already composed for this platform: pass overrides to the first compose call only');
      return built.get(platform) as T;
    }
    const value = build(platform, ...args);
    built.set(platform, value);
    if (value instanceof Promise) value.catch(() => built.delete(platform));
    return value;
  };
}
