import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Alias, type IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { SUBSCRIPTIONS, type Subscription } from '../../events/routing.ts';
import { DEFAULT_LOCKOUT_POLICY } from '../../functions/ocpp/domain/lockout.ts';
import { AdminApi } from './admin-api.ts';
import { DEFAULT_EXPORT_RETENTION_DAYS, type VoltLedgerConfig } from './config.ts';
import { ExportBucket } from './export-bucket.ts';
import { OCPP_METRICS, RECONCILIATION_METRICS } from '../../functions/shared/metric-names.ts';
import { EventRouting } from './event-routing.ts';
import { CONSUMERS } from '../../events/routing.ts';
import type { FunctionSpec } from '../function-spec.ts';
import { ADMIN_FUNCTION, FLEET_STATEMENTS_FUNCTION, MEMBERSHIP_RESYNC_FUNCTION, NIGHTLY_EXPORT_FUNCTION, OCPP_FUNCTIONS, READER_PAYMENT_SWEEP_FUNCTION, RECONCILIATION_FUNCTION, STRIPE_WEBHOOK_FUNCTION, SWEEP_FUNCTION } from './functions.ts';
import { AccountingSecret } from './accounting.ts';
import { StripeSecrets, StripeWebhookApi } from './stripe-webhook-api.ts';
import { RecurringJob } from './recurring-job.ts';
import { Monitoring } from './monitoring.ts';
import { acknowledgeNag } from './nag.ts';
import { OcppGateway } from './ocpp-gateway.ts';
import { ServiceFunction } from './service-function.ts';
import { importTables } from './stateful-stack.ts';

export interface AppStackProps extends StackProps {
  readonly config: VoltLedgerConfig;
  /** Name of the deployed StatefulStack whose tables the functions use. */
  readonly statefulStackName: string;
  /** Defaults to events/routing.ts SUBSCRIPTIONS. */
  readonly subscriptions?: readonly Subscription[];
  /** Defaults to events/routing.ts CONSUMERS. */
  readonly consumers?: Readonly<Record<string, FunctionSpec>>;
}

/**
 * The stateless half of VoltLedger: the OCPP edge, the admin and Stripe webhook APIs, the event
 * bus with its rules, the functions, the schedules, the export bucket (retained) and the
 * monitoring. Safe to destroy and redeploy; the data lives in the StatefulStack.
 */
