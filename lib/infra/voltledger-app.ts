import { Tags, type App, type Environment } from 'aws-cdk-lib';
import type { Subscription } from '../../events/routing.ts';
import { AppStack } from './app-stack.ts';
import type { VoltLedgerConfig } from './config.ts';
import type { FunctionSpec } from '../function-spec.ts';
import { StatefulStack } from './stateful-stack.ts';

/**
 * Resource types the stack tags skip. AWS::CloudWatch::Dashboard accepts `Tags` only in some
 * regions (CloudFormation's us-east-1 schema, among others, has no such property, so the stack
 * would fail there; cfn-lint E3002), and the stacks deploy to whichever region `cdk deploy` runs in.
 */
const UNTAGGED = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };

export interface VoltLedgerStacks {
  readonly stateful: StatefulStack;
  readonly app: AppStack;
}

/**
 * Adds VoltLedger's two stacks for one stage to an app: `VoltLedger-{stage}-Stateful` (tables) and
 * `VoltLedger-{stage}-App` (everything else, depending on the first). bin/cdk.ts and the
 * infrastructure tests both build the app through this.
 */
export function addVoltLedgerStacks(
  app: App,
  config: VoltLedgerConfig,
  options: { env?: Environment; subscriptions?: readonly Subscription[]; consumers?: Readonly<Record<string, FunctionSpec>> } = {},
): VoltLedgerStacks {
  const prefix = `VoltLedger-${config.stage}`;
  const stateful = new StatefulStack(app, `${prefix}-Stateful`, {
    env: options.env,
    description: `VoltLedger ${config.stage}: DynamoDB tables (retained, point-in-time recovery)`,
    terminationProtection: config.stage === 'prod',
  });
  const appStack = new AppStack(app, `${prefix}-App`, {
    env: options.env,
    description: `VoltLedger ${config.stage}: OCPP edge, admin API, event routing, functions, monitoring`,
    config,
    statefulStackName: stateful.stackName,
    subscriptions: options.subscriptions,
    consumers: options.consumers,
  });
  appStack.addStackDependency(stateful);
  for (const stack of [stateful, appStack]) {
    Tags.of(stack).add('application', 'voltledger', UNTAGGED);
    Tags.of(stack).add('stage', config.stage, UNTAGGED);
  }
  return { stateful, app: appStack };
}
