import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { CONSUMERS, eventPatternFor, SUBSCRIPTIONS } from '../../events/routing.ts';
import { composeAccounting, type AccountingDeps } from '../../functions/accounting/deps.ts';
import type { SyncConfig } from '../../functions/accounting/sync.ts';
import { composeAdmin } from '../../functions/admin/deps.ts';
import { createHandler as createAdminHandler } from '../../functions/admin/handler.ts';
import { StripeSubscriptionSource } from '../../functions/entitlements/adapters/stripe-subscriptions.ts';
import { composeMemberships } from '../../functions/entitlements/deps.ts';
import { composeStripeWebhook } from '../../functions/entitlements/webhook-deps.ts';
import type { MembershipPolicy } from '../../functions/entitlements/domain/model.ts';
import type { MembershipStore, SubscriptionSource } from '../../functions/entitlements/domain/ports.ts';
import type { MembershipSync } from '../../functions/entitlements/membership-sync.ts';
import { createHandler as createStripeWebhookHandler } from '../../functions/entitlements/webhook-handler.ts';
import { composeFleet } from '../../functions/fleet/deps.ts';
import type { FleetBilling } from '../../functions/fleet/fleet-billing.ts';
import type { CentralSystem, CentralSystemConfig } from '../../functions/ocpp/central-system.ts';
import { createHandler as createConnectHandler } from '../../functions/ocpp/connect.ts';
import { composeOcpp, type OcppStores } from '../../functions/ocpp/deps.ts';
import { createHandler as createDisconnectHandler } from '../../functions/ocpp/disconnect.ts';
import { createHandler as createMessageHandler } from '../../functions/ocpp/message.ts';
import { createHandler as createIdleSweepHandler } from '../../functions/ocpp/sweep.ts';
import { composePayments, type PaymentDeps } from '../../functions/payments/deps.ts';
import { createHandler as createReaderSweepHandler } from '../../functions/payments/sweep-handler.ts';
import { composeRoaming } from '../../functions/roaming/deps.ts';
import type { Roaming } from '../../functions/roaming/roaming-service.ts';
import { systemClock, type Clock } from '../../functions/shared/clock.ts';
import { EventBridgePublisher } from '../../functions/shared/event-publisher.ts';
import type { HttpEvent } from '../../functions/shared/http.ts';
import type { Log } from '../../functions/shared/log.ts';
import type { Platform, PlatformSource } from '../../functions/shared/platform.ts';
import type { StripeEventHandler } from '../../functions/shared/stripe.ts';
import { createAccountingReceiver, type AccountingReceiver } from './accounting-receiver.ts';
import { ensureTables, localTableNames, startLocalDynamo } from './dynamodb.ts';
import { LocalEventBus, type LocalEventBusOptions } from './event-bus.ts';
import { LocalMetricsSink, localContext } from './lambda-runtime.ts';
import { startOcpiPartner, type OcpiPartner } from './ocpi-partner.ts';
import { seedDemoData, seedDemoPayers } from './seed.ts';
import { seedDemoFleet, seedDemoRoaming } from './seed-billing.ts';
import { startStripeEmulator, stripeClientFor, type StripeEmulator, type StripeEmulatorOptions } from './stripe/index.ts';
import { attachWebSocketGateway, type WebSocketHandlers } from './websocket-gateway.ts';

/** Where the handler modules named in events/routing.ts CONSUMERS are found (entries are relative to it). */
const REPOSITORY_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A consumer's handler module, as Lambda and the local stack load it. */
interface ConsumerModule {
  createHandler(platform: PlatformSource): (event: EventBridgeEvent<string, unknown>, context: Context) => Promise<unknown>;
}

export type EventConsumer = (event: EventBridgeEvent<string, unknown>) => Promise<void>;