export class AppStack extends Stack {
  readonly functions: Readonly<Record<string, ServiceFunction>>;
  readonly ocpp: OcppGateway;
  readonly admin: AdminApi;
  readonly events: EventRouting;
  readonly stripeSecrets: StripeSecrets;
  readonly stripeWebhook: StripeWebhookApi;
  readonly accountingSecret: AccountingSecret;
  readonly exportBucket: ExportBucket;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: AppStackProps) {
    super(scope, id, props);
    const { config } = props;
    const tables = importTables(this, props.statefulStackName);

    this.events = new EventRouting(this, 'Events', { subscriptions: props.subscriptions ?? SUBSCRIPTIONS });
    const consumerSpecs = props.consumers ?? CONSUMERS;

    const environment = {
      OCPP_HEARTBEAT_INTERVAL_SECONDS: String(config.heartbeatIntervalSeconds),
      SESSION_IDLE_LIMIT_SECONDS: String(config.sessionIdleLimitSeconds),
      OCPP_SINGLE_SESSION_PER_IDTAG: String(config.singleSessionPerIdTag ?? false),
      // $connect brute-force lockout (functions/ocpp/domain/lockout.ts): 10 wrong passwords per 5 minutes.
      OCPP_CONNECT_MAX_FAILURES: String(DEFAULT_LOCKOUT_POLICY.maxFailures),
      OCPP_CONNECT_LOCKOUT_SECONDS: String(DEFAULT_LOCKOUT_POLICY.windowSeconds),
      MEMBER_GRANTING_STATUSES: (config.memberGrantingStatuses ?? ['trialing', 'active']).join(','),
      PAST_DUE_GRACE_HOURS: String(config.pastDueGraceHours ?? 0),
    };
    this.stripeSecrets = new StripeSecrets(this, 'StripeSecrets');
    this.accountingSecret = new AccountingSecret(this, 'AccountingSecret');
    this.exportBucket = new ExportBucket(this, 'Exports', { expireAfterDays: config.exportRetentionDays ?? DEFAULT_EXPORT_RETENTION_DAYS });
    const make = (id: string, spec: FunctionSpec, serviceName: string) =>
      new ServiceFunction(this, id, {
        spec,
        serviceName,
        tables,
        bus: this.events.bus,
        logLevel: config.logLevel,
        logRetention: config.logRetention,
        environment,
        stripeSecrets: this.stripeSecrets.secret,
        accountingSecret: this.accountingSecret.secret,
        exportBucket: this.exportBucket.bucket,
      });

    const connect = make('OcppConnect', OCPP_FUNCTIONS.connect, OCPP_METRICS.service);
    const disconnect = make('OcppDisconnect', OCPP_FUNCTIONS.disconnect, OCPP_METRICS.service);
    const message = make('OcppMessage', OCPP_FUNCTIONS.message, OCPP_METRICS.service);
    const admin = make('Admin', ADMIN_FUNCTION, 'voltledger-admin');
    const sweep = make('IdleSessionSweepFunction', SWEEP_FUNCTION, OCPP_METRICS.service);
    const stripeWebhook = make('StripeWebhookFunction', STRIPE_WEBHOOK_FUNCTION, 'voltledger-entitlements');
    const membershipResync = make('MembershipResyncFunction', MEMBERSHIP_RESYNC_FUNCTION, 'voltledger-entitlements');
    const readerPaymentSweep = make('ReaderPaymentSweepFunction', READER_PAYMENT_SWEEP_FUNCTION, 'voltledger-payments');
    const reconciliationDaily = make('ReconciliationDailyFunction', RECONCILIATION_FUNCTION, RECONCILIATION_METRICS.service);
    const fleetStatements = make('FleetStatementsFunction', FLEET_STATEMENTS_FUNCTION, 'voltledger-fleet');
    const nightlyExport = make('NightlyExportFunction', NIGHTLY_EXPORT_FUNCTION, 'voltledger-accounting');
    const consumers = Object.fromEntries(
      this.events.consumerIds
        .filter((consumerId) => consumerSpecs[consumerId])
        .map((consumerId) => [consumerId, make(`Consumer-${consumerId}`, consumerSpecs[consumerId]!, `voltledger-${consumerId}`)]),
    );
    this.functions = { connect, disconnect, message, admin, sweep, stripeWebhook, membershipResync, readerPaymentSweep, reconciliationDaily, fleetStatements, nightlyExport, ...consumers };

    // Provisioned concurrency lives on an alias; API Gateway then invokes the alias.
    const messageTarget: IFunction =
      config.messageProvisionedConcurrency > 0
        ? new Alias(this, 'OcppMessageLive', {
            aliasName: 'live',
            version: message.fn.currentVersion,
            provisionedConcurrentExecutions: config.messageProvisionedConcurrency,
          })
        : message.fn;

    this.ocpp = new OcppGateway(this, 'Ocpp', {
      connect: connect.fn,
      disconnect: disconnect.fn,
      message: messageTarget,
      stageName: config.stage,
      throttle: config.ocppThrottle,
      logRetention: config.logRetention,
      domain: config.ocppDomain,
    });
    for (const f of Object.values(this.functions)) {
      f.fn.addEnvironment('OCPP_CONNECTIONS_ENDPOINT', this.ocpp.callbackUrl);
      if (f.spec.manageConnections) this.ocpp.grantManageConnections(f.fn);
    }

    this.admin = new AdminApi(this, 'AdminApi', { handler: admin.fn, logRetention: config.logRetention });
    new RecurringJob(this, 'IdleSessionSweepSchedule', {
      handler: sweep.fn,
      description: 'complete stopped sessions past the idle limit',
      every: Duration.minutes(1),
      // Runs are interchangeable: a late run is not worth a retry that overlaps the next one.
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    this.stripeWebhook = new StripeWebhookApi(this, 'StripeWebhookApi', { handler: stripeWebhook.fn, logRetention: config.logRetention });
    // A missed run is repaired by the next one.
    new RecurringJob(this, 'MembershipResyncSchedule', {
      handler: membershipResync.fn,
      description: 'resync memberships from Stripe',
      every: Duration.hours(1),
      retryAttempts: 2,
      maxEventAge: Duration.minutes(30),
    });
    new RecurringJob(this, 'ReaderPaymentSweepSchedule', {
      handler: readerPaymentSweep.fn,
      description: 'release card-reader holds no session claimed',
      every: Duration.minutes(1),
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    // Stripe makes yesterday's balance transactions final overnight; a missed run is worth a retry.
    new RecurringJob(this, 'ReconciliationSchedule', {
      handler: reconciliationDaily.fn,
      description: 'reconcile yesterday against Stripe and report sessions without a financial closure',
      cron: { minute: '0', hour: '5' },
      retryAttempts: 3,
      maxEventAge: Duration.hours(6),
    });
    // Yesterday's ledger entries (UTC day) are complete a few hours after midnight; rewriting a day is harmless.
    new RecurringJob(this, 'NightlyExportSchedule', {
      handler: nightlyExport.fn,
      description: "export yesterday's revenue (CSV and JSON) to the export bucket",
      cron: { minute: '0', hour: '3' },
      retryAttempts: 3,
      maxEventAge: Duration.hours(6),
    });
    // 14:00 UTC on the 1st: last month is over in every time zone (UTC-12 reaches the 1st at 12:00 UTC)
    // and late sessions of its last evening are priced. The run is idempotent, so retries are safe.
    new RecurringJob(this, 'FleetStatementsSchedule', {
      handler: fleetStatements.fn,
      description: "issue last month's fleet statements",
      cron: { minute: '0', hour: '14', day: '1' },
      retryAttempts: 3,
      maxEventAge: Duration.hours(12),
    });
    this.events.connect(Object.fromEntries(Object.entries(consumers).map(([consumerId, f]) => [consumerId, f.fn])));

    this.monitoring = new Monitoring(this, 'Monitoring', {
      functions: Object.fromEntries(Object.entries(this.functions).map(([name, f]) => [name, f.fn])),
      deadLetterQueues: Object.fromEntries(this.events.routed.map((r) => [r.subscription.ruleName, r.deadLetterQueue])),
      webSocket: { apiId: this.ocpp.api.apiId, stageName: this.ocpp.stage.stageName },
      alarmTopicArn: config.alarmTopicArn,
    });

    new CfnOutput(this, 'OcppUrl', {
      value: this.ocpp.ocppUrl,
      description: 'Charge points connect to <OcppUrl>/<chargePointId> (Basic auth: chargePointId + password)',
    });
    new CfnOutput(this, 'OcppWebSocketStageUrl', { value: this.ocpp.stage.url, description: 'The WebSocket stage behind CloudFront (no path: not for charge points)' });
    new CfnOutput(this, 'OcppConnectionsEndpoint', { value: this.ocpp.callbackUrl, description: '@connections endpoint' });
    new CfnOutput(this, 'AdminApiUrl', { value: this.admin.url, description: 'Admin HTTP API (SigV4, execute-api:Invoke)' });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    new CfnOutput(this, 'StripeWebhookUrl', { value: this.stripeWebhook.url, description: 'Stripe dashboard -> Webhooks -> endpoint URL' });
    new CfnOutput(this, 'AccountingSecretArn', { value: this.accountingSecret.secret.secretArn, description: 'Put {"webhookUrl": "https://...", "signingSecret": "..."} here' });
    new CfnOutput(this, 'ExportBucketName', { value: this.exportBucket.bucket.bucketName, description: 'Nightly revenue exports: revenue/YYYY/MM/voltledger-revenue-YYYY-MM-DD.csv and .json' });
    new CfnOutput(this, 'StripeSecretsArn', { value: this.stripeSecrets.secret.secretArn, description: 'Put {"secretKey": "sk_...", "webhookSecret": "whsec_..."} here' });

    this.suppressFunctionFindings();
  }

  private suppressFunctionFindings(): void {
    for (const f of Object.values(this.functions)) {
      acknowledgeNag(
        f,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        'AWSLambdaBasicExecutionRole only lets the function write its own CloudWatch logs.',
      );
      acknowledgeNag(f, 'AwsSolutions-L1', 'The design card pins nodejs22.x, the runtime the code is tested against.');
    }
  }
}
