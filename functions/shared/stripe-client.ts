import Stripe from 'stripe';
import type { Env } from './env.ts';
import { ConfigurationError } from './errors.ts';

/**
 * The Stripe SDK client, apart from stripe.ts: every Lambda bundle imports stripe.ts (the secrets,
 * through lambda-platform.ts), and only the functions that talk to Stripe should carry the SDK.
 */

/**
 * The Stripe client from STRIPE_SECRET_KEY (or the given key); STRIPE_API_HOST / STRIPE_API_PORT /
 * STRIPE_API_PROTOCOL point it at a local Stripe-compatible server instead of api.stripe.com.
 */
export function stripeFromEnv(env: Env = process.env, secretKey = env.STRIPE_SECRET_KEY): Stripe {
  if (!secretKey) throw new ConfigurationError('environment variable STRIPE_SECRET_KEY is required but not set');
  const protocol = env.STRIPE_API_PROTOCOL;
  if (protocol !== undefined && protocol !== 'http' && protocol !== 'https') throw new ConfigurationError(`STRIPE_API_PROTOCOL must be http or https, got "${protocol}"`);
  return createStripeClient(secretKey, {
    ...(env.STRIPE_API_HOST ? { host: env.STRIPE_API_HOST } : {}),
    ...(env.STRIPE_API_PORT ? { port: Number(env.STRIPE_API_PORT) } : {}),
    ...(protocol ? { protocol } : {}),
  });
}

/** A Stripe client with VoltLedger's defaults: retries on network errors and 5xx, a bounded timeout. */
export function createStripeClient(secretKey: string, endpoint: { host?: string; port?: number; protocol?: 'http' | 'https' } = {}): Stripe {
  return new Stripe(secretKey, { maxNetworkRetries: 2, timeout: 10_000, ...endpoint, appInfo: { name: 'VoltLedger' } });
}
