/**
 * The VoltLedger CDK app. Configuration comes from context, e.g.
 *   npx cdk deploy --all -c stage=prod -c ocppDomainName=ocpp.example.com -c ocppCertificateArn=arn:aws:acm:us-east-1:...
 * Context is read here and nowhere else; the stacks receive a typed VoltLedgerConfig.
 */
import { App, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_EXPORT_RETENTION_DAYS, STAGES, type LogLevel, type StageName, type VoltLedgerConfig } from '../lib/infra/config.ts';
import { addVoltLedgerStacks } from '../lib/infra/voltledger-app.ts';

const app = new App();

function context(name: string): string | undefined {
  const value = app.node.tryGetContext(name);
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

function intContext(name: string, fallback: number): number {
  const raw = context(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`context ${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

const stage = (context('stage') ?? 'dev') as StageName;
if (!STAGES.includes(stage)) throw new Error(`context stage must be one of ${STAGES.join(', ')}, got "${stage}"`);

const logLevel = (context('logLevel') ?? (stage === 'prod' ? 'INFO' : 'DEBUG')) as LogLevel;
if (!['DEBUG', 'INFO', 'WARN', 'ERROR'].includes(logLevel)) throw new Error(`context logLevel must be DEBUG, INFO, WARN or ERROR`);

const ocppDomainName = context('ocppDomainName');
const ocppCertificateArn = context('ocppCertificateArn');
if (Boolean(ocppDomainName) !== Boolean(ocppCertificateArn)) {
  throw new Error('give both ocppDomainName and ocppCertificateArn (an ACM certificate in us-east-1), or neither');
}

const config: VoltLedgerConfig = {
  stage,
  logLevel,
  logRetention: stage === 'prod' ? RetentionDays.THREE_MONTHS : RetentionDays.TWO_WEEKS,
  messageProvisionedConcurrency: intContext('messageProvisionedConcurrency', 0),
  ...(ocppDomainName && ocppCertificateArn ? { ocppDomain: { domainName: ocppDomainName, certificateArn: ocppCertificateArn } } : {}),
  ...(context('alarmTopicArn') ? { alarmTopicArn: context('alarmTopicArn') } : {}),
  heartbeatIntervalSeconds: intContext('heartbeatIntervalSeconds', 300),
  sessionIdleLimitSeconds: intContext('sessionIdleLimitSeconds', 4 * 3600),
  singleSessionPerIdTag: context('singleSessionPerIdTag') === 'true',
  ocppThrottle: { rateLimit: intContext('ocppRateLimit', 1000), burstLimit: intContext('ocppBurstLimit', 2000) },
  exportRetentionDays: intContext('exportRetentionDays', DEFAULT_EXPORT_RETENTION_DAYS),
};

addVoltLedgerStacks(app, config, {
  // Account and region of the credentials `cdk deploy` runs with; nothing is pinned here.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
