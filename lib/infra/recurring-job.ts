import { Duration, Stack } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './nag.ts';

export interface RecurringJobProps {
  readonly handler: IFunction;
  /** What the job does, shown on the schedule. */
  readonly description: string;
  readonly every: Duration;
  /** How often a failed invocation is retried, and how late it may still start. */
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
}

/**
 * A Lambda function run on a fixed rate by EventBridge Scheduler. Every recurring job (idle-session
 * sweep, membership resync, and the reconciliation and statement runs to come) is one of these.
 */
export class RecurringJob extends Construct {
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: RecurringJobProps) {
    super(scope, id);
    this.schedule = new Schedule(this, 'Schedule', {
      description: `VoltLedger: ${props.description}`,
      schedule: ScheduleExpression.rate(props.every),
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
