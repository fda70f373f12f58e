import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  Metric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface MonitoringProps {
  /** Functions by a short name (`message`, `admin`, consumer ids, ...). */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Dead-letter queues by the name of what they protect (rule names). */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
  /** The OCPP WebSocket API and stage, for the dashboard's connection and message counts. */
  readonly webSocket: { readonly apiId: string; readonly stageName: string };
  readonly alarmTopicArn?: string;
}

/**
 * Alarms that mean someone should look: any function error or throttle, and any event parked in a
 * dead-letter queue (a consumer gave up on it: money may be waiting). Plus one dashboard.
 */
export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const action = props.alarmTopicArn ? new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)) : undefined;
    const alarm = (alarmId: string, metric: IMetric, description: string) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (action) {
        created.addAlarmAction(action);
        created.addOkAction(action);
      }
      this.alarms.push(created);
    };

    const fiveMinutes = { period: Duration.minutes(5), statistic: 'Sum' };
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, fn.metricErrors(fiveMinutes), `Lambda ${name}: invocation errors`);
      alarm(`${name}Throttles`, fn.metricThrottles(fiveMinutes), `Lambda ${name}: throttled invocations`);
    }
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      alarm(
        `${name}DeadLetters`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        `Events for ${name} are in its dead-letter queue: the consumer gave up on them; redrive after fixing`,
      );
    }

    const webSocketMetric = (metricName: string) =>
      new Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: props.webSocket.apiId, Stage: props.webSocket.stageName },
        ...fiveMinutes,
      });
    const functions = Object.entries(props.functions);
    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new GraphWidget({
            title: 'OCPP WebSocket',
            left: [webSocketMetric('ConnectCount'), webSocketMetric('MessageCount')],
            right: [webSocketMetric('IntegrationError'), webSocketMetric('ExecutionError'), webSocketMetric('ClientError')],
            width: 12,
          }),
          new GraphWidget({
            title: 'Dead-letter queues (messages visible)',
            left: Object.entries(props.deadLetterQueues).map(([name, q]) =>
              q.metricApproximateNumberOfMessagesVisible({ label: name, period: Duration.minutes(5), statistic: 'Maximum' }),
            ),
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Lambda invocations and errors',
            left: functions.map(([name, fn]) => fn.metricInvocations({ ...fiveMinutes, label: name })),
            right: functions.map(([name, fn]) => fn.metricErrors({ ...fiveMinutes, label: `${name} errors` })),
            width: 12,
          }),
          new GraphWidget({
            title: 'Lambda duration p99 (ms)',
            left: functions.map(([name, fn]) => fn.metricDuration({ period: Duration.minutes(5), statistic: 'p99', label: name })),
            width: 12,
          }),
        ],
      ],
    });
  }
}
