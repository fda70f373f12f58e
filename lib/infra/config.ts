import type { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** Deployment stages; each is a separate pair of stacks in its own (or a shared) account. */
export const STAGES = ['dev', 'prod'] as const;
export type StageName = (typeof STAGES)[number];

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** A custom host name for the OCPP endpoint (CloudFront alias). */
export interface OcppDomain {
  /** e.g. `ocpp.example.com`; point a CNAME (or Route 53 alias) at the distribution yourself. */
  readonly domainName: string;
  /** ACM certificate covering domainName; CloudFront requires it to live in us-east-1. */
  readonly certificateArn: string;
}

/**
 * Everything that varies between deployments. Built in bin/cdk.ts from CDK context; the stacks
 * and constructs receive it as typed props and never read context themselves.
 */
export interface VoltLedgerConfig {
  readonly stage: StageName;
  /** Powertools log level of every function. */
  readonly logLevel: LogLevel;
  readonly logRetention: RetentionDays;
  /** Pre-warmed instances of the OCPP `$default` function (0 = none, pay per use only). */
  readonly messageProvisionedConcurrency: number;
  readonly ocppDomain?: OcppDomain;
  /** SNS topic that receives alarm notifications; alarms still exist (and show on the dashboard) without it. */
  readonly alarmTopicArn?: string;
  /** Heartbeat interval handed to charge points in BootNotification.conf; keep it under API Gateway's 10-minute idle timeout. */
  readonly heartbeatIntervalSeconds: number;
  /** A stopped session whose connector never reports Available is completed this long after the stop. */
  readonly sessionIdleLimitSeconds: number;
  /** Answer ConcurrentTx while an idTag charges in another transaction (default off). */
  readonly singleSessionPerIdTag?: boolean;
  /** Steady-state request rate and burst allowed on the OCPP WebSocket stage. */
  readonly ocppThrottle: { readonly rateLimit: number; readonly burstLimit: number };
  /** Stripe subscription statuses that grant member pricing (default trialing, active). */
  readonly memberGrantingStatuses?: readonly string[];
  /** Hours a past_due subscription still grants member pricing (default 0). */
  readonly pastDueGraceHours?: number;
  /** Days a nightly export file is kept in the export bucket (default 400: a financial year and its closing). */
  readonly exportRetentionDays?: number;
}

export const DEFAULT_EXPORT_RETENTION_DAYS = 400;
