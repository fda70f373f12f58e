import { HttpApi, HttpMethod, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { accessLoggedHttpStage } from './http-stage.ts';

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

    this.stage = accessLoggedHttpStage(this, this.api, {
      logRetention: props.logRetention,
      extraFields: { method: '$context.httpMethod', caller: '$context.identity.caller', userArn: '$context.identity.userArn' },
    });
    this.url = `${this.stage.url.replace(/\/$/, '')}/admin`;
  }
}