export interface LocalStackOptions {
  /** Port for OCPP, the admin API and @connections; 0 picks a free one. */
  port?: number;
  host?: string;
  /** Folder for DynamoDB data and the event journal; undefined keeps everything in memory. */
  dataDir?: string;
  /** Bearer token for the admin API; generated when not given. */
  adminToken?: string;
  /** Run dynalite in a child process (it exits with this one), so the store gets its own core; default false. */
  dynamoProcess?: boolean;
  /** Seed the demo charge points, id tags and tariff on first start (default true). */
  seed?: boolean;
  /** With the Stripe emulator and `seed`: give the demo drivers cards and a membership in it (default false; `voltledger local` turns it on). */
  seedPayers?: boolean;
  config?: Partial<CentralSystemConfig>;
  /** How often stopped sessions are checked against the idle limit (default 60 s; 0 disables). */
  sweepIntervalMs?: number;
  /** Handlers for the consumers named in events/routing.ts; a consumer without one is reported. */
  consumers?: Record<string, EventConsumer>;
  clock?: Clock;
  log: Log;
  /**
   * Stripe memberships: where subscriptions are read (the SDK against Stripe's test mode or a
   * local Stripe-compatible server, or an in-memory source in tests) and the webhook signing
   * secret; or `emulator` to run the local Stripe emulator (lib/local/stripe) beside the stack,
   * read it through the real SDK and have it deliver signed webhooks to `/webhooks/stripe`.
   * Without it, `POST /webhooks/stripe` answers 503.
   */
  stripe?: LocalStripeSource | LocalStripeEmulatorSource;
  /**
   * Roaming: run a local OCPI eMSP (lib/local/ocpi-partner.ts) and register it as partner
   * `DEMO-EMSP` with a demo token and the demo sites' locations (default true); the waits between
   * CDR push attempts (default 0, 1, 4 s).
   */
  roaming?: { localPartner?: boolean; retryDelaysMs?: number[] };
  /**
   * The accounting sync: by default journal entries go to the local receiver at
   * `/accounting/webhook` (signed with a generated secret); or to another webhook.
   */
  accounting?: { webhookUrl?: string; webhookSecret?: string; syncConfig?: Partial<SyncConfig>; /** Stripe for reconciliation when not the emulator. */ stripe?: Stripe };
  /** The local bus's chaos (every delivery twice, shuffled and delayed at random), for idempotency tests; off by default. */
  busChaos?: LocalEventBusOptions['chaos'];
}

interface LocalStripeCommon {
  policy?: MembershipPolicy;
  toleranceSeconds?: number;
  /** More handlers by event type (payments), beside the membership ones. */
  handlers?: Record<string, StripeEventHandler>;
  /** The SDK client card payments and fleet invoices use (the emulator's own client when it runs); without it, card payments are off. */
  client?: Stripe;
}

/** Stripe somewhere else (test mode, a Stripe-compatible server, an in-memory source). */
export interface LocalStripeSource extends LocalStripeCommon {
  subscriptions: SubscriptionSource;
  webhookSecret: string;
}

/** The local Stripe emulator, started and closed with the stack; state in `${dataDir}/stripe`. */
export interface LocalStripeEmulatorSource extends LocalStripeCommon {
  emulator: {
    /** Port for the emulator; 0 (default) picks a free one. */
    port?: number;
    /** The `whsec_...` it signs webhooks with; generated when not given. */
    webhookSecret?: string;
    /** Further emulator options (fees, webhook retry, faults). */
    options?: Omit<StripeEmulatorOptions, 'port' | 'host' | 'dataDir' | 'webhookSecret' | 'webhookUrls' | 'log'>;
    /** Config for the SDK client over VoltLedger's defaults (2 retries, 10 s timeout). */
    client?: Stripe.StripeConfig;
  };
}

