import { Duration, Stack } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './nag.ts';

export interface IdleSessionSweepProps {
  readonly handler: IFunction;
}

/**
 * Runs the idle-session sweep every minute (EventBridge Scheduler). A missed or failed run is
 * harmless: the next one completes the same sessions, and completion is idempotent.
 */
export class IdleSessionSweep extends Construct {
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, props: IdleSessionSweepProps) {
    super(scope, id);
    this.schedule = new Schedule(this, 'Schedule', {
      description: 'VoltLedger: complete stopped sessions past the idle limit',
      schedule: ScheduleExpression.rate(Duration.minutes(1)),
      // Runs are interchangeable: a late run is not worth a retry that overlaps the next one.
      target: new LambdaInvoke(props.handler, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }),
    });
    // The scheduler's role (created by LambdaInvoke at stack level) may invoke any version of the function.
    acknowledgeWildcardResources(
      Stack.of(this),
      [`${props.handler.functionArn}:*`],
      'The EventBridge Scheduler role may invoke the sweep function and its versions (function ARN + :*), nothing else.',
    );
  }
}
