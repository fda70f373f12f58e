import { Duration } from 'aws-cdk-lib';
import { EventBus, Rule, type IEventBus } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption, type IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { eventPatternFor, type Subscription } from '../../events/routing.ts';
import { acknowledgeNag } from './nag.ts';

/** Delivery policy of every rule target: EventBridge retries, then parks the event in the target's DLQ. */
export const TARGET_RETRY_ATTEMPTS = 8;
export const TARGET_MAX_EVENT_AGE = Duration.hours(24);

export interface EventRoutingProps {
  /** events/routing.ts SUBSCRIPTIONS (tests pass their own). */
  readonly subscriptions: readonly Subscription[];
}

/** One subscription's rule and the dead-letter queue of its target. */
export interface RoutedSubscription {
  readonly subscription: Subscription;
  readonly rule: Rule;
  readonly deadLetterQueue: IQueue;
}

/**
 * The domain event bus and one rule per subscription, its pattern generated from the
 * subscription's event contracts (the local bus routes with the very same patterns). Targets are
 * bound with {@link EventRouting.connect} once the consumers' functions exist.
 */
export class EventRouting extends Construct {
  readonly bus: IEventBus;
  private readonly subscriptions: readonly Subscription[];
  private readonly routedList: RoutedSubscription[] = [];

  constructor(scope: Construct, id: string, props: EventRoutingProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', { description: 'VoltLedger domain events (envelope: { metadata, data })' });
    this.subscriptions = props.subscriptions;
    const names = new Set<string>();
    for (const s of props.subscriptions) {
      if (names.has(s.ruleName)) throw new Error(`two subscriptions share the rule name ${s.ruleName}`);
      names.add(s.ruleName);
    }
  }

  /** Consumer ids named by the subscriptions. */
  get consumerIds(): string[] {
    return [...new Set(this.subscriptions.map((s) => s.consumer))].sort();
  }

  get routed(): readonly RoutedSubscription[] {
    return this.routedList;
  }

  /**
   * Creates each subscription's rule, targeting its consumer's function with retries and a
   * dead-letter queue. Throws when a subscription names a consumer without a function.
   */
  connect(consumers: Readonly<Record<string, IFunction>>): void {
    for (const subscription of this.subscriptions) {
      const consumer = consumers[subscription.consumer];
      if (!consumer) {
        throw new Error(
          `subscription ${subscription.ruleName} names consumer "${subscription.consumer}", which has no entry in events/routing.ts CONSUMERS`,
        );
      }
      const deadLetterQueue = new Queue(this, `${subscription.ruleName}DeadLetterQueue`, {
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      acknowledgeNag(deadLetterQueue, 'AwsSolutions-SQS3', 'This queue is itself the dead-letter queue of an EventBridge rule target.');
      const pattern = eventPatternFor(subscription);
      const rule = new Rule(this, subscription.ruleName, {
        eventBus: this.bus,
        description: `${pattern['detail-type'].join(', ')} -> ${subscription.consumer}`,
        eventPattern: { source: pattern.source, detailType: pattern['detail-type'] },
      });
      rule.addTarget(
        new LambdaFunction(consumer, {
          retryAttempts: TARGET_RETRY_ATTEMPTS,
          maxEventAge: TARGET_MAX_EVENT_AGE,
          deadLetterQueue,
        }),
      );
      this.routedList.push({ subscription, rule, deadLetterQueue });
    }
  }
}
