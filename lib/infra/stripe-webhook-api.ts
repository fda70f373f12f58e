import { RemovalPolicy } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { accessLoggedHttpStage } from './http-stage.ts';
import { acknowledgeNag } from './nag.ts';

/** The path Stripe posts to; configure `<StripeWebhookUrl>` as the endpoint in the Stripe dashboard. */
export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

/**
 * The Stripe secrets, one Secrets Manager secret holding
 * `{ "secretKey": "sk_live_...", "webhookSecret": "whsec_..." }`. Created empty of real values
 * (a placeholder); the operator puts the values in after the first deploy. Retained: a redeploy
 * of the stateless stack must not drop live credentials.
 */
export class StripeSecrets extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description: 'VoltLedger Stripe credentials: {"secretKey": "sk_...", "webhookSecret": "whsec_..."}',
      removalPolicy: RemovalPolicy.RETAIN,
      generateSecretString: { secretStringTemplate: JSON.stringify({ secretKey: 'sk_set_me', webhookSecret: 'whsec_set_me' }), generateStringKey: 'placeholder' },
    });
    acknowledgeNag(this.secret, 'AwsSolutions-SMG4', 'Stripe API keys are rolled in the Stripe dashboard, not by a Secrets Manager rotation function.');
  }
}

export interface StripeWebhookApiProps {
  readonly handler: IFunction;
  readonly logRetention: RetentionDays;
}

/**
 * The public HTTP API Stripe posts webhooks to: one route, `POST /webhooks/stripe`, no authorizer
 * (the Stripe-Signature over the raw body is the authentication, checked by the function), and a
 * throttle so a flood cannot exhaust the account's Lambda concurrency.
 */
export class StripeWebhookApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly url: string;

  constructor(scope: Construct, id: string, props: StripeWebhookApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'Api', { description: 'VoltLedger Stripe webhooks (signature checked by the function)', createDefaultStage: false });
    this.api.addRoutes({ path: STRIPE_WEBHOOK_PATH, methods: [HttpMethod.POST], integration: new HttpLambdaIntegration('StripeWebhook', props.handler) });
    this.stage = accessLoggedHttpStage(this, this.api, { logRetention: props.logRetention, throttle: { rateLimit: 50, burstLimit: 100 } });
    for (const route of this.api.node.findAll()) {
      acknowledgeNag(route, 'AwsSolutions-APIG4', 'Stripe cannot sign requests with SigV4 or send a token; the function verifies the Stripe-Signature HMAC over the raw body.');
    }
    this.url = `${this.stage.url.replace(/\/$/, '')}${STRIPE_WEBHOOK_PATH}`;
  }
}