export interface LocalStack {
  port: number;
  ocppUrl: string;
  adminUrl: string;
  adminToken: string;
  dynamoEndpoint: string;
  eventBusEndpoint: string;
  bus: LocalEventBus;
  stores: OcppStores;
  system: CentralSystem;
  /** The Stripe webhook endpoint: `http://host:port/webhooks/stripe`. */
  stripeWebhookUrl: string;
  memberships: { store: MembershipStore; sync: MembershipSync | undefined };
  /** Card payments, when Stripe (or the emulator) is configured. */
  payments?: PaymentDeps;
  /** With `stripe.emulator`: the running emulator (its `url`, `control`), a real SDK client for it, and the webhook secret. */
  stripeEmulator?: { emulator: StripeEmulator; client: Stripe; webhookSecret: string };
  /** Fleet statements (functions/fleet). */
  fleet: FleetBilling;
  /** Roaming partners, tokens, CDRs (functions/roaming). */
  roaming: Roaming;
  /** The local OCPI eMSP receiving CDRs, unless `roaming.localPartner` is false. */
  ocpiPartner?: OcpiPartner;
  /** The ledger, sync, reconciliation; the local accounting receiver and where entries are sent. */
  accounting: AccountingDeps & { receiver: AccountingReceiver; webhookUrl: string; webhookSecret: string };
  /** What the handler modules published as metrics (on Lambda, Embedded Metric Format lines in the log). */
  metrics: LocalMetricsSink;
  close(): Promise<void>;
}

const EVENT_BUS_NAME = 'voltledger-local';

/** Local stand-ins accept any credentials, but the AWS SDK insists on having some. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const LOCAL_REGION = 'us-east-1';
/**
 * One local process serves every charge point's handler at once (on AWS each Lambda invocation
 * has its own client): the SDK's default pool of 50 sockets per client would queue requests
 * behind each other under load, so the local clients get a larger keep-alive pool.
 */
const LOCAL_REQUEST_HANDLER = { httpAgent: { keepAlive: true, maxSockets: 512 } };

/**
 * A new admin token: 18 random bytes, base64url, behind a prefix. Bare, one token in 64 starts with
 * '-', and `voltledger ... --admin-token <token>` then reads it as an option.
 */
export function newAdminToken(): string {
  return `vladm_${randomBytes(18).toString('base64url')}`;
}

