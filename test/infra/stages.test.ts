import { describe, expect, it } from 'vitest';
import { synthesize } from './support.ts';

describe('stages', () => {
  it.each([
    ['dev', false],
    ['prod', true],
  ] as const)('%s: its own pair of stacks, named after the stage, termination protection on the tables only in prod', (stage, protectedTables) => {
    const synth = synthesize({ config: { stage } });
    expect(synth.stacks.stateful.stackName).toBe(`VoltLedger-${stage}-Stateful`);
    expect(synth.stacks.app.stackName).toBe(`VoltLedger-${stage}-App`);
    expect(synth.stacks.stateful.terminationProtection).toBe(protectedTables);
    // The WebSocket stage is named after the deployment stage; any physical name in the template is
    // one CDK derives from the stack (so two stages never collide), none is written by hand.
    synth.application.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: stage });
    const template = synth.application.toJSON();
    const named: string[] = [];
    for (const [id, resource] of Object.entries(template.Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>)) {
      for (const key of ['FunctionName', 'TableName', 'BucketName', 'QueueName', 'Name', 'TopicName', 'SecretName']) {
        const value = resource.Properties?.[key];
        // An API Gateway API's Name is a console label (CDK defaults it to the construct id), not an identity.
        if (typeof value !== 'string' || resource.Type === 'AWS::ApiGatewayV2::Api') continue;
        named.push(`${resource.Type}.${key}`);
        expect(value.toLowerCase(), `${id}.${key}`).toContain(stage);
      }
    }
    expect(named.length).toBeGreaterThan(0);
  });
});
