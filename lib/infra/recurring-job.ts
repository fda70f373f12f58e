import { type Duration, Stack } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression, type CronOptionsWithTimezone } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './nag.ts';

export interface RecurringJobProps {
  readonly handler: IFunction;
  /** What the job does, shown on the schedule. */
  readonly description: string;
  /** A fixed rate (`every`) or calendar times (`cron`, UTC unless it names a time zone); exactly one. */
  readonly every?: Duration;
  readonly cron?: CronOptionsWithTimezone;
  /** How often a failed invocation is retried, and how late it may still start. */
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
}

/**
 * A Lambda function run by EventBridge Scheduler, on a fixed rate or at calendar times. Every
 * recurring job (idle-session and reader-payment sweeps, membership resync, daily reconciliation,
 * nightly export, monthly fleet statements) is one of these.
 */
export class RecurringJob extends Construct {
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: RecurringJobProps) {
    super(scope, id);
    if (Boolean(props.every) === Boolean(props.cron)) throw new Error(`${id}: give either every or cron`);
    this.schedule = new Schedule(this, 'Schedule', {
      description: `VoltLedger: ${props.description}`,
      schedule: props.every ? ScheduleExpression.rate(props.every) : ScheduleExpression.cron(props.cron!),
      target: new LambdaInvoke(props.handler, { retryAttempts: props.retryAttempts, maxEventAge: props.maxEventAge }),
    });
    // The scheduler's role (created by LambdaInvoke at stack level) may invoke any version of the function.
    acknowledgeWildcardResources(
      Stack.of(this),
      [`${props.handler.functionArn}:*`],
      `The EventBridge Scheduler role of "${props.description}" may invoke its function and that function's versions (function ARN + :*), nothing else.`,
    );
  }
}
