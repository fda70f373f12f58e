import type Stripe from 'stripe';
import { type Env, requireEnv } from './env.ts';
import { ConfigurationError } from './errors.ts';

/**
 * Stripe plumbing shared by the contexts that talk to VoltLedger's one Stripe account (entitlements,
 * payments, fleet, accounting): its credentials, the shape of a webhook event handler and the
 * readings of Stripe objects that changed shape between API versions. No context's rules here. The
 * SDK client is built in stripe-client.ts, so that only the functions that talk to Stripe bundle it.
 */

/** Handles one verified Stripe event; throwing makes the endpoint answer 500 so Stripe retries. */
export type StripeEventHandler = (event: Stripe.Event) => Promise<void>;

const idOf = (ref: string | { id: string } | null | undefined) => (typeof ref === 'string' ? ref : ref?.id);

/** The subscription an invoice belongs to: `parent.subscription_details` since 2025-03-31, `subscription` before. */
export function invoiceSubscriptionId(invoice: Stripe.Invoice): string | undefined {
  const fromParent = invoice.parent?.subscription_details?.subscription;
  const legacy = (invoice as unknown as { subscription?: string | { id: string } | null }).subscription;
  return idOf(fromParent ?? legacy ?? undefined);
}

/** Stripe credentials: STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET directly (local), or from Secrets Manager (AWS). */
export interface StripeSecrets {
  secretKey: string;
  webhookSecret: string;
}

/**
 * Reads the Stripe secrets. With STRIPE_SECRETS_ARN (AWS) the secret is a JSON object
 * `{ "secretKey": "sk_...", "webhookSecret": "whsec_..." }` read through the AWS Parameters and
 * Secrets Lambda extension (a local HTTP endpoint, cached by the extension), so no Secrets Manager
 * SDK is bundled; otherwise STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are read from the environment.
 */
export async function stripeSecretsFromEnv(env: Env = process.env, fetchImpl: typeof fetch = fetch): Promise<StripeSecrets> {
  const arn = env.STRIPE_SECRETS_ARN;
  if (!arn) return { secretKey: requireEnv('STRIPE_SECRET_KEY', env), webhookSecret: requireEnv('STRIPE_WEBHOOK_SECRET', env) };
  const port = env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
  const response = await fetchImpl(`http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(arn)}`, {
    headers: { 'X-Aws-Parameters-Secrets-Token': requireEnv('AWS_SESSION_TOKEN', env) },
  });
  if (!response.ok) throw new ConfigurationError(`could not read ${arn} through the secrets extension: HTTP ${response.status}`);
  const secret = JSON.parse(((await response.json()) as { SecretString?: string }).SecretString ?? '{}') as Partial<StripeSecrets>;
  if (!secret.secretKey || !secret.webhookSecret) throw new ConfigurationError(`secret ${arn} must hold {"secretKey": "sk_...", "webhookSecret": "whsec_..."}`);
  return { secretKey: secret.secretKey, webhookSecret: secret.webhookSecret };
}
