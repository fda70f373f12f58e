import type { CfnElement } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { SUBSCRIPTIONS } from '../../events/routing.ts';
import { TABLES } from '../../lib/tables.ts';
import { synthesize, type SynthesizedApp } from './support.ts';

const READ = ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:Query', 'dynamodb:Scan'];
const READ_WRITE = [...READ, 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'].sort();

/** A table's name as the application stack reads it from the stateful stack (its `<logical id>Name` output). */
const tableName = (logicalId: string) => ({ 'Fn::GetStackOutput': { StackName: 'VoltLedger-dev-Stateful', OutputName: `${logicalId}Name` } });
/** A table's ARN in the application stack: CDK builds it from that name, in the stacks' (shared) account and region. */
const TABLE_ARN_PREFIX = 'arn:aws:dynamodb:eu-central-1:123456789012:table/';
const tableArn = (logicalId: string) => ({ 'Fn::Join': ['', [TABLE_ARN_PREFIX, tableName(logicalId)]] });
const indexArns = (logicalId: string) => ({ 'Fn::Join': ['', [TABLE_ARN_PREFIX, tableName(logicalId), '/index/*']] });

/** What a function may do: action -> resources, flattened from its role's policies. */
type Permissions = Record<string, unknown[]>;

/** The statement CDK adds for active tracing (Tracing.ACTIVE): X-Ray's write actions take no resource ARN. */
const TRACING_STATEMENT = { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Effect: 'Allow', Resource: '*' };

/**
 * A role's permissions from the template's policies, with CDK's own tracing statement checked
 * (present exactly once, exactly as CDK writes it) and set aside, so each function's test lists
 * only its grants; any other X-Ray action or `*` resource still shows up and fails it.
 */
function permissionsOfRole(resources: Record<string, { Type: string; Properties: any }>, roleId: string): Permissions {
  const permissions: Permissions = {};
  let tracing = 0;
  for (const policy of Object.values(resources)) {
    if (policy.Type !== 'AWS::IAM::Policy' || !policy.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId)) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      expect(statement.Effect).toBe('Allow');
      if (JSON.stringify({ ...statement, Action: [statement.Action].flat().sort() }) === JSON.stringify(TRACING_STATEMENT)) {
        tracing++;
        continue;
      }
      for (const action of [statement.Action].flat()) {
        permissions[action] = [...(permissions[action] ?? []), ...[statement.Resource].flat()];
      }
    }
  }
  expect(tracing, `${roleId}: the X-Ray tracing statement`).toBe(1);
  return permissions;
}

