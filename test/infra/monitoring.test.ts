import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { unexplainedDifferences } from '../../functions/accounting/domain/reconciliation.ts';
import { METRICS_NAMESPACE, OCPP_METRICS, RECONCILIATION_METRICS, SERVICE_DIMENSION } from '../../functions/shared/metric-names.ts';
import { createMetrics, MetricUnit } from '../../functions/shared/metrics.ts';
import { AUTHORIZE_P99_THRESHOLD_MS } from '../../lib/infra/monitoring.ts';
import { synthesize, type SynthesizedApp } from './support.ts';

type Resource = { Type: string; Properties: any };

/**
 * The custom-metric alarms watch exactly what the handlers emit: the same namespace, metric name
 * and `service` dimension (functions/shared/metric-names.ts, imported by both sides), and the EMF
 * Powertools writes carries them as the alarm expects.
 */
describe('custom metrics and their alarms', () => {
  let synth: SynthesizedApp;
  let resources: Record<string, Resource>;
  const alarmOf = (construct: { node: { defaultChild?: unknown } }) => resources[synth.stacks.app.getLogicalId(construct.node.defaultChild as CfnElement)]!.Properties;

  beforeAll(() => {
    synth = synthesize();
    resources = synth.application.toJSON().Resources;
  });

  it("alarms when Authorize's p99 over 5 minutes is above 25 ms, on the handler's metric", () => {
    expect(AUTHORIZE_P99_THRESHOLD_MS).toBe(25);
    expect(alarmOf(synth.stacks.app.monitoring.authorizeLatencyAlarm)).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: OCPP_METRICS.authorizeLatency,
      Dimensions: [{ Name: SERVICE_DIMENSION, Value: OCPP_METRICS.service }],
      ExtendedStatistic: 'p99',
      Period: 300,
      Threshold: 25,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
    });
  });

  it.each([
    ['sessionsWithoutClosureAlarm', RECONCILIATION_METRICS.sessionsWithoutClosure],
    ['unexplainedDifferencesAlarm', RECONCILIATION_METRICS.unexplainedDifferences],
  ] as const)('%s: any value above 0 from the daily run, on the handler\'s metric', (alarm, metricName) => {
    expect(alarmOf(synth.stacks.app.monitoring[alarm])).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: metricName,
      Dimensions: [{ Name: SERVICE_DIMENSION, Value: RECONCILIATION_METRICS.service }],
      Statistic: 'Maximum',
      Period: 86_400,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('keeps the per-function, dead-letter and custom alarms together (and the dashboard shows the custom metrics)', () => {
    const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    const functions = Object.keys(synth.stacks.app.functions).length;
    expect(alarms).toHaveLength(functions * 2 + 3);
    const dashboard = JSON.stringify(Object.values(resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard')!.Properties.DashboardBody);
    for (const name of [OCPP_METRICS.authorizeLatency, OCPP_METRICS.callErrors, RECONCILIATION_METRICS.sessionsWithoutClosure, RECONCILIATION_METRICS.unexplainedDifferences]) {
      expect(dashboard).toContain(`\\"${name}\\"`);
    }
  });

  it('puts no Tags on the dashboard (CloudFormation takes none there in us-east-1 and other regions), while the alarms keep theirs', () => {
    const dashboard = Object.values(resources).find((r) => r.Type === 'AWS::CloudWatch::Dashboard')!;
    expect(dashboard.Properties.Tags).toBeUndefined();
    const alarm = Object.values(resources).find((r) => r.Type === 'AWS::CloudWatch::Alarm')!;
    expect(alarm.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'application', Value: 'voltledger' }, { Key: 'stage', Value: 'dev' }]));
  });

  it('gives the functions that emit the metrics the service name the alarms use', () => {
    const app = synth.stacks.app;
    const service = (name: string) => resources[app.getLogicalId(app.functions[name]!.fn.node.defaultChild as CfnElement)]!.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME;
    expect(service('message')).toBe(OCPP_METRICS.service);
    expect(service('reconciliationDaily')).toBe(RECONCILIATION_METRICS.service);
  });

  it("writes EMF under the alarm's namespace, with the service as its only dimension", () => {
    const metrics = createMetrics(OCPP_METRICS.service);
    metrics.addMetric(OCPP_METRICS.authorizeLatency, MetricUnit.Milliseconds, 7.5);
    const emf = metrics.serializeMetrics() as unknown as Record<string, any>;
    expect(emf._aws.CloudWatchMetrics).toEqual([
      { Namespace: METRICS_NAMESPACE, Dimensions: [[SERVICE_DIMENSION]], Metrics: [{ Name: OCPP_METRICS.authorizeLatency, Unit: 'Milliseconds' }] },
    ]);
    expect(emf[SERVICE_DIMENSION]).toBe(OCPP_METRICS.service);
    expect(emf[OCPP_METRICS.authorizeLatency]).toBe(7.5);
  });

  it('counts as unexplained every reconciliation item outside the explained classes', () => {
    expect(unexplainedDifferences({ matched: 10, pending_settlement: 2, fee: 3, refund: 1, dispute: 1, missing_in_stripe: 1, missing_in_ledger: 2, amount_mismatch: 1, unknown: 1 })).toBe(5);
    expect(unexplainedDifferences({ matched: 4 })).toBe(0);
  });
});
