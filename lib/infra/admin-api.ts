import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface AdminApiProps {
  readonly handler: IFunction;
  readonly logRetention: RetentionDays;
}

/**
 * The admin HTTP API: every route under `/admin` goes to one function, and every route requires
 * IAM (SigV4) authorization: callers need `execute-api:Invoke` on the API.
 */
export class AdminApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  /** `https://{api}.execute-api.{region}.amazonaws.com/admin` */
  readonly url: string;

  constructor(scope: Construct, id: string, props: AdminApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'Api', {
      description: 'VoltLedger admin API (IAM auth)',
      createDefaultStage: false,
      defaultAuthorizer: new HttpIamAuthorizer(),
    });
    const integration = new HttpLambdaIntegration('Admin', props.handler);
    // Exactly the methods the admin function serves; anything else is a 404 from API Gateway.
    for (const path of ['/admin', '/admin/{proxy+}']) {
      this.api.addRoutes({ path, methods: [HttpMethod.GET, HttpMethod.PUT, HttpMethod.POST], integration });
    }

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTimeEpoch',
            method: '$context.httpMethod',
            path: '$context.path',
            status: '$context.status',
            caller: '$context.identity.caller',
            userArn: '$context.identity.userArn',
            integrationLatency: '$context.integrationLatency',
            error: '$context.error.message',
          }),
        ),
      },
    });
    this.url = `${this.stage.url.replace(/\/$/, '')}/admin`;
  }
}