describe('function permissions', () => {
  let synth: SynthesizedApp;
  let permissionsOf: (name: string) => Permissions;
  let managedPoliciesOf: (name: string) => unknown;
  let apiRef: { Ref: string };
  let busArn: unknown;
  let stripeSecretRef: unknown;
  let accountingSecretRef: unknown;

  beforeAll(() => {
    // Every subscription, so consumer functions (pricing, payments, ledger, accounting-sync, reconciliation) exist too.
    synth = synthesize({ subscriptions: SUBSCRIPTIONS });
    const app = synth.stacks.app;
    const resources = synth.application.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
    const roleIdOf = (name: string) => resources[app.getLogicalId(app.functions[name]!.fn.node.defaultChild as CfnElement)]!.Properties.Role['Fn::GetAtt'][0];
    permissionsOf = (name) => permissionsOfRole(resources, roleIdOf(name));
    managedPoliciesOf = (name) => resources[roleIdOf(name)]!.Properties.ManagedPolicyArns;
    apiRef = { Ref: app.getLogicalId(app.ocpp.api.node.defaultChild as CfnElement) };
    busArn = { 'Fn::GetAtt': [app.getLogicalId(app.events.bus.node.defaultChild as CfnElement), 'Arn'] };
    stripeSecretRef = { Ref: app.getLogicalId(app.stripeSecrets.secret.node.defaultChild as CfnElement) };
    accountingSecretRef = { Ref: app.getLogicalId(app.accountingSecret.secret.node.defaultChild as CfnElement) };
  });

  /** Reading the one Stripe secret, as `secret.grantRead` writes it. */
  const readStripeSecret = () => ({ 'secretsmanager:DescribeSecret': [stripeSecretRef], 'secretsmanager:GetSecretValue': [stripeSecretRef] });
  const readAccountingSecret = () => ({ 'secretsmanager:DescribeSecret': [accountingSecretRef], 'secretsmanager:GetSecretValue': [accountingSecretRef] });

  const manageConnections = () => ({
    'Fn::Join': ['', ['arn:aws:execute-api:eu-central-1:123456789012:', apiRef, '/dev/*/@connections/*']],
  });
  const readWrite = (resources: unknown[]) => Object.fromEntries(READ_WRITE.map((a) => [a, resources]));
  /** Merges per-action resource lists, in the order the grants add them. */
  const merge = (...parts: Permissions[]): Permissions => {
    const out: Permissions = {};
    for (const part of parts) for (const [action, resources] of Object.entries(part)) out[action] = [...(out[action] ?? []), ...resources];
    return out;
  };
  const sortResources = (p: Permissions) =>
    Object.fromEntries(Object.entries(p).sort(([a], [b]) => a.localeCompare(b)).map(([a, r]) => [a, [...r].map((x) => JSON.stringify(x)).sort()]));

  it.each(['connect', 'disconnect'])('%s: reads and writes the Registry table, nothing else (no PutEvents, no @connections)', (name) => {
    expect(sortResources(permissionsOf(name))).toEqual(sortResources(readWrite([tableArn('RegistryTable')])));
  });

  it('message: Registry, Sessions and Entitlements (active-session marker) read/write, Tariffs read, PutEvents on the bus; no @connections (answers go out as route responses)', () => {
    expect(sortResources(permissionsOf('message'))).toEqual(
      sortResources(
        merge(
          readWrite([tableArn('RegistryTable'), tableArn('SessionsTable'), indexArns('SessionsTable'), tableArn('EntitlementsTable')]),
          Object.fromEntries(READ.map((a) => [a, [tableArn('TariffsTable')]])),
          { 'events:PutEvents': [busArn] },
        ),
      ),
    );
  });

  it('admin: every table read/write, PutEvents (complete-idle-sessions, statements, write-offs), ManageConnections (commands), the Stripe secret (drivers, resync, refunds, readers, invoices, reconciliation), the accounting secret (replay)', () => {
    expect(sortResources(permissionsOf('admin'))).toEqual(
      sortResources(
        merge(
          readWrite([
            ...Object.values(TABLES).map((t) => tableArn(`${t.id}Table`)),
            indexArns('SessionsTable'),
            indexArns('PaymentsTable'),
            indexArns('FleetTable'),
            indexArns('LedgerTable'),
          ]),
          { 'events:PutEvents': [busArn] },
          { 'execute-api:ManageConnections': [manageConnections()] },
          readStripeSecret(),
          readAccountingSecret(),
        ),
      ),
    );
  });

  it('ledger consumer: Ledger read/write and PutEvents (JournalEntryPosted), no secret, no other table', () => {
    expect(sortResources(permissionsOf('ledger'))).toEqual(sortResources(merge(readWrite([tableArn('LedgerTable'), indexArns('LedgerTable')]), { 'events:PutEvents': [busArn] })));
  });

  it('accounting-sync consumer: Ledger read/write and the accounting secret, nothing else (no PutEvents, no Stripe)', () => {
    expect(sortResources(permissionsOf('accounting-sync'))).toEqual(sortResources(merge(readWrite([tableArn('LedgerTable'), indexArns('LedgerTable')]), readAccountingSecret())));
  });

  it.each(['reconciliation', 'reconciliationDaily'])('%s: Ledger read/write, Sessions read (revenue assurance), the Stripe secret; no PutEvents', (name) => {
    expect(sortResources(permissionsOf(name))).toEqual(
      sortResources(
        merge(
          readWrite([tableArn('LedgerTable'), indexArns('LedgerTable')]),
          Object.fromEntries(READ.map((a) => [a, [tableArn('SessionsTable'), indexArns('SessionsTable')]])),
          readStripeSecret(),
        ),
      ),
    );
  });

  it('membershipResync: Entitlements read/write and the Stripe secret, nothing else (no PutEvents, no @connections)', () => {
    expect(sortResources(permissionsOf('membershipResync'))).toEqual(sortResources(merge(readWrite([tableArn('EntitlementsTable')]), readStripeSecret())));
  });

  it('stripeWebhook: Entitlements, Payments and Registry read/write, Sessions and Tariffs read, PutEvents (money events), ManageConnections (reader RemoteStart), the Stripe secret', () => {
    expect(sortResources(permissionsOf('stripeWebhook'))).toEqual(
      sortResources(
        merge(
          readWrite([tableArn('EntitlementsTable'), tableArn('PaymentsTable'), indexArns('PaymentsTable'), tableArn('RegistryTable')]),
          Object.fromEntries(READ.map((a) => [a, [tableArn('SessionsTable'), indexArns('SessionsTable'), tableArn('TariffsTable')]])),
          { 'events:PutEvents': [busArn] },
          { 'execute-api:ManageConnections': [manageConnections()] },
          readStripeSecret(),
        ),
      ),
    );
  });

  it('payments consumer: Payments and Registry read/write, Sessions, Tariffs and Entitlements read, PutEvents, ManageConnections (RemoteStop), the Stripe secret', () => {
    expect(sortResources(permissionsOf('payments'))).toEqual(
      sortResources(
        merge(
          readWrite([tableArn('PaymentsTable'), indexArns('PaymentsTable'), tableArn('RegistryTable')]),
          Object.fromEntries(READ.map((a) => [a, [tableArn('SessionsTable'), indexArns('SessionsTable'), tableArn('TariffsTable'), tableArn('EntitlementsTable')]])),
          { 'events:PutEvents': [busArn] },
          { 'execute-api:ManageConnections': [manageConnections()] },
          readStripeSecret(),
        ),
      ),
    );
  });

  it('readerPaymentSweep: Payments read/write, the Stripe secret, no PutEvents, no @connections', () => {
    const perms = permissionsOf('readerPaymentSweep');
    // Sorted: CDK orders a statement's resources by their rendered text, which says nothing about the grant.
    expect(perms['dynamodb:PutItem']?.map((r) => JSON.stringify(r)).sort()).toEqual([JSON.stringify(tableArn('PaymentsTable')), JSON.stringify(indexArns('PaymentsTable'))].sort());
    expect(perms['events:PutEvents']).toBeUndefined();
    expect(perms['execute-api:ManageConnections']).toBeUndefined();
    expect(perms['secretsmanager:GetSecretValue']).toEqual([stripeSecretRef]);
  });

  it('sweep: Sessions read/write and PutEvents, nothing else', () => {
    expect(sortResources(permissionsOf('sweep'))).toEqual(
      sortResources(merge(readWrite([tableArn('SessionsTable'), indexArns('SessionsTable')]), { 'events:PutEvents': [busArn] })),
    );
  });

  /** A consumer's permissions, synthesized with only its own subscriptions. */
  function consumerPermissions(consumer: string): { permissions: Permissions; bus: unknown } {
    const synthesized = synthesize({ subscriptions: SUBSCRIPTIONS.filter((s) => s.consumer === consumer) });
    const app = synthesized.stacks.app;
    const resources = synthesized.application.toJSON().Resources as Record<string, { Type: string; Properties: any }>;
    const roleId = resources[app.getLogicalId(app.functions[consumer]!.fn.node.defaultChild as CfnElement)]!.Properties.Role['Fn::GetAtt'][0];
    const permissions = permissionsOfRole(resources, roleId);
    return { permissions, bus: { 'Fn::GetAtt': [app.getLogicalId(app.events.bus.node.defaultChild as CfnElement), 'Arn'] } };
  }

  it('fleet consumer: Fleet read/write, Entitlements read (the account), nothing else (no PutEvents)', () => {
    const { permissions } = consumerPermissions('fleet');
    expect(sortResources(permissions)).toEqual(
      sortResources(merge(readWrite([tableArn('FleetTable'), indexArns('FleetTable')]), Object.fromEntries(READ.map((a) => [a, [tableArn('EntitlementsTable')]])))),
    );
  });

  it('roaming consumer: Roaming read/write, Sessions (the price) and Tariffs read, PutEvents', () => {
    const { permissions, bus } = consumerPermissions('roaming');
    expect(sortResources(permissions)).toEqual(
      sortResources(
        merge(
          readWrite([tableArn('RoamingTable')]),
          Object.fromEntries(READ.map((a) => [a, [tableArn('SessionsTable'), indexArns('SessionsTable'), tableArn('TariffsTable')]])),
          { 'events:PutEvents': [bus] },
        ),
      ),
    );
  });

  it('pricing consumer: Sessions read/write, Registry and Tariffs read, PutEvents, no @connections', () => {
    const { permissions, bus } = consumerPermissions('pricing');
    expect(sortResources(permissions)).toEqual(
      sortResources(
        merge(
          readWrite([tableArn('SessionsTable'), indexArns('SessionsTable')]),
          Object.fromEntries(READ.map((a) => [a, [tableArn('TariffsTable'), tableArn('RegistryTable')]])),
          { 'events:PutEvents': [bus] },
        ),
      ),
    );
  });

  it('fleetStatements: Fleet read/write, Entitlements read (the accounts), PutEvents (FleetStatementIssued), the Stripe secret (invoices); no @connections', () => {
    expect(sortResources(permissionsOf('fleetStatements'))).toEqual(
      sortResources(
        merge(
          readWrite([tableArn('FleetTable'), indexArns('FleetTable')]),
          Object.fromEntries(READ.map((a) => [a, [tableArn('EntitlementsTable')]])),
          { 'events:PutEvents': [busArn] },
          readStripeSecret(),
        ),
      ),
    );
  });

  it('nightlyExport: Ledger read and s3:PutObject on the export bucket\'s objects, nothing else (no delete, no read, no other bucket)', () => {
    const app = synth.stacks.app;
    const bucketArn = { 'Fn::GetAtt': [app.getLogicalId(app.exportBucket.bucket.node.defaultChild as CfnElement), 'Arn'] };
    expect(sortResources(permissionsOf('nightlyExport'))).toEqual(
      sortResources(
        merge(Object.fromEntries(READ.map((a) => [a, [tableArn('LedgerTable'), indexArns('LedgerTable')]])), { 's3:PutObject': [{ 'Fn::Join': ['', [bucketArn, '/*']] }] }),
      ),
    );
  });

  it('grants the export bucket to the export function only', () => {
    const app = synth.stacks.app;
    for (const name of Object.keys(app.functions).filter((n) => n !== 'nightlyExport')) {
      expect(Object.keys(permissionsOf(name)).filter((a) => a.startsWith('s3:')), name).toEqual([]);
    }
  });

  it.each(['connect', 'disconnect', 'message', 'admin', 'sweep', 'stripeWebhook', 'membershipResync', 'readerPaymentSweep', 'payments', 'ledger', 'accounting-sync', 'reconciliation', 'reconciliationDaily', 'fleetStatements', 'nightlyExport'])('%s: only the basic execution managed policy (its own logs)', (name) => {
    expect(managedPoliciesOf(name)).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']] },
    ]);
  });

  it('gives every function every table name and the bus name (deps.ts reads them all at start-up)', () => {
    const app = synth.stacks.app;
    const resources = synth.application.toJSON().Resources;
    for (const [name, f] of Object.entries(app.functions)) {
      const variables = resources[app.getLogicalId(f.fn.node.defaultChild as CfnElement)].Properties.Environment.Variables;
      for (const table of Object.values(TABLES)) expect(variables[table.envVar], `${name} ${table.envVar}`).toBeDefined();
      expect(variables).toMatchObject({
        EVENT_BUS_NAME: { Ref: app.getLogicalId(app.events.bus.node.defaultChild as CfnElement) },
        POWERTOOLS_LOG_LEVEL: 'INFO',
        OCPP_HEARTBEAT_INTERVAL_SECONDS: '300',
        SESSION_IDLE_LIMIT_SECONDS: '14400',
      });
      expect(variables.POWERTOOLS_SERVICE_NAME).toMatch(/^voltledger-/);
    }
  });

  it('runs every function on nodejs22.x, arm64, with X-Ray active tracing', () => {
    const app = synth.stacks.app;
    const resources = synth.application.toJSON().Resources;
    for (const [name, f] of Object.entries(app.functions)) {
      const props = resources[app.getLogicalId(f.fn.node.defaultChild as CfnElement)].Properties;
      expect(props, name).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', TracingConfig: { Mode: 'Active' } });
    }
  });
});
