import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { afterAll } from 'vitest';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import cdkJson from '../../cdk.json' with { type: 'json' };
import type { Subscription } from '../../events/routing.ts';
import type { VoltLedgerConfig } from '../../lib/infra/config.ts';
import type { FunctionSpec } from '../../lib/function-spec.ts';
import { addVoltLedgerStacks, type VoltLedgerStacks } from '../../lib/infra/voltledger-app.ts';

export const TEST_ENV = { account: '123456789012', region: 'eu-central-1' };

export const TEST_CONFIG: VoltLedgerConfig = {
  stage: 'dev',
  logLevel: 'INFO',
  logRetention: RetentionDays.TWO_WEEKS,
  messageProvisionedConcurrency: 0,
  heartbeatIntervalSeconds: 300,
  sessionIdleLimitSeconds: 4 * 3600,
  ocppThrottle: { rateLimit: 100, burstLimit: 200 },
};

export interface SynthesizedApp {
  app: App;
  stacks: VoltLedgerStacks;
  stateful: Template;
  application: Template;
}

/**
 * Synthesizes VoltLedger the way bin/cdk.ts does (cdk.json's feature flags, both stacks), but with
 * bundling skipped: `aws:cdk:bundling-stacks: []` is CDK's own switch for that, so the template is
 * the product's and only the asset is a placeholder. test/infra/bundles.test.ts bundles for real.
 *
 * Subscriptions default to none, so that a subscription added to events/routing.ts ahead of its
 * consumer fails one test (event-routing.test.ts, which synthesizes the real SUBSCRIPTIONS) rather
 * than every template test.
 */
/**
 * Every synthesis of a test file writes under one temporary folder, removed after the file's tests
 * (vitest evaluates this module once per test file, so the hook lands in each file).
 */
const SYNTH_ROOT = mkdtempSync(join(tmpdir(), 'voltledger-synth-'));
afterAll(() => rmSync(SYNTH_ROOT, { recursive: true, force: true }));

export function synthesize(
  options: {
    config?: Partial<VoltLedgerConfig>;
    subscriptions?: readonly Subscription[];
    consumers?: Readonly<Record<string, FunctionSpec>>;
    nag?: boolean;
    outdir?: string;
  } = {},
): SynthesizedApp {
  const app = new App({
    context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] },
    outdir: options.outdir ?? mkdtempSync(join(SYNTH_ROOT, 'cdk.out-')),
  });
  const stacks = addVoltLedgerStacks(app, { ...TEST_CONFIG, ...options.config }, {
    env: TEST_ENV,
    subscriptions: options.subscriptions ?? [],
    consumers: options.consumers,
  });
  if (options.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stacks, stateful: Template.fromStack(stacks.stateful), application: Template.fromStack(stacks.app) };
}
