import { CfnOutput, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, type CfnTable, type ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { TABLES, type TableDefinition, type TableId } from '../tables.ts';

/**
 * CloudFormation logical id of each table. Pinned: a table's logical id is its identity, and a
 * changed id (a construct moved, renamed or wrapped) would make CloudFormation create a new, empty
 * table. RETAIN keeps the old one, but the money would be in the wrong place. Never change these.
 */
export const TABLE_LOGICAL_IDS: Readonly<Record<TableId, string>> = {
  Registry: 'RegistryTable',
  Entitlements: 'EntitlementsTable',
  Tariffs: 'TariffsTable',
  Sessions: 'SessionsTable',
  Payments: 'PaymentsTable',
  Fleet: 'FleetTable',
  Roaming: 'RoamingTable',
  Ledger: 'LedgerTable',
};

/** Name of the stack output carrying a table's ARN (for operators and tools; the app stack reads the name). */
export const tableArnOutputName = (id: TableId) => `${TABLE_LOGICAL_IDS[id]}Arn`;

/**
 * Name of the stack output carrying a table's physical name (the `Ref` CloudFormation generated):
 * the stateful stack's contract with the application stack, which imports each table by it.
 */
export const tableNameOutputName = (id: TableId) => `${TABLE_LOGICAL_IDS[id]}Name`;

/**
 * The stateful half of VoltLedger: the DynamoDB tables of lib/tables.ts, on demand, with
 * point-in-time recovery, deletion protection and RETAIN. Deployed separately from the
 * application stack so that tearing down or refactoring the application never touches data.
 */
export class StatefulStack extends Stack {
  readonly tables: Readonly<Record<TableId, Table>>;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.tables = Object.fromEntries(
      Object.values(TABLES).map((definition) => [definition.id, this.createTable(definition)]),
    ) as unknown as Record<TableId, Table>;
  }

  private createTable(definition: TableDefinition): Table {
    const logicalId = TABLE_LOGICAL_IDS[definition.id];
    const table = new Table(this, logicalId, {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(definition.ttlAttribute ? { timeToLiveAttribute: definition.ttlAttribute } : {}),
    });
    for (const index of definition.globalSecondaryIndexes) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
      });
    }
    (table.node.defaultChild as CfnTable).overrideLogicalId(logicalId);
    new CfnOutput(this, tableArnOutputName(definition.id), { value: table.tableArn, description: definition.description });
    new CfnOutput(this, tableNameOutputName(definition.id), { value: table.tableName, description: `Physical name of the ${definition.id} table` });
    return table;
  }
}

/**
 * The stateful stack's tables as seen from another stack, read through `Fn::GetStackOutput`
 * (no CloudFormation export, so the stateful stack never gets locked by its consumers). The GSIs
 * are declared so that grants cover them.
 *
 * Imported by name, not by ARN: a table imported by ARN gets its name cut out of the imported
 * value with `Fn::Split`/`Fn::Select`, which CloudFormation's schema (and cfn-lint, E1017) does
 * not accept around `Fn::GetStackOutput`. The name is the output's value as it is; CDK builds the
 * ARN from it and this stack's account and region, which are the stateful stack's (both stacks
 * share one environment, and `Fn::GetStackOutput` without a region reads this region).
 * test/infra/cross-stack-references.test.ts keeps it that way.
 */
export function importTables(scope: Construct, statefulStackName: string): Record<TableId, ITable> {
  return Object.fromEntries(
    Object.values(TABLES).map((definition) => [
      definition.id,
      Table.fromTableAttributes(scope, `${TABLE_LOGICAL_IDS[definition.id]}Ref`, {
        tableName: Fn.getStackOutput(statefulStackName, tableNameOutputName(definition.id)),
        globalIndexes: definition.globalSecondaryIndexes.map((index) => index.indexName),
      }),
    ]),
  ) as Record<TableId, ITable>;
}
