import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { consoleLog } from '../../functions/shared/console-log.ts';
import { intFromEnv } from '../../functions/shared/env.ts';
import { centralSystemConfigFromEnv } from '../../functions/ocpp/deps.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { startLocalStack } from '../../lib/local/stack.ts';
import { StripeSubscriptionSource } from '../../functions/entitlements/adapters/stripe-subscriptions.ts';
import { stripeFromEnv } from '../../functions/shared/stripe-client.ts';
import { syncConfigFromEnv } from '../../functions/accounting/deps.ts';
import { requireEnv } from '../../functions/shared/env.ts';
import { membershipPolicyFromEnv } from '../../functions/entitlements/deps.ts';

const USAGE = `voltledger local [--port N] [--data-dir DIR | --in-memory] [--no-seed] [--stripe local|test]

Runs the whole VoltLedger stack on this machine with the same handler code as on AWS.
Environment: PORT (8080), DATA_DIR (.data/local), ADMIN_TOKEN (generated when unset),
LOG_LEVEL (info), SESSION_IDLE_LIMIT_SECONDS (14400), OCPP_HEARTBEAT_INTERVAL_SECONDS (300).

Stripe: without STRIPE_SECRET_KEY (or with --stripe local) a local Stripe emulator runs beside
the stack (state in DATA_DIR/stripe) and delivers signed webhooks to /webhooks/stripe; its
webhook secret is STRIPE_WEBHOOK_SECRET or generated. With STRIPE_SECRET_KEY=sk_test_... (or
--stripe test) the stack talks to Stripe's test mode and checks webhooks with STRIPE_WEBHOOK_SECRET.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'in-memory': { type: 'boolean', default: false },
      'no-seed': { type: 'boolean', default: false },
      stripe: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const log = consoleLog(process.env.LOG_LEVEL ?? 'info');
  const port = values.port !== undefined ? Number(values.port) : intFromEnv('PORT', 8080);
  const dataDir = values['in-memory'] || process.env.DATA_DIR === ':memory:' ? undefined : resolve(values['data-dir'] ?? process.env.DATA_DIR ?? '.data/local');

  const stripeMode = values.stripe ?? (process.env.STRIPE_SECRET_KEY ? 'test' : 'local');
  if (stripeMode !== 'local' && stripeMode !== 'test') {
    console.error(`--stripe must be local or test, got "${stripeMode}"\n\n${USAGE}`);
    return 2;
  }
  if (stripeMode === 'test' && !process.env.STRIPE_SECRET_KEY) {
    console.error('--stripe test needs STRIPE_SECRET_KEY (sk_test_...) and STRIPE_WEBHOOK_SECRET (whsec_...)');
    return 2;
  }
  const policy = membershipPolicyFromEnv();
  // local: the Stripe emulator, through the real SDK. test: Stripe's test mode (sk_test_...) or a
  // Stripe-compatible server elsewhere (STRIPE_API_HOST/PORT/PROTOCOL); the webhook needs its secret.
  const stripe =
    stripeMode === 'local'
      ? { emulator: { ...(process.env.STRIPE_WEBHOOK_SECRET ? { webhookSecret: process.env.STRIPE_WEBHOOK_SECRET } : {}) }, policy }
      : process.env.STRIPE_WEBHOOK_SECRET
        ? (() => {
            const client = stripeFromEnv();
            return { subscriptions: new StripeSubscriptionSource(client), client, webhookSecret: process.env.STRIPE_WEBHOOK_SECRET, policy };
          })()
        : undefined;
  const stack = await startLocalStack({
    ...(stripe ? { stripe } : {}),
    port,
    dataDir,
    adminToken: process.env.ADMIN_TOKEN || undefined,
    seed: !values['no-seed'],
    seedPayers: true,
    // The same settings, read the same way, as the Lambda functions.
    config: centralSystemConfigFromEnv(),
    // Journal entries go to the local receiver unless ACCOUNTING_WEBHOOK_URL names another one.
    accounting: {
      ...(process.env.ACCOUNTING_WEBHOOK_URL ? { webhookUrl: process.env.ACCOUNTING_WEBHOOK_URL, webhookSecret: requireEnv('ACCOUNTING_WEBHOOK_SECRET') } : {}),
      ...(process.env.ACCOUNTING_WEBHOOK_SECRET ? { webhookSecret: process.env.ACCOUNTING_WEBHOOK_SECRET } : {}),
      syncConfig: syncConfigFromEnv(),
    },
    log,
  });
  stack.bus.subscribe((event) => {
    const data = (event.detail as { data?: { sessionId?: string; chargePointId?: string } }).data ?? {};
    log.info(`event ${event['detail-type']}`, { sessionId: data.sessionId, chargePointId: data.chargePointId });
  });

  function stripeBanner(): string {
    const webhook = `webhooks POST ${stack.stripeWebhookUrl}`;
    if (stack.stripeEmulator) {
      const { emulator, webhookSecret } = stack.stripeEmulator;
      const secret = process.env.STRIPE_WEBHOOK_SECRET ? 'STRIPE_WEBHOOK_SECRET' : webhookSecret;
      return `local emulator ${emulator.url}   (any sk_test_ key; ${webhook}, signed with ${secret})
              control: ${emulator.url}/_emulator/...   (docs/stripe-emulator.md; STRIPE_SECRET_KEY=sk_test_... uses Stripe's test mode)`;
    }
    const key = process.env.STRIPE_SECRET_KEY ?? '';
    const where = process.env.STRIPE_API_HOST
      ? `Stripe-compatible server at ${process.env.STRIPE_API_HOST}${process.env.STRIPE_API_PORT ? `:${process.env.STRIPE_API_PORT}` : ''}`
      : key.startsWith('sk_test_') || key.startsWith('rk_test_')
        ? "Stripe's test mode (STRIPE_SECRET_KEY=sk_test_...)"
        : 'Stripe with a LIVE key (STRIPE_SECRET_KEY is not sk_test_)';
    return stripe
      ? `${where}   (${webhook}, signature checked with STRIPE_WEBHOOK_SECRET)`
      : `${where}   (${webhook} answers 503 until STRIPE_WEBHOOK_SECRET is set)`;
  }

  console.log(`VoltLedger is running (local stack)

  OCPP 1.6J   ${stack.ocppUrl}/{chargePointId}   (subprotocol ocpp1.6, HTTP Basic auth)
  Admin API   ${stack.adminUrl}   (Authorization: Bearer ${stack.adminToken})
  Stripe      ${stripeBanner()}
  OCPI eMSP   ${stack.ocpiPartner ? `${stack.ocpiPartner.cdrsUrl}   (local receiver, partner DEMO-EMSP, token DEMO-ROAMING)` : 'none'}
  Accounting  journal entries -> ${stack.accounting.webhookUrl}   (signed with ${stack.accounting.webhookSecret}; received: ${stack.adminUrl}/accounting/received)
  Data        ${dataDir ?? 'in memory (nothing is kept)'}
  DynamoDB    ${stack.dynamoEndpoint} (dynalite)   EventBridge ${stack.eventBusEndpoint} (local bus)

  Demo charge points ${DEMO.chargePoints.map((c) => c.chargePointId).join(', ')} (password "${DEMO.password}"),
  id tags ${DEMO.idTags.map((t) => t.idTag).join(', ')}, tariff ${DEMO.tariffId}.
  Try: npx voltledger simulate --charge-points 3 --admin-token ${stack.adminToken}
`);

  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log.info('stopping: delivering pending events, closing connections');
  await stack.close();
  return 0;
}