/**
 * Runs VoltLedger on this machine: dynalite for DynamoDB, a local EventBridge bus routing with the
 * rules in events/routing.ts, and a WebSocket gateway producing API Gateway's events for the same
 * handler code the Lambda functions run. One port serves OCPP (`/ocpp/{chargePointId}`), the admin
 * API (`/admin/...`) and the @connections API.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  const clock = options.clock ?? systemClock;
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const adminToken = options.adminToken ?? newAdminToken();

  const dynamoServer = await startLocalDynamo({ dataDir: options.dataDir, host, process: options.dynamoProcess ?? false });
  const tables = localTableNames();
  const dynamo = new DynamoDBClient({ endpoint: dynamoServer.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestHandler: LOCAL_REQUEST_HANDLER });
  await ensureTables(dynamo, tables);

  // The bus exists before the functions (they publish to its endpoint), so its targets resolve
  // the consumer's handler at delivery time; an unknown consumer fails delivery (and is retried).
  const handlers: Record<string, EventConsumer> = {};
  const consumerIds = [...new Set(SUBSCRIPTIONS.map((s) => s.consumer))];
  // Whatever arrives while the stack is still wiring its functions (events the bus redelivers from
  // its journal, charge points reconnecting to the port, admin calls) waits until they are loaded,
  // as an event or a request waits for its Lambda function on AWS.
  let functionsLoaded!: () => void;
  let startFailed!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    functionsLoaded = resolve;
    startFailed = reject;
  });
  // A failed start rejects what waits (and is reported by startLocalStack's own rejection).
  ready.catch(() => undefined);
  const targets: Record<string, EventConsumer> = Object.fromEntries(
    consumerIds.map((id) => [
      id,
      async (event: EventBridgeEvent<string, unknown>) => {
        await ready;
        const handler = handlers[id];
        if (!handler) throw new Error(`no local handler for consumer ${id}`);
        return handler(event);
      },
    ]),
  );
  const rules = SUBSCRIPTIONS.map((subscription) => ({
    name: subscription.ruleName,
    eventPattern: eventPatternFor(subscription),
    targets: [subscription.consumer],
  }));
  const bus = new LocalEventBus({ rules, targets, dataDir: options.dataDir, log, clock, ...(options.busChaos ? { chaos: options.busChaos } : {}) });
  const { endpoint: eventBusEndpoint } = await bus.listen(0, host);

  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://${host}:${port}`;

  let websocketHandlers!: WebSocketHandlers;
  const websocket = ready.then(() => websocketHandlers);
  const gateway = attachWebSocketGateway(server, {
    handlers: {
      connect: async (event) => (await websocket).connect(event),
      disconnect: async (event) => (await websocket).disconnect(event),
      message: async (event) => (await websocket).message(event),
    },
    stage: 'local',
    pathPrefix: '/ocpp/',
    log,
    clock,
  });

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (gateway.handleManagementRequest(req, res)) return;
    void serveHttp(req, res).catch((error) => {
      log.error('local HTTP request failed', { error: String(error) });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'InternalError' }));
    });
  });


  // The stand-ins started so far are closed again when the start fails, and whatever was waiting
  // for the functions is refused instead of waiting for ever.
  let startedEmulator: StripeEmulator | undefined;
  let serveHttp!: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  try {
    const stripeOptions = options.stripe;
    let stripeEmulator: LocalStack['stripeEmulator'];
    let stripeSource: LocalStripeSource | undefined;
    if (stripeOptions && 'emulator' in stripeOptions) {
      const { emulator: settings, ...common } = stripeOptions;
      const webhookSecret = settings.webhookSecret ?? `whsec_local_${randomBytes(24).toString('base64url')}`;
      const emulator = await startStripeEmulator({ clock, ...settings.options, port: settings.port ?? 0, host, dataDir: options.dataDir, webhookSecret, log });
      startedEmulator = emulator;
      // VoltLedger's own client settings (createStripeClient): retries on network errors and 5xx, a bounded timeout.
      const client = stripeClientFor(emulator, { maxNetworkRetries: 2, timeout: 10_000, appInfo: { name: 'VoltLedger' }, ...settings.client });
      stripeEmulator = { emulator, client, webhookSecret };
      stripeSource = { ...common, subscriptions: new StripeSubscriptionSource(client), webhookSecret, client };
    } else {
      stripeSource = stripeOptions;
    }

    // The platform every context is composed over: what Lambda reads from its environment
    // (functions/shared/lambda-platform.ts), here the local stand-ins.
    const managementApi = new ApiGatewayManagementApiClient({ endpoint: baseUrl, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const stripeClient = stripeSource?.client;
    const webhookSecret = options.accounting?.webhookSecret ?? `vlwh_${randomBytes(24).toString('base64url')}`;
    const webhookUrl = options.accounting?.webhookUrl ?? `${baseUrl}/accounting/webhook`;
    const metrics = new LocalMetricsSink(log);
    const platform: Platform = {
      dynamo,
      tables,
      events: new EventBridgePublisher(
        new EventBridgeClient({ endpoint: eventBusEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, requestHandler: LOCAL_REQUEST_HANDLER }),
        EVENT_BUS_NAME,
      ),
      connections: () => managementApi,
      ...(stripeClient && stripeSource ? { stripe: { client: async () => stripeClient, webhookSecret: async () => stripeSource.webhookSecret } } : {}),
      accountingWebhook: async () => ({ url: webhookUrl, secret: webhookSecret }),
      env: { ADMIN_TOKEN: adminToken },
      clock,
      log,
      metrics: (service) => metrics.buffer(service),
    };
    const platformSource = () => platform;

    // Each context composed once, with this stack's overrides; the handler modules invoked below get
    // these same instances (perPlatform), and the stack hands them to its callers.
    const ocpp = composeOcpp(platform, { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: 4 * 3600, ...options.config });
    const payments = await composePayments(platform);
    const fleet = composeFleet(platform);
    const roaming = composeRoaming(platform, options.roaming?.retryDelaysMs ? { retry: { retryDelaysMs: options.roaming.retryDelaysMs } } : {});
    const receiver = createAccountingReceiver({ secret: webhookSecret, clock, dataDir: options.dataDir });
    const accounting = composeAccounting(platform, {
      ...(options.accounting?.syncConfig ? { syncConfig: options.accounting.syncConfig } : {}),
      ...(options.accounting?.stripe ? { stripe: options.accounting.stripe } : {}),
    });
    const memberships = composeMemberships(platform, {
      ...(stripeSource ? { subscriptions: stripeSource.subscriptions } : {}),
      ...(stripeSource?.policy ? { policy: stripeSource.policy } : {}),
    });
    if (stripeSource) {
      await composeStripeWebhook(platform, {
        secret: stripeSource.webhookSecret,
        ...(stripeSource.toleranceSeconds === undefined ? {} : { toleranceSeconds: stripeSource.toleranceSeconds }),
        ...(stripeSource.handlers ? { handlers: stripeSource.handlers } : {}),
      });
    }
    await composeAdmin(platform, { stripeConfigured: Boolean(stripeSource), receiver });

    // The handler modules Lambda runs (the middy chain, the metrics), invoked with a Lambda-shaped context.
    const invoke = <E, R>(functionName: string, handler: (event: E, context: Context) => Promise<R>) => (event: E) => handler(event, localContext(functionName));
    for (const [id, spec] of Object.entries(CONSUMERS)) {
      const module = (await import(pathToFileURL(resolve(REPOSITORY_ROOT, spec.entry)).href)) as ConsumerModule;
      const consume = invoke(id, module.createHandler(platformSource));
      handlers[id] = async (event) => {
        await consume(event);
      };
    }
    if (!payments) handlers.payments = cardPaymentsOff(log);
    Object.assign(handlers, options.consumers);
    for (const id of consumerIds) if (!handlers[id]) log.warn(`no local handler for consumer ${id}: its events will wait in the bus`);
    const admin = invoke('admin', createAdminHandler(platformSource));
    const stripeWebhook = invoke('stripeWebhook', createStripeWebhookHandler(platformSource));
    const idleSweep = invoke('sweep', createIdleSweepHandler(platformSource));
    const readerSweep = invoke('readerPaymentSweep', createReaderSweepHandler(platformSource));
    websocketHandlers = {
      connect: invoke('connect', createConnectHandler(platformSource)),
      disconnect: invoke('disconnect', createDisconnectHandler(platformSource)),
      message: invoke('message', createMessageHandler(platformSource)),
    };
    functionsLoaded();

    serveHttp = async (req: IncomingMessage, res: ServerResponse) => {
      await ready;
      const url = new URL(req.url ?? '/', baseUrl);
      if (url.pathname === '/' || url.pathname === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ service: 'voltledger', ocpp: `ws://${host}:${port}/ocpp/{chargePointId}`, admin: `${baseUrl}/admin`, connections: gateway.connections() }));
        return;
      }
      if (url.pathname === '/accounting/webhook' && req.method === 'POST') {
        // The local accounting system: the signature is over the exact bytes received.
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]));
        const result = receiver.handle({ headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(result.statusCode, { 'content-type': 'application/json' });
        res.end(result.body);
        return;
      }
      const isWebhook = url.pathname === '/webhooks/stripe';
      if (!url.pathname.startsWith('/admin') && !isWebhook) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'NotFound', message: `nothing at ${url.pathname}` }));
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const event: HttpEvent = {
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])),
        queryStringParameters: Object.fromEntries(url.searchParams),
        // The webhook gets the raw bytes base64-encoded, as API Gateway passes a body it treats as binary.
        body: isWebhook ? Buffer.concat(chunks).toString('base64') : Buffer.concat(chunks).toString('utf8'),
        isBase64Encoded: isWebhook,
        requestContext: { http: { method: req.method ?? 'GET', path: url.pathname } },
      };
      const result = isWebhook ? await stripeWebhook(event) : await admin(event);
      res.writeHead(result.statusCode, result.headers);
      res.end(result.body);
    };

    // Registered once the webhook route is served; the emulator keeps endpoints by URL, so a restart on the same port reuses it.
    stripeEmulator?.emulator.addWebhookEndpoint(`${baseUrl}/webhooks/stripe`);

    if (options.seed ?? true) {
      if (await seedDemoData(ocpp.stores, clock.now())) {
        log.info('seeded demo charge points, id tags and tariff');
        if (stripeEmulator && options.seedPayers) {
          const call = (method: string, path: string, body: unknown) =>
            admin({
              rawPath: path,
              rawQueryString: '',
              headers: { authorization: `Bearer ${adminToken}` },
              body: JSON.stringify(body),
              isBase64Encoded: false,
              requestContext: { http: { method, path } },
            });
          await seedDemoPayers(stripeEmulator.client, call);
          log.info('seeded demo payers in the Stripe emulator: DEMO-RETAIL pays by card, DEMO-MEMBER subscribes to plus');
        }
      }
      if (await seedDemoFleet(fleet.accounts, stripeEmulator?.client, clock.now())) log.info('seeded demo fleet account ACME');
    }
    const ocpiPartner = options.roaming?.localPartner === false ? undefined : await startOcpiPartner({ host, log, clock });
    // The partner's URL changes with its port, so its record is written at every start.
    if (ocpiPartner && (options.seed ?? true)) await seedDemoRoaming(roaming, ocpiPartner, clock.now());

    const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    let sweeping = false;
    const sweep =
      sweepIntervalMs > 0
        ? setInterval(() => {
            if (sweeping) return;
            sweeping = true;
            // Fire and forget: an interval tick cannot await. Each sweep catches and logs its own
            // failure, so this cannot reject; the flag keeps ticks from overlapping.
            void Promise.all([
              idleSweep(undefined).catch((error) => log.error('idle-session sweep failed', { error: String(error) })),
              payments ? readerSweep(undefined).catch((error) => log.error('reader-payment sweep failed', { error: String(error) })) : undefined,
            ])
              .finally(() => (sweeping = false));
          }, sweepIntervalMs)
        : undefined;
    sweep?.unref();

    return {
      port,
      ocppUrl: `ws://${host}:${port}/ocpp`,
      adminUrl: `${baseUrl}/admin`,
      adminToken,
      dynamoEndpoint: dynamoServer.endpoint,
      eventBusEndpoint,
      bus,
      stores: ocpp.stores,
      system: ocpp.system,
      stripeWebhookUrl: `${baseUrl}/webhooks/stripe`,
      memberships: { store: memberships.store, sync: stripeSource ? memberships.sync : undefined },
      ...(payments ? { payments } : {}),
      ...(stripeEmulator ? { stripeEmulator } : {}),
      fleet,
      roaming,
      ...(ocpiPartner ? { ocpiPartner } : {}),
      accounting: { ...accounting, receiver, webhookUrl, webhookSecret },
      metrics,
      async close() {
        if (sweep) clearInterval(sweep);
        await ocpiPartner?.close();
        // First, so no webhook is delivered to a closing server; undelivered ones persist with the data.
        await stripeEmulator?.emulator.close();
        await gateway.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await bus.drain();
        await bus.close();
        dynamo.destroy();
        await dynamoServer.close();
      },
    };
  } catch (error) {
    startFailed(error);
    await startedEmulator?.close().catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await bus.close().catch(() => undefined);
    dynamo.destroy();
    await dynamoServer.close().catch(() => undefined);
    throw error;
  }
}

/** Without Stripe there are no card payments: the payments consumer acknowledges its events and says so once. */
function cardPaymentsOff(log: Log): EventConsumer {
  let warned = false;
  return async () => {
    if (warned) return;
    warned = true;
    log.warn('Stripe is not configured: card payments are off (holds, captures); sessions are still priced');
  };
}
