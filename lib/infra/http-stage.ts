import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpStage, LogGroupLogDestination, type HttpApi, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Access-log fields every HTTP API records; an API adds its own (caller, method, ...). */
const COMMON_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTimeEpoch',
  path: '$context.path',
  status: '$context.status',
  integrationLatency: '$context.integrationLatency',
  error: '$context.error.message',
};

/**
 * The `$default` stage of an HTTP API, auto-deployed, with JSON access logs in a log group of its
 * own (construct ids `AccessLogs` and `Stage` under `scope`).
 */
export function accessLoggedHttpStage(
  scope: Construct,
  api: HttpApi,
  props: { logRetention: RetentionDays; throttle?: ThrottleSettings; extraFields?: Record<string, string> },
): HttpStage {
  const accessLogs = new LogGroup(scope, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  return new HttpStage(scope, 'Stage', {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    ...(props.throttle ? { throttle: props.throttle } : {}),
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(JSON.stringify({ ...COMMON_FIELDS, ...props.extraFields })),
    },
  });
}
