import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesize, type SynthesizedApp } from './support.ts';

describe('Stripe webhook endpoint, secrets and membership resync', () => {
  let synth: SynthesizedApp;
  let logicalId: (construct: { node: { defaultChild?: unknown } }) => string;

  beforeAll(() => {
    synth = synthesize();
    logicalId = (construct) => synth.stacks.app.getLogicalId(construct.node.defaultChild as CfnElement);
  });

  it('routes only POST /webhooks/stripe, without an authorizer (the function checks the Stripe signature), to the webhook function', () => {
    const apiId = logicalId(synth.stacks.app.stripeWebhook.api);
    const routes = Object.values(synth.application.findResources('AWS::ApiGatewayV2::Route')).filter((r: any) => r.Properties.ApiId.Ref === apiId);
    expect(routes.map((r: any) => r.Properties.RouteKey)).toEqual(['POST /webhooks/stripe']);
    expect((routes[0] as any).Properties.AuthorizationType).toBe('NONE');
    const integrations = Object.values(synth.application.findResources('AWS::ApiGatewayV2::Integration')).filter((r: any) => r.Properties.ApiId.Ref === apiId);
    expect(JSON.stringify(integrations)).toContain(logicalId(synth.stacks.app.functions.stripeWebhook!.fn));
  });

  it('throttles the webhook stage', () => {
    synth.application.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: logicalId(synth.stacks.app.stripeWebhook.api) },
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
  });

  it('keeps the Stripe credentials in one retained Secrets Manager secret, handed to functions by ARN only', () => {
    const secretId = logicalId(synth.stacks.app.stripeSecrets.secret);
    const secret = synth.application.toJSON().Resources[secretId];
    expect(secret.Type).toBe('AWS::SecretsManager::Secret');
    expect(secret.DeletionPolicy).toBe('Retain');
    const resources = synth.application.toJSON().Resources;
    for (const name of ['stripeWebhook', 'membershipResync', 'admin']) {
      const variables = resources[logicalId(synth.stacks.app.functions[name]!.fn)].Properties.Environment.Variables;
      expect(variables.STRIPE_SECRETS_ARN, name).toEqual({ Ref: secretId });
      expect(JSON.stringify(variables), name).not.toMatch(/sk_|whsec_/);
      expect(resources[logicalId(synth.stacks.app.functions[name]!.fn)].Properties.Layers, name).toHaveLength(1);
    }
    for (const name of ['connect', 'disconnect', 'message', 'sweep']) {
      expect(resources[logicalId(synth.stacks.app.functions[name]!.fn)].Properties.Environment.Variables.STRIPE_SECRETS_ARN, name).toBeUndefined();
    }
  });

  it('passes the membership policy to the functions', () => {
    const variables = synth.application.toJSON().Resources[logicalId(synth.stacks.app.functions.stripeWebhook!.fn)].Properties.Environment.Variables;
    expect(variables).toMatchObject({ MEMBER_GRANTING_STATUSES: 'trialing,active', PAST_DUE_GRACE_HOURS: '0' });
  });

  it('runs the membership resync hourly through EventBridge Scheduler', () => {
    synth.application.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(synth.stacks.app.functions.membershipResync!.fn), 'Arn'] } }),
    });
  });

  it('outputs the webhook URL and the secret ARN', () => {
    const outputs = synth.application.toJSON().Outputs;
    expect(outputs.StripeWebhookUrl).toBeDefined();
    expect(outputs.StripeSecretsArn).toBeDefined();
  });
});
