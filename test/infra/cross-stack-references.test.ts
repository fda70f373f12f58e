import { App, CfnOutput, Fn, Stack, type CfnElement } from 'aws-cdk-lib';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUBSCRIPTIONS } from '../../events/routing.ts';
import { STAGES } from '../../lib/infra/config.ts';
import { TABLE_LOGICAL_IDS } from '../../lib/infra/stateful-stack.ts';
import { TABLES } from '../../lib/tables.ts';
import { synthesize, type SynthesizedApp } from './support.ts';

/** Intrinsics that read a value of another stack. */
const CROSS_STACK_IMPORTS = ['Fn::GetStackOutput', 'Fn::ImportValue'];
/** Intrinsics CloudFormation does not accept a cross-stack import inside (cfn-lint E1017). */
const STRING_SURGERY = ['Fn::Split', 'Fn::Select'];

/**
 * Every place in a template where a cross-stack import sits inside `Fn::Split` or `Fn::Select`,
 * as `<path of the Split/Select> <- <the import>`. CDK writes such a nest when it cuts a name out
 * of an imported ARN (a DynamoDB table imported by ARN, say): CloudFormation's schema does not
 * allow it, so cfn-lint rejects the template (E1017).
 */
function crossStackImportsInStringSurgery(template: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown, path: string, surgery: string | undefined): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => {
        visit(item, `${path}[${index}]`, surgery);
      });
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      const here = `${path}/${key}`;
      if (surgery && CROSS_STACK_IMPORTS.includes(key)) found.push(`${surgery} <- ${key} ${JSON.stringify(value)}`);
      visit(value, here, surgery ?? (STRING_SURGERY.includes(key) ? here : undefined));
    }
  };
  visit(template, '', undefined);
  return found;
}

/** Every template of an app (nested stages included), by stack name. */
function templatesOf(app: App): Record<string, unknown> {
  return Object.fromEntries(app.synth().stacksRecursively.map((stack) => [stack.stackName, stack.template]));
}

describe('cross-stack references', () => {
  describe('the check itself', () => {
    it.each(CROSS_STACK_IMPORTS)('flags a table imported by an ARN read through %s, whose name CDK cuts out with Fn::Split/Fn::Select', (intrinsic) => {
      // The mechanism the application stack used before it imported tables by name.
      const app = new App();
      const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-central-1' } });
      const tableArn = intrinsic === 'Fn::GetStackOutput' ? Fn.getStackOutput('Producer', 'SessionsTableArn') : Fn.importValue('SessionsTableArn');
      const table = Table.fromTableAttributes(stack, 'Sessions', { tableArn });
      new CfnOutput(stack, 'SessionsTableName', { value: table.tableName });
      const found = crossStackImportsInStringSurgery(templatesOf(app));
      expect(found.length).toBeGreaterThan(0);
      expect(found[0]).toContain(intrinsic);
    });

    it('passes an import used as it is, or joined into a longer string', () => {
      const template = {
        Resources: {
          Fn: {
            Properties: {
              Environment: { Variables: { T: { 'Fn::GetStackOutput': { StackName: 'S', OutputName: 'TName' } } } },
              Arn: { 'Fn::Join': ['', ['arn:aws:dynamodb:eu-central-1:123456789012:table/', { 'Fn::ImportValue': 'TName' }]] },
              Az: { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
            },
          },
        },
      };
      expect(crossStackImportsInStringSurgery(template)).toEqual([]);
    });
  });

  describe.each(STAGES)('%s', (stage) => {
    let synth: SynthesizedApp;
    beforeAll(() => {
      // Every subscription, so every consumer function (and its table names) is in the template.
      synth = synthesize({ config: { stage }, subscriptions: SUBSCRIPTIONS });
    });

    it('no template nests Fn::GetStackOutput or Fn::ImportValue inside Fn::Split or Fn::Select', () => {
      const templates = templatesOf(synth.app);
      expect(Object.keys(templates).sort()).toEqual([`VoltLedger-${stage}-App`, `VoltLedger-${stage}-Stateful`]);
      for (const [stackName, template] of Object.entries(templates)) {
        expect(crossStackImportsInStringSurgery(template), stackName).toEqual([]);
      }
    });

    it("every function receives each table's name as the stateful stack's <table>Name output, unchanged", () => {
      const app = synth.stacks.app;
      const resources = synth.application.toJSON().Resources as Record<string, { Properties: { Environment: { Variables: Record<string, unknown> } } }>;
      const outputs = synth.stateful.toJSON().Outputs as Record<string, { Value: unknown }>;
      expect(Object.keys(app.functions).length).toBeGreaterThan(0);
      for (const [name, f] of Object.entries(app.functions)) {
        const variables = resources[app.getLogicalId(f.fn.node.defaultChild as CfnElement)]!.Properties.Environment.Variables;
        for (const table of Object.values(TABLES)) {
          const outputName = `${TABLE_LOGICAL_IDS[table.id]}Name`;
          expect(variables[table.envVar], `${name} ${table.envVar}`).toEqual({
            'Fn::GetStackOutput': { StackName: `VoltLedger-${stage}-Stateful`, OutputName: outputName },
          });
          expect(outputs[outputName]?.Value, outputName).toEqual({ Ref: TABLE_LOGICAL_IDS[table.id] });
        }
      }
    });
  });
});
