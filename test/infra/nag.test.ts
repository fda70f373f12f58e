import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionCompleted } from '../../events/session-events.ts';
import { synthesize, type SynthesizedApp } from './support.ts';

interface Violation {
  ruleName: string;
  severity?: string;
  violatingResources: Array<{ resourceLogicalId: string; templatePath: string }>;
}

function acknowledgementsUnder(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ path: construct.node.path, id, reason }))),
  );
}

describe('cdk-nag AwsSolutions', () => {
  let outdir: string;
  let synth: SynthesizedApp;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'voltledger-nag-'));
    // With a subscription and a custom domain too, so the DLQ and TLS paths are checked as well.
    // cdk-nag v3 is a policy-validation plugin: an unacknowledged error makes the synth throw.
    synth = synthesize({
      nag: true,
      outdir,
      subscriptions: [{ ruleName: 'PricingOnSessionCompleted', consumer: 'pricing', events: [SessionCompleted] }],
      consumers: { pricing: { entry: 'functions/ocpp/sweep.ts', description: 'test consumer', tables: { Sessions: 'read' } } },
    });
    synth.app.synth();
  });

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('reports no unacknowledged error (the synth would have thrown) and no error in the validation report', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ pluginName: string; violations: Violation[] }>;
    };
    const errors = report.pluginReports.flatMap((p) => p.violations).filter((v) => v.severity !== 'warning' && v.severity !== 'info');
    expect(errors).toEqual([]);
  });

  it('reports no unacknowledged error for the production configuration either', () => {
    expect(() => synthesize({ nag: true, config: { messageProvisionedConcurrency: 2 } }).app.synth()).not.toThrow();
  });

  it('carries a reason on every acknowledgement, and acknowledges only AwsSolutions rules', () => {
    const acknowledgements = acknowledgementsUnder(synth.app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const ack of acknowledgements) {
      expect(ack.id, ack.path).toMatch(/^AwsSolutions::AwsSolutions-[A-Z]+\d+/);
      expect(ack.reason.trim().length, `${ack.path} ${ack.id}`).toBeGreaterThan(30);
    }
  });

  it('excuses wildcard resources one by one (table indexes, @connections, scheduled function versions, export bucket objects, X-Ray), never a whole rule', () => {
    const wildcard = acknowledgementsUnder(synth.app).filter((a) => a.id.includes('IAM5'));
    expect(wildcard.length).toBeGreaterThan(0);
    for (const ack of wildcard) expect(ack.id).toMatch(/IAM5\[Resource::(\*|.*(\/index\/\*|\/@connections\/\*|\.Arn>:\*|Bucket[0-9A-F]{8}\.Arn>\/\*))\]$/);
    // A bare "*" is excused only on function roles, and only for X-Ray (whose write actions take no resource ARN).
    for (const ack of wildcard.filter((a) => a.id.endsWith('[Resource::*]'))) {
      expect(ack.reason, ack.path).toMatch(/xray:PutTraceSegments/);
      expect(ack.path, ack.id).toMatch(/^VoltLedger-dev-App\/[^/]+$/);
    }
  });
});
