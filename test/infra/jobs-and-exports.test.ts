import type { CfnElement } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUBSCRIPTIONS } from '../../events/routing.ts';
import { synthesize, type SynthesizedApp } from './support.ts';

type Resource = { Type: string; Properties: any; DeletionPolicy?: string };

let synth: SynthesizedApp;
let resources: Record<string, Resource>;
const fnArn = (name: string) => ({ 'Fn::GetAtt': [synth.stacks.app.getLogicalId(synth.stacks.app.functions[name]!.fn.node.defaultChild as CfnElement), 'Arn'] });

beforeAll(() => {
  // Every subscription, so consumer functions exist too (their environments are scanned below).
  synth = synthesize({ subscriptions: SUBSCRIPTIONS });
  resources = synth.application.toJSON().Resources;
});

describe('recurring jobs (EventBridge Scheduler)', () => {
  it.each([
    ['sweep', 'rate(1 minute)', 0],
    ['readerPaymentSweep', 'rate(1 minute)', 0],
    ['membershipResync', 'rate(1 hour)', 2],
    ['reconciliationDaily', 'cron(0 5 * * ? *)', 3],
    ['nightlyExport', 'cron(0 3 * * ? *)', 3],
    ['fleetStatements', 'cron(0 14 1 * ? *)', 3],
  ] as const)('%s runs at %s (UTC) with %i retries', (name, expression, retries) => {
    synth.application.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: 'Etc/UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: fnArn(name), RetryPolicy: { MaximumRetryAttempts: retries } },
    });
  });

  it('has one schedule per job, nothing else', () => {
    expect(Object.values(resources).filter((r) => r.Type === 'AWS::Scheduler::Schedule')).toHaveLength(6);
  });
});

describe('export bucket', () => {
  const bucket = () => resources[synth.stacks.app.getLogicalId(synth.stacks.app.exportBucket.bucket.node.defaultChild as CfnElement)]!;
  const logs = () => resources[synth.stacks.app.getLogicalId(synth.stacks.app.exportBucket.accessLogs.node.defaultChild as CfnElement)]!;

  it('is encrypted, private, versioned, logged, retained, and expires files after the configured days (default 400)', () => {
    expect(bucket().DeletionPolicy).toBe('Retain');
    expect(bucket().Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: { DestinationBucketName: { Ref: synth.stacks.app.getLogicalId(synth.stacks.app.exportBucket.accessLogs.node.defaultChild as CfnElement) }, LogFilePrefix: 'export-bucket/' },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ Status: 'Enabled', ExpirationInDays: 400, NoncurrentVersionExpiration: { NoncurrentDays: 400 } })] },
    });
    expect(logs().Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 90 })] },
    });
  });

  it('refuses plain HTTP on both buckets', () => {
    const policies = Object.values(resources).filter((r) => r.Type === 'AWS::S3::BucketPolicy');
    for (const b of [synth.stacks.app.exportBucket.bucket, synth.stacks.app.exportBucket.accessLogs]) {
      const ref = { Ref: synth.stacks.app.getLogicalId(b.node.defaultChild as CfnElement) };
      const policy = policies.find((p) => JSON.stringify(p.Properties.Bucket) === JSON.stringify(ref))!;
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('takes its retention from the configuration', () => {
    const custom = synthesize({ config: { exportRetentionDays: 30 } });
    custom.application.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, NoncurrentVersionExpiration: { NoncurrentDays: 30 } })] },
    });
  });

  it('is named to the export function only, and published as an output', () => {
    const app = synth.stacks.app;
    for (const [name, f] of Object.entries(app.functions)) {
      const variables = resources[app.getLogicalId(f.fn.node.defaultChild as CfnElement)]!.Properties.Environment.Variables;
      expect(variables.EXPORT_BUCKET_NAME !== undefined, name).toBe(name === 'nightlyExport');
    }
    expect(synth.application.toJSON().Outputs.ExportBucketName.Value).toEqual({ Ref: app.getLogicalId(app.exportBucket.bucket.node.defaultChild as CfnElement) });
  });
});

describe('outputs', () => {
  it('publishes the OCPP URL, the Stripe webhook URL, the admin API URL, the export bucket and the secrets to fill in', () => {
    expect(Object.keys(synth.application.toJSON().Outputs)).toEqual(
      expect.arrayContaining(['OcppUrl', 'StripeWebhookUrl', 'AdminApiUrl', 'ExportBucketName', 'StripeSecretsArn', 'AccountingSecretArn', 'EventBusName']),
    );
  });
});

describe('no secret in an environment variable or the template', () => {
  /** Stripe secret and restricted keys, webhook signing secrets: the shapes a pasted secret would have. */
  const SECRET_SHAPES = [/\b(sk|rk)_(live|test)_[A-Za-z0-9]{8,}/, /\bwhsec_[A-Za-z0-9+/=]{8,}/];

  it('gives no function a Stripe-looking value, nor any value naming a Secrets Manager value; secrets arrive as ARNs', () => {
    const app = synth.stacks.app;
    for (const [name, f] of Object.entries(app.functions)) {
      const variables = resources[app.getLogicalId(f.fn.node.defaultChild as CfnElement)]!.Properties.Environment.Variables as Record<string, unknown>;
      for (const [key, value] of Object.entries(variables)) {
        const text = JSON.stringify(value);
        expect(text, `${name} ${key}`).not.toMatch(/sk_|rk_|whsec_/);
        expect(text, `${name} ${key}`).not.toMatch(/resolve:secretsmanager|SecretString/i);
        expect(key, name).not.toMatch(/^(STRIPE_SECRET_KEY|STRIPE_WEBHOOK_SECRET|ACCOUNTING_WEBHOOK_SECRET)$/);
      }
      if (f.spec.readsStripeSecrets) {
        expect(variables.STRIPE_SECRETS_ARN, name).toEqual({ Ref: app.getLogicalId(app.stripeSecrets.secret.node.defaultChild as CfnElement) });
      } else expect(variables.STRIPE_SECRETS_ARN, name).toBeUndefined();
      if (f.spec.readsAccountingSecret) {
        expect(variables.ACCOUNTING_SECRETS_ARN, name).toEqual({ Ref: app.getLogicalId(app.accountingSecret.secret.node.defaultChild as CfnElement) });
      } else expect(variables.ACCOUNTING_SECRETS_ARN, name).toBeUndefined();
    }
  });

  it('holds no secret value anywhere in either template: no Stripe-shaped string, no dynamic reference, no SecretString', () => {
    for (const template of [synth.application, synth.stateful]) {
      const text = JSON.stringify(template.toJSON());
      for (const shape of SECRET_SHAPES) expect(text).not.toMatch(shape);
      expect(text).not.toMatch(/\{\{resolve:(secretsmanager|ssm-secure)/);
    }
    for (const secret of Object.values(resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret')) {
      // Generated by Secrets Manager at deploy time (or put there by the operator), never written in the template.
      expect(secret.Properties.SecretString).toBeUndefined();
      expect(secret.Properties.GenerateSecretString).toBeDefined();
    }
  });
});
