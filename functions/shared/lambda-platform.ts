import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type Stripe from 'stripe';
import { TABLES, type TableId, type TableNames } from '../../lib/tables.ts';
import { systemClock } from './clock.ts';
import { type Env, requireEnv } from './env.ts';
import { ConfigurationError } from './errors.ts';
import { EventBridgePublisher } from './event-publisher.ts';
import { log as powertoolsLog } from './logger.ts';
import { createMetrics } from './metrics.ts';
import { once } from './once.ts';
import type { Platform, PlatformSource, StripeAccess } from './platform.ts';
import { stripeSecretsFromEnv } from './stripe.ts';

/** Physical table names from the environment variables named in lib/tables.ts (every function gets them all). */
export function tableNamesFromEnv(env: Env = process.env): TableNames {
  return Object.fromEntries(Object.values(TABLES).map((t) => [t.id, requireEnv(t.envVar, env)])) as Record<TableId, string>;
}

/**
 * The accounting webhook: on AWS a Secrets Manager secret `{"webhookUrl", "signingSecret"}`
 * (ACCOUNTING_SECRETS_ARN, read through the Parameters and Secrets extension); otherwise
 * ACCOUNTING_WEBHOOK_URL and ACCOUNTING_WEBHOOK_SECRET; neither: undefined (entries wait as dead letters).
 */
export async function accountingWebhookFromEnv(
  env: Env = process.env,
  fetchImpl: typeof fetch = fetch,
): Promise<{ url: string; secret: string } | undefined> {
  const arn = env.ACCOUNTING_SECRETS_ARN;
  if (!arn) {
    if (!env.ACCOUNTING_WEBHOOK_URL) return undefined;
    return { url: env.ACCOUNTING_WEBHOOK_URL, secret: requireEnv('ACCOUNTING_WEBHOOK_SECRET', env) };
  }
  const port = env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
  const response = await fetchImpl(`http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(arn)}`, {
    headers: { 'X-Aws-Parameters-Secrets-Token': requireEnv('AWS_SESSION_TOKEN', env) },
  });
  if (!response.ok) throw new ConfigurationError(`could not read ${arn} through the secrets extension: HTTP ${response.status}`);
  const secret = JSON.parse(((await response.json()) as { SecretString?: string }).SecretString ?? '{}') as { webhookUrl?: string; signingSecret?: string };
  if (!secret.webhookUrl || secret.webhookUrl === 'https://set-me.invalid') return undefined;
  if (!secret.signingSecret) throw new ConfigurationError(`secret ${arn} must hold {"webhookUrl": "https://...", "signingSecret": "..."}`);
  return { url: secret.webhookUrl, secret: secret.signingSecret };
}

export interface LambdaPlatformOptions {
  /**
   * Builds the Stripe SDK client from the secret key. Only the handler modules that talk to Stripe
   * pass it (functions/shared/stripe-client.ts), so the other bundles carry no Stripe SDK; without
   * it, or without STRIPE_SECRETS_ARN / STRIPE_SECRET_KEY, the platform has no Stripe.
   */
  stripeClient?: (env: Env, secretKey: string) => Stripe;
}

/**
 * The platform of a Lambda function, from its environment: the table names (REGISTRY_TABLE, ...),
 * EVENT_BUS_NAME, OCPP_CONNECTIONS_ENDPOINT, the Stripe and accounting secrets. Everything is read
 * on first use, so a function that never publishes needs no bus name, and secrets are only asked
 * for inside an invocation (the secrets extension answers nothing else). Endpoints of local
 * stand-ins come through the SDK's own AWS_ENDPOINT_URL_* variables.
 */
export function platformFromEnv(env: Env = process.env, options: LambdaPlatformOptions = {}): Platform {
  let dynamo: DynamoDBClient | undefined;
  let tables: TableNames | undefined;
  let publisher: EventBridgePublisher | undefined;
  let connections: ApiGatewayManagementApiClient | undefined;
  const secrets = once(() => stripeSecretsFromEnv(env));
  const stripeClient = options.stripeClient;
  const stripe: StripeAccess | undefined =
    stripeClient && (env.STRIPE_SECRETS_ARN || env.STRIPE_SECRET_KEY)
      ? { client: once(async () => stripeClient(env, (await secrets()).secretKey)), webhookSecret: async () => (await secrets()).webhookSecret }
      : undefined;
  return {
    get dynamo() {
      return (dynamo ??= new DynamoDBClient({}));
    },
    get tables() {
      return (tables ??= tableNamesFromEnv(env));
    },
    events: { publish: (events) => (publisher ??= new EventBridgePublisher(new EventBridgeClient({}), requireEnv('EVENT_BUS_NAME', env))).publish(events) },
    connections: () => (connections ??= new ApiGatewayManagementApiClient({ endpoint: requireEnv('OCPP_CONNECTIONS_ENDPOINT', env) })),
    ...(stripe ? { stripe } : {}),
    accountingWebhook: once(() => accountingWebhookFromEnv(env)),
    env,
    clock: systemClock,
    log: powertoolsLog,
    metrics: createMetrics,
  };
}

/** The Lambda platform of this process, built on the first invocation that asks for it. */
export function lambdaPlatform(options: LambdaPlatformOptions = {}): PlatformSource {
  let platform: Platform | undefined;
  return () => (platform ??= platformFromEnv(process.env, options));
}
