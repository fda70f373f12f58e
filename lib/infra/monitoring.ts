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
import { METRICS_NAMESPACE, OCPP_METRICS, RECONCILIATION_METRICS, SERVICE_DIMENSION } from '../../functions/shared/metric-names.ts';

/** Authorize answers slower than this at p99 over 5 minutes raise an alarm (charge points wait for it with the driver's card on the reader). */
export const AUTHORIZE_P99_THRESHOLD_MS = 25;

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
 * A custom metric as the handlers emit it (functions/shared/metric-names.ts): namespace VoltLedger,
 * dimension `service`.
 */
export function customMetric(service: string, metricName: string, options: { statistic: string; period: Duration; label?: string }): Metric {
  return new Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { [SERVICE_DIMENSION]: service }, ...options });
}

/**
 * Alarms that mean someone should look: any function error or throttle, any event parked in a
 * dead-letter queue (a consumer gave up on it: money may be waiting), Authorize slower than
 * 25 ms at p99, and the daily reconciliation finding sessions without a financial closure or
 * differences it cannot explain. Plus one dashboard.
 */
export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  readonly authorizeLatencyAlarm: Alarm;
  readonly sessionsWithoutClosureAlarm: Alarm;
  readonly unexplainedDifferencesAlarm: Alarm;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const action = props.alarmTopicArn ? new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)) : undefined;
    const alarm = (alarmId: string, metric: IMetric, description: string, threshold: { above: number } | { atLeast: number } = { atLeast: 1 }) => {
      const created = new Alarm(this, alarmId, {
        metric,
        threshold: 'above' in threshold ? threshold.above : threshold.atLeast,
        evaluationPeriods: 1,
        comparisonOperator: 'above' in threshold ? ComparisonOperator.GREATER_THAN_THRESHOLD : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (action) {
        created.addAlarmAction(action);
        created.addOkAction(action);
      }
      this.alarms.push(created);
      return created;
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

    const fiveMinuteP = (statistic: string) => ({ statistic, period: Duration.minutes(5) });
    const daily = { statistic: 'Maximum', period: Duration.days(1) };
    // Alarms watch the plain metric (a label would turn it into metric math); the dashboard gets labelled copies.
    const authorizeP99 = customMetric(OCPP_METRICS.service, OCPP_METRICS.authorizeLatency, fiveMinuteP('p99'));
    this.authorizeLatencyAlarm = alarm(
      'AuthorizeLatencyP99',
      authorizeP99,
      `OCPP Authorize: p99 above ${AUTHORIZE_P99_THRESHOLD_MS} ms over 5 minutes (from the $default invocation's start to the answer; drivers wait at the charger)`,
      { above: AUTHORIZE_P99_THRESHOLD_MS },
    );
    const withoutClosure = customMetric(RECONCILIATION_METRICS.service, RECONCILIATION_METRICS.sessionsWithoutClosure, daily);
    this.sessionsWithoutClosureAlarm = alarm(
      'SessionsWithoutFinancialClosure',
      withoutClosure,
      'Completed sessions older than 48 h without a financial closure (daily revenue assurance): see GET /admin/revenue-assurance; settle, bill or write them off',
      { above: 0 },
    );
    const unexplained = customMetric(RECONCILIATION_METRICS.service, RECONCILIATION_METRICS.unexplainedDifferences, daily);
    this.unexplainedDifferencesAlarm = alarm(
      'UnexplainedReconciliationDifferences',
      unexplained,
      "Yesterday's reconciliation found differences between sessions, Stripe and the ledger it cannot explain: see voltledger reconcile --date",
      { above: 0 },
    );

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
        [
          new GraphWidget({
            title: 'OCPP Authorize latency (ms) and CALLERRORs',
            left: [
              customMetric(OCPP_METRICS.service, OCPP_METRICS.authorizeLatency, { ...fiveMinuteP('p50'), label: 'Authorize p50' }),
              authorizeP99.with({ label: 'Authorize p99' }),
            ],
            leftAnnotations: [{ value: AUTHORIZE_P99_THRESHOLD_MS, label: `p99 alarm (${AUTHORIZE_P99_THRESHOLD_MS} ms)` }],
            right: [customMetric(OCPP_METRICS.service, OCPP_METRICS.callErrors, { ...fiveMinuteP('Sum'), label: 'CALLERRORs' })],
            width: 12,
          }),
          new GraphWidget({
            title: 'Revenue assurance (daily run)',
            left: [withoutClosure.with({ label: 'sessions without financial closure' }), unexplained.with({ label: 'unexplained reconciliation differences' })],
            leftAnnotations: [{ value: 0, label: 'both should be 0' }],
            width: 12,
          }),
        ],
      ],
    });
  }
}
