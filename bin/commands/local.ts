import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { consoleLog } from '../../functions/shared/console-log.ts';
import { intFromEnv } from '../../functions/shared/env.ts';
import { DEMO } from '../../lib/local/seed.ts';
import { startLocalStack } from '../../lib/local/stack.ts';
import { StripeSubscriptionSource, stripeFromEnv } from '../../functions/entitlements/adapters/stripe-subscriptions.ts';
import { membershipPolicyFromEnv } from '../../functions/entitlements/deps.ts';

const USAGE = `voltledger local [--port N] [--data-dir DIR | --in-memory] [--no-seed]

Runs the whole VoltLedger stack on this machine with the same handler code as on AWS.
Environment: PORT (8080), DATA_DIR (.data/local), ADMIN_TOKEN (generated when unset),
LOG_LEVEL (info), SESSION_IDLE_LIMIT_SECONDS (14400), OCPP_HEARTBEAT_INTERVAL_SECONDS (300).`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'in-memory': { type: 'boolean', default: false },
      'no-seed': { type: 'boolean', default: false },
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

  // Stripe's test mode (sk_test_...) or a local Stripe-compatible server (STRIPE_API_HOST/PORT/PROTOCOL).
  const stripe =
    process.env.STRIPE_SECRET_KEY && process.env.STRIPE_WEBHOOK_SECRET
      ? { subscriptions: new StripeSubscriptionSource(stripeFromEnv()), webhookSecret: process.env.STRIPE_WEBHOOK_SECRET, policy: membershipPolicyFromEnv() }
      : undefined;
  const stack = await startLocalStack({
    ...(stripe ? { stripe } : {}),
    port,
    dataDir,
    adminToken: process.env.ADMIN_TOKEN || undefined,
    seed: !values['no-seed'],
    config: {
      heartbeatIntervalSeconds: intFromEnv('OCPP_HEARTBEAT_INTERVAL_SECONDS', 300),
      idleCompletionLimitSeconds: intFromEnv('SESSION_IDLE_LIMIT_SECONDS', 4 * 3600),
    },
    log,
  });
  stack.bus.subscribe((event) => {
    const data = (event.detail as { data?: { sessionId?: string; chargePointId?: string } }).data ?? {};
    log.info(`event ${event['detail-type']}`, { sessionId: data.sessionId, chargePointId: data.chargePointId });
  });

  console.log(`VoltLedger is running (local stack)

  OCPP 1.6J   ${stack.ocppUrl}/{chargePointId}   (subprotocol ocpp1.6, HTTP Basic auth)
  Admin API   ${stack.adminUrl}   (Authorization: Bearer ${stack.adminToken})
  Stripe      POST ${stack.stripeWebhookUrl}   ${stripe ? '(signature checked with STRIPE_WEBHOOK_SECRET)' : '(503 until STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are set)'}
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
