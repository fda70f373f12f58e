import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineEvent } from '../../events/contract.ts';
import { eventPatternFor, SUBSCRIPTIONS, type Subscription } from '../../events/routing.ts';
import { SessionCompleted, SessionStarted } from '../../events/session-events.ts';
import { CONSUMERS } from '../../events/routing.ts';
import type { FunctionSpec } from '../../lib/function-spec.ts';
import { synthesize, type SynthesizedApp } from './support.ts';

// Test-only: SUBSCRIPTIONS is still empty, so the generator is driven with made-up subscriptions.
const PaymentCaptured = defineEvent({ source: 'voltledger.payments', detailType: 'PaymentCaptured', version: 1, data: z.object({ id: z.string() }) });
const TEST_SUBSCRIPTIONS: Subscription[] = [
  { ruleName: 'PricingOnSessionCompleted', consumer: 'pricing', events: [SessionCompleted] },
  { ruleName: 'AccountingOnMoneyEvents', consumer: 'accounting', events: [SessionStarted, PaymentCaptured, SessionCompleted] },
];
const TEST_CONSUMERS: Record<string, FunctionSpec> = {
  // Any existing entry will do: bundling is skipped in template tests.
  pricing: { entry: 'functions/ocpp/sweep.ts', description: 'test consumer', tables: { Sessions: 'read' } },
  accounting: { entry: 'functions/ocpp/sweep.ts', description: 'test consumer', tables: {}, publishesEvents: true },
};

type Resources = Record<string, { Type: string; Properties: any }>;

describe('event rules generated from subscriptions', () => {
  let synth: SynthesizedApp;
  let resources: Resources;
  const id = (element: unknown) => synth.stacks.app.getLogicalId(element as CfnElement);

  beforeAll(() => {
    synth = synthesize({ subscriptions: TEST_SUBSCRIPTIONS, consumers: TEST_CONSUMERS });
    resources = synth.application.toJSON().Resources;
  });

  it('creates one rule per subscription, on the VoltLedger bus', () => {
    const rules = Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(rules).toHaveLength(TEST_SUBSCRIPTIONS.length);
    for (const rule of rules) expect(rule.Properties.EventBusName).toEqual({ Ref: id(synth.stacks.app.events.bus.node.defaultChild) });
  });

  it.each(TEST_SUBSCRIPTIONS)('$ruleName: pattern is eventPatternFor(subscription), target is its consumer with retries and its own DLQ', (subscription) => {
    const routed = synth.stacks.app.events.routed.find((r) => r.subscription === subscription)!;
    const rule = resources[id(routed.rule.node.defaultChild)]!.Properties;
    expect(rule.EventPattern).toEqual(eventPatternFor(subscription));

    const consumerFn = synth.stacks.app.functions[subscription.consumer]!.fn;
    expect(rule.Targets).toEqual([
      {
        Arn: { 'Fn::GetAtt': [id(consumerFn.node.defaultChild), 'Arn'] },
        Id: 'Target0',
        RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(routed.deadLetterQueue.node.defaultChild), 'Arn'] } },
      },
    ]);
  });

  it('gives each target its own encrypted, TLS-only dead-letter queue, alarmed when anything lands in it', () => {
    const queues = synth.stacks.app.events.routed.map((r) => id(r.deadLetterQueue.node.defaultChild));
    expect(new Set(queues).size).toBe(TEST_SUBSCRIPTIONS.length);
    for (const queueId of queues) {
      expect(resources[queueId]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
      const alarm = Object.values(resources).find(
        (r) => r.Type === 'AWS::CloudWatch::Alarm' && JSON.stringify(r.Properties.Dimensions ?? []).includes(queueId),
      );
      expect(alarm?.Properties).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
      const policy = Object.values(resources).find((r) => r.Type === 'AWS::SQS::QueuePolicy' && JSON.stringify(r.Properties.Queues).includes(queueId));
      // enforceSSL, plus EventBridge's permission to send the events it gave up on.
      expect(JSON.stringify(policy?.Properties.PolicyDocument)).toContain('aws:SecureTransport');
      expect(JSON.stringify(policy?.Properties.PolicyDocument)).toContain('events.amazonaws.com');
    }
  });

  it("creates each consumer's function once, from its entry in the consumer map, with its own grants", () => {
    expect(Object.keys(synth.stacks.app.functions)).toEqual(expect.arrayContaining(['pricing', 'accounting']));
    expect(synth.stacks.app.functions.pricing!.spec).toBe(TEST_CONSUMERS.pricing);
  });

  it('refuses a subscription whose consumer has no function', () => {
    expect(() =>
      synthesize({ subscriptions: [{ ruleName: 'Orphan', consumer: 'nobody', events: [SessionCompleted] }], consumers: {} }),
    ).toThrow(/consumer "nobody".*CONSUMERS/);
  });

  it('deploys exactly the subscriptions in force, each with an entry in CONSUMERS', () => {
    for (const s of SUBSCRIPTIONS) expect(CONSUMERS[s.consumer], `consumer ${s.consumer} of ${s.ruleName}`).toBeDefined();
    const production = synthesize({ subscriptions: SUBSCRIPTIONS });
    production.application.resourceCountIs('AWS::Events::Rule', SUBSCRIPTIONS.length);
  });
});
