import { beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '../../lib/tables.ts';
import { synthesize, type SynthesizedApp } from './support.ts';

describe('StatefulStack', () => {
  let synth: SynthesizedApp;
  let resources: Record<string, { Type: string; Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

  beforeAll(() => {
    synth = synthesize();
    resources = synth.stateful.toJSON().Resources;
  });

  describe('logical ids', () => {
    it('pins every table to a literal logical id (a changed id would replace a table full of money)', () => {
      // Literal strings on purpose: these must never change, whatever the code around them does.
      const tables = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table').map(([id]) => id).sort();
      expect(tables).toEqual(['EntitlementsTable', 'FleetTable', 'LedgerTable', 'PaymentsTable', 'RegistryTable', 'RoamingTable', 'SessionsTable', 'TariffsTable']);
    });

    it('holds nothing but the tables (no resource that could drag the stack into replacements)', () => {
      expect(new Set(Object.values(resources).map((r) => r.Type))).toEqual(new Set(['AWS::DynamoDB::Table']));
    });

    it('publishes each table ARN and name under fixed output names; the names are the contract with the application stack', () => {
      const outputs = synth.stateful.toJSON().Outputs;
      expect(Object.keys(outputs).sort()).toEqual([
        'EntitlementsTableArn', 'EntitlementsTableName', 'FleetTableArn', 'FleetTableName', 'LedgerTableArn', 'LedgerTableName', 'PaymentsTableArn', 'PaymentsTableName',
        'RegistryTableArn', 'RegistryTableName', 'RoamingTableArn', 'RoamingTableName', 'SessionsTableArn', 'SessionsTableName', 'TariffsTableArn', 'TariffsTableName',
      ]);
      expect(outputs.SessionsTableArn.Value).toEqual({ 'Fn::GetAtt': ['SessionsTable', 'Arn'] });
      // The application stack imports each table by its name (test/infra/cross-stack-references.test.ts).
      expect(outputs.SessionsTableName.Value).toEqual({ Ref: 'SessionsTable' });
    });
  });

  describe.each([
    ['RegistryTable', 'Registry'],
    ['EntitlementsTable', 'Entitlements'],
    ['TariffsTable', 'Tariffs'],
    ['SessionsTable', 'Sessions'],
    ['PaymentsTable', 'Payments'],
    ['FleetTable', 'Fleet'],
    ['RoamingTable', 'Roaming'],
  ] as const)('%s', (logicalId, tableId) => {
    it('is on demand, with point-in-time recovery and deletion protection, and no physical name', () => {
      const props = resources[logicalId]!.Properties;
      expect(props.BillingMode).toBe('PAY_PER_REQUEST');
      expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(props.DeletionProtectionEnabled).toBe(true);
      expect(props.TableName).toBeUndefined();
    });

    it('is retained on delete and on replacement', () => {
      expect(resources[logicalId]!.DeletionPolicy).toBe('Retain');
      expect(resources[logicalId]!.UpdateReplacePolicy).toBe('Retain');
    });

    it('has the generic string keys pk/sk', () => {
      const props = resources[logicalId]!.Properties;
      expect(props.KeySchema).toEqual([
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ]);
      expect(props.AttributeDefinitions).toEqual(expect.arrayContaining([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]));
    });

    it('expires records on the TTL attribute of lib/tables.ts, if it has one', () => {
      const ttl = TABLES[tableId].ttlAttribute;
      expect(resources[logicalId]!.Properties.TimeToLiveSpecification).toEqual(ttl ? { AttributeName: ttl, Enabled: true } : undefined);
    });

    it('has exactly the GSIs of lib/tables.ts, all attributes projected', () => {
      const gsis = resources[logicalId]!.Properties.GlobalSecondaryIndexes ?? [];
      expect(gsis).toEqual(
        TABLES[tableId].globalSecondaryIndexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      );
    });
  });

  it('sets the Registry TTL, the three Sessions GSIs and the two Ledger GSIs (spelled out, not only derived)', () => {
    expect(resources.RegistryTable!.Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(resources.SessionsTable!.Properties.GlobalSecondaryIndexes.map((g: { IndexName: string }) => g.IndexName)).toEqual([
      'byChargePoint',
      'awaitingCompletion',
      'byCompletionDay',
    ]);
    expect(resources.LedgerTable!.Properties.GlobalSecondaryIndexes.map((g: { IndexName: string }) => g.IndexName)).toEqual(['byDay', 'byAccount']);
    expect(resources.LedgerTable!.DeletionPolicy).toBe('Retain');
  });
});
