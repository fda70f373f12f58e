import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Architecture, ParamsAndSecretsLayerVersion, ParamsAndSecretsLogLevel, ParamsAndSecretsVersions, Tracing } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Grant } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { TABLES, type TableId } from '../tables.ts';
import { LAMBDA_BUNDLING, LAMBDA_RUNTIME, REPO_ROOT } from './bundling.ts';
import type { LogLevel } from './config.ts';
import type { FunctionSpec } from '../function-spec.ts';
import { acknowledgeGrantWildcards, acknowledgeNag } from './nag.ts';

export interface ServiceFunctionProps {
  readonly spec: FunctionSpec;
  /** Powertools service name, e.g. `voltledger-ocpp`. */
  readonly serviceName: string;
  readonly tables: Readonly<Record<TableId, ITable>>;
  readonly bus: IEventBus;
  readonly logLevel: LogLevel;
  readonly logRetention: RetentionDays;
  /** Extra environment (settings shared by the OCPP functions). */
  readonly environment?: Readonly<Record<string, string>>;
  /** The Stripe secrets; required when the spec says `readsStripeSecrets`. */
  readonly stripeSecrets?: ISecret;
  /** The accounting webhook secret; required when the spec says `readsAccountingSecret`. */
  readonly accountingSecret?: ISecret;
  /** The export bucket; required when the spec says `writesExportBucket`. */
  readonly exportBucket?: IBucket;
}

/**
 * One VoltLedger Lambda: NodejsFunction bundled locally with esbuild (see bundling.ts), arm64,
 * X-Ray active tracing, its own log group, and the grants its spec lists, nothing more.
 */
export class ServiceFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly spec: FunctionSpec;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);
    const { spec, tables } = props;
    this.spec = spec;

    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });

    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(REPO_ROOT, spec.entry),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: spec.memorySizeMb ?? 512,
      timeout: Duration.seconds(spec.timeoutSeconds ?? 10),
      description: spec.description,
      logGroup,
      bundling: LAMBDA_BUNDLING,
      // A trace per invocation (Lambda's own segments: init, invocation, overhead). CDK adds the
      // role's xray:PutTraceSegments/PutTelemetryRecords statement (X-Ray takes no resource ARN).
      tracing: Tracing.ACTIVE,
      // The extension serves the secret on localhost and caches it, so no Secrets Manager SDK is bundled.
      ...(spec.readsStripeSecrets || spec.readsAccountingSecret
        ? { paramsAndSecrets: ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, { logLevel: ParamsAndSecretsLogLevel.WARN }) }
        : {}),
      environment: {
        // deps.ts reads every table name, whichever tables the function touches.
        ...Object.fromEntries(Object.values(TABLES).map((t) => [t.envVar, tables[t.id].tableName])),
        EVENT_BUS_NAME: props.bus.eventBusName,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_LOG_LEVEL: props.logLevel,
        // Stack traces through the source map (the map carries no sources, so it stays small).
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    });

    for (const [tableId, access] of Object.entries(spec.tables) as Array<[TableId, FunctionSpec['tables'][TableId]]>) {
      const table = tables[tableId];
      const grant = access === 'readWrite' ? table.grantReadWriteData(this.fn) : table.grantReadData(this.fn);
      acknowledgeGrantWildcards(this, grant, `Queries the ${tableId} table's own indexes: <table ARN>/index/*.`);
    }
    if (spec.publishesEvents) props.bus.grantPutEventsTo(this.fn);
    if (spec.readsStripeSecrets) {
      if (!props.stripeSecrets) throw new Error(`${id}: the spec reads the Stripe secrets but none were given`);
      props.stripeSecrets.grantRead(this.fn);
      this.fn.addEnvironment('STRIPE_SECRETS_ARN', props.stripeSecrets.secretArn);
    }
    if (spec.readsAccountingSecret) {
      if (!props.accountingSecret) throw new Error(`${id}: the spec reads the accounting secret but none was given`);
      props.accountingSecret.grantRead(this.fn);
      this.fn.addEnvironment('ACCOUNTING_SECRETS_ARN', props.accountingSecret.secretArn);
    }
    if (spec.writesExportBucket) {
      if (!props.exportBucket) throw new Error(`${id}: the spec writes the export bucket but none was given`);
      // PutObject only: grantPut would add tagging, retention, legal-hold and Abort* actions it never uses.
      const grant = Grant.addToPrincipal({ grantee: this.fn, actions: ['s3:PutObject'], resourceArns: [props.exportBucket.arnForObjects('*')] });
      acknowledgeGrantWildcards(this, grant, 'Writes export files under any key of the export bucket (<bucket ARN>/*): one file per day and format.');
      this.fn.addEnvironment('EXPORT_BUCKET_NAME', props.exportBucket.bucketName);
    }
    // X-Ray's write actions support no resource-level permissions: CDK grants them on "*".
    acknowledgeNag(this, 'AwsSolutions-IAM5[Resource::*]', 'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) take no resource ARN: "*" is the only resource X-Ray accepts.');
  }
}
