import { randomBytes, randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { systemClock, type Clock } from '../../functions/shared/clock.ts';
import { silentLog, type Log } from '../../functions/shared/log.ts';
import { isEdgeResponse, loadPathRewrite, type CloudFrontFunctionEvent, type CloudFrontFunctionField } from '../edge/load-path-rewrite.ts';

/** `requestContext` fields every API Gateway WebSocket event carries. */
export interface WebSocketRequestContext {
  routeKey: '$connect' | '$default' | '$disconnect';
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  messageId?: string;
  extendedRequestId: string;
  requestTime: string;
  messageDirection: 'IN';
  stage: string;
  connectedAt: number;
  requestTimeEpoch: number;
  identity: { sourceIp: string; userAgent: string };
  requestId: string;
  domainName: string;
  connectionId: string;
  apiId: string;
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

/** The `$connect` event, as API Gateway hands it to the Lambda proxy integration. */
export interface WebSocketConnectEvent {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  requestContext: WebSocketRequestContext;
  isBase64Encoded: false;
}

/** The `$default` event: one message from the client. */
export interface WebSocketMessageEvent {
  requestContext: WebSocketRequestContext;
  body: string;
  isBase64Encoded: boolean;
}

/** The `$disconnect` event. */
export interface WebSocketDisconnectEvent {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  requestContext: WebSocketRequestContext;
  isBase64Encoded: false;
}

/** The Lambda functions behind the three routes. */
export interface WebSocketHandlers {
  /** 2xx accepts the connection (its headers, Sec-WebSocket-Protocol above all, go into the 101); anything else refuses it. */
  connect(event: WebSocketConnectEvent): Promise<{ statusCode: number; headers?: Record<string, string>; body?: string }>;
  disconnect(event: WebSocketDisconnectEvent): Promise<unknown>;
  /** A returned body is the route response, sent back to the client. */
  message(event: WebSocketMessageEvent): Promise<{ statusCode: number; body?: string } | undefined>;
}

export interface WebSocketGatewayOptions {
  handlers: WebSocketHandlers;
  /** Stage name in events and the optional `/{stage}` prefix of @connections paths (default `local`). */
  stage?: string;
  /** Upgrades are accepted under this prefix only (default `/ocpp/`, which the CloudFront Function expects). */
  pathPrefix?: string;
  /** API Gateway's message size limit (default 128 KiB); larger messages close the connection with 1009. */
  maxMessageBytes?: number;
  /** API Gateway closes connections idle this long (default 10 minutes). */
  idleTimeoutMs?: number;
  /** API Gateway closes every connection at this age (default 2 hours). */
  maxConnectionMs?: number;
  log?: Log;
  /**
   * The time API Gateway reports (`connectedAt`, `requestTimeEpoch`, GetConnection), default the
   * system clock; the stack passes its own. The idle and age limits run on real timers.
   */
  clock?: Clock;
}

export interface WebSocketGateway {
  /** Serves `[/{stage}]/@connections/{id}`; returns false, touching nothing, for any other path. */
  handleManagementRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Open connections. */
  connections(): number;
  /** Closes every connection (each gets its `$disconnect`) and stops accepting upgrades. */
  close(): Promise<void>;
}

interface Connection {
  id: string;
  ws: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  domainName: string;
  idleTimer?: NodeJS.Timeout;
  ageTimer?: NodeJS.Timeout;
  /** Why the gateway itself closed the connection, reported in `$disconnect` instead of the echoed code. */
  closedBy?: { code: number; reason: string };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's `requestTime`: `09/Feb/2026:18:11:43 +0000`. */
function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** API Gateway's ids (connection, request, message) are 16 base64 characters ending in `=`. */
const gatewayId = () => randomBytes(11).toString('base64');

/** Reasons API Gateway-style for close codes a client sends. */
function closeReason(code: number): string {
  switch (code) {
    case 1000:
      return 'Connection Closed Normally';
    case 1001:
      return 'Going away';
    case 1005:
      return 'Client-side close frame status not set';
    case 1006:
      return 'Connection closed abnormally';
    case 1009:
      return 'Message too big';
    default:
      return `Connection closed with status ${code}`;
  }
}

function sourceIpOf(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

/** Header maps from the raw headers, keeping the client's casing as API Gateway does. */
function headerMaps(req: IncomingMessage, nowMs: number): { headers: Record<string, string>; multiValueHeaders: Record<string, string[]> } {
  const multiValueHeaders: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const existing = Object.keys(multiValueHeaders).find((key) => key.toLowerCase() === name.toLowerCase());
    (multiValueHeaders[existing ?? name] ??= []).push(raw[i + 1]!);
  }
  const port = req.socket.localPort ?? 0;
  const forwarded: Record<string, string> = {
    'X-Amzn-Trace-Id': `Root=1-${Math.floor(nowMs / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
    'X-Forwarded-For': sourceIpOf(req),
    'X-Forwarded-Port': String(port),
    'X-Forwarded-Proto': 'http',
  };
  for (const [name, value] of Object.entries(forwarded)) multiValueHeaders[name] ??= [value];
  // The single-value map keeps the last value, as API Gateway's proxy integration does.
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([name, values]) => [name, values[values.length - 1]!]));
  return { headers, multiValueHeaders };
}

/** The CloudFront Functions view of a request: lowercase headers, cookies apart, query values still encoded. */
function cloudFrontEvent(req: IncomingMessage, requestId: string): CloudFrontFunctionEvent {
  const rawUrl = req.url ?? '/';
  const queryAt = rawUrl.indexOf('?');
  const uri = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rawUrl.slice(queryAt + 1);
  const add = (target: Record<string, CloudFrontFunctionField>, name: string, value: string) => {
    const field = target[name];
    if (!field) target[name] = { value };
    else (field.multiValue ??= [{ value: field.value }]).push({ value });
  };
  const querystring: Record<string, CloudFrontFunctionField> = {};
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    add(querystring, eq === -1 ? pair : pair.slice(0, eq), eq === -1 ? '' : pair.slice(eq + 1));
  }
  const headers: Record<string, CloudFrontFunctionField> = {};
  const cookies: Record<string, CloudFrontFunctionField> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      for (const cookie of value.split(';')) {
        const eq = cookie.indexOf('=');
        if (eq > 0) add(cookies, cookie.slice(0, eq).trim(), cookie.slice(eq + 1).trim());
      }
    } else {
      add(headers, name, value);
    }
  }
  return {
    version: '1.0',
    context: { distributionDomainName: 'local.cloudfront.net', distributionId: 'LOCAL', eventType: 'viewer-request', requestId },
    viewer: { ip: sourceIpOf(req) },
    request: { method: req.method ?? 'GET', uri, querystring, headers, cookies },
  };
}

/** Writes a plain HTTP response on a socket that was asking to upgrade, then closes it. */
function refuseUpgrade(socket: Duplex, status: number, headers: Record<string, string>, body: string): void {
  if (socket.destroyed) return;
  const clean = (text: string) => text.replace(/[\r\n]+/g, ' ');
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`];
  for (const [name, value] of Object.entries(headers)) {
    if (/^(connection|content-length|upgrade)$/i.test(name)) continue;
    lines.push(`${clean(name)}: ${clean(value)}`);
  }
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}

const findHeader = (headers: Record<string, string> | undefined, name: string) =>
  Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

/**
 * A local API Gateway WebSocket API on an existing HTTP server (its port is shared with the admin
 * API). Upgrades under `pathPrefix` first pass the CloudFront Function of lib/edge (the same code
 * CloudFront runs), then become `$connect`; messages become `$default` with the returned body as
 * the route response; every end of a connection (either side, idle timeout, maximum age, DELETE on
 * @connections) becomes exactly one `$disconnect`. `handleManagementRequest` serves the @connections
 * API for the real `@aws-sdk/client-apigatewaymanagementapi` client.
 */
export function attachWebSocketGateway(server: Server, opts: WebSocketGatewayOptions): WebSocketGateway {
  const stage = opts.stage ?? 'local';
  const pathPrefix = opts.pathPrefix ?? '/ocpp/';
  const maxMessageBytes = opts.maxMessageBytes ?? 128 * 1024;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 10 * 60_000;
  const maxConnectionMs = opts.maxConnectionMs ?? 2 * 3600_000;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLog;
  const { handlers } = opts;
  const rewrite = loadPathRewrite();
  const apiId = randomBytes(8).toString('hex').replace(/\d/g, (d) => 'abcdefghij'[Number(d)]!).slice(0, 10);
  const open = new Map<string, Connection>();
  const pending = new Set<Promise<unknown>>();
  // What the $connect handler decided for a request, read back by ws while it completes the upgrade.
  const chosenProtocol = new WeakMap<IncomingMessage, string>();
  const extraHeaders = new WeakMap<IncomingMessage, Record<string, string>>();
  let closing = false;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    pending.add(promise);
    void promise.finally(() => pending.delete(promise)).catch(() => undefined);
    return promise;
  };

  const wss = new WebSocketServer({
    noServer: true,
    // ws closes with 1009 and never emits the message, as API Gateway does past its limit.
    maxPayload: maxMessageBytes,
    // API Gateway does not negotiate permessage-deflate.
    perMessageDeflate: false,
    handleProtocols: (_offered, req) => chosenProtocol.get(req) ?? false,
  });
  wss.on('headers', (headers, req) => {
    const extra = extraHeaders.get(req) ?? {};
    for (const [name, value] of Object.entries(extra)) {
      if (/^(connection|upgrade|sec-websocket-accept|sec-websocket-extensions|content-length)$/i.test(name)) continue;
      if (/^sec-websocket-protocol$/i.test(name)) {
        // ws adds it itself when the client offered subprotocols; API Gateway sends it regardless.
        if (req.headers['sec-websocket-protocol'] === undefined) headers.push(`Sec-WebSocket-Protocol: ${value}`);
        continue;
      }
      headers.push(`${name}: ${value.replace(/[\r\n]+/g, ' ')}`);
    }
  });

  function context(conn: Pick<Connection, 'id' | 'connectedAt' | 'sourceIp' | 'userAgent' | 'domainName'>, routeKey: WebSocketRequestContext['routeKey']): WebSocketRequestContext {
    const now = clock.now().getTime();
    const requestId = gatewayId();
    return {
      routeKey,
      eventType: routeKey === '$connect' ? 'CONNECT' : routeKey === '$disconnect' ? 'DISCONNECT' : 'MESSAGE',
      extendedRequestId: requestId,
      requestTime: requestTime(now),
      messageDirection: 'IN',
      stage,
      connectedAt: conn.connectedAt,
      requestTimeEpoch: now,
      identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
      requestId,
      domainName: conn.domainName,
      connectionId: conn.id,
      apiId,
    };
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (closing || !path.startsWith(pathPrefix)) {
      refuseUpgrade(socket, 404, { 'Content-Type': 'application/json' }, JSON.stringify({ message: 'Not Found' }));
      return;
    }
    const edgeResult = rewrite(cloudFrontEvent(req, gatewayId()));
    if (isEdgeResponse(edgeResult)) {
      const headers = Object.fromEntries(Object.entries(edgeResult.headers ?? {}).map(([name, field]) => [name, field.value]));
      const body = typeof edgeResult.body === 'string' ? edgeResult.body : edgeResult.body?.encoding === 'base64' ? Buffer.from(edgeResult.body.data, 'base64').toString('utf8') : (edgeResult.body?.data ?? '');
      refuseUpgrade(socket, edgeResult.statusCode, headers, body);
      return;
    }
    // What CloudFront forwards: the rewritten query string, which API Gateway decodes into parameters.
    const rawQuery = Object.entries(edgeResult.querystring)
      .flatMap(([name, field]) => (field.multiValue ?? [field]).map((v) => `${name}=${v.value}`))
      .join('&');
    const multiValueQueryStringParameters: Record<string, string[]> = {};
    for (const [name, value] of new URLSearchParams(rawQuery)) (multiValueQueryStringParameters[name] ??= []).push(value);
    const queryStringParameters = Object.fromEntries(Object.entries(multiValueQueryStringParameters).map(([name, values]) => [name, values[values.length - 1]!]));

    const connectedAt = clock.now().getTime();
    const identity = {
      id: gatewayId(),
      connectedAt,
      sourceIp: sourceIpOf(req),
      userAgent: req.headers['user-agent'] ?? '',
      domainName: req.headers.host ?? 'localhost',
    };
    const event: WebSocketConnectEvent = {
      ...headerMaps(req, connectedAt),
      ...(Object.keys(queryStringParameters).length ? { queryStringParameters, multiValueQueryStringParameters } : {}),
      requestContext: context(identity, '$connect'),
      isBase64Encoded: false,
    };

    let decision: Awaited<ReturnType<WebSocketHandlers['connect']>>;
    try {
      decision = await handlers.connect(event);
    } catch (error) {
      log.error('$connect handler failed', { connectionId: identity.id, error: String(error) });
      refuseUpgrade(socket, 500, { 'Content-Type': 'application/json' }, JSON.stringify({ message: 'Internal server error' }));
      return;
    }
    const status = decision?.statusCode ?? 500;
    if (status < 200 || status > 299) {
      refuseUpgrade(socket, status, decision?.headers ?? {}, decision?.body ?? '');
      return;
    }
    const protocol = findHeader(decision.headers, 'sec-websocket-protocol');
    if (protocol !== undefined) chosenProtocol.set(req, protocol);
    extraHeaders.set(req, decision.headers ?? {});

    if (closing || socket.destroyed || !socket.writable) {
      // $connect said yes but the client is gone: the handler may have recorded the connection, so end it properly.
      fireDisconnect({ ...identity, lastActiveAt: connectedAt } as Connection, 1006, closeReason(1006));
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => established(ws, identity));
  }

  function established(ws: WebSocket, identity: Omit<Connection, 'ws' | 'lastActiveAt'>): void {
    const conn: Connection = { ...identity, ws, lastActiveAt: clock.now().getTime() };
    open.set(conn.id, conn);
    conn.idleTimer = setTimeout(() => closeBy(conn, 1001, 'Going away', 'idle timeout'), idleTimeoutMs);
    conn.ageTimer = setTimeout(() => closeBy(conn, 1001, 'Going away', 'maximum connection duration'), maxConnectionMs);
    conn.idleTimer.unref();
    conn.ageTimer.unref();

    ws.on('message', (data: RawData, isBinary: boolean) => {
      touch(conn);
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      const event: WebSocketMessageEvent = {
        requestContext: { ...context(conn, '$default'), messageId: gatewayId() },
        // API Gateway hands binary frames over base64-encoded.
        body: isBinary ? bytes.toString('base64') : bytes.toString('utf8'),
        isBase64Encoded: isBinary,
      };
      void track(
        Promise.resolve()
          .then(() => handlers.message(event))
          .then(
            (result) => {
              if (result && typeof result.body === 'string' && ws.readyState === WebSocket.OPEN) ws.send(result.body);
            },
            (error) => {
              log.error('$default handler failed', { connectionId: conn.id, error: String(error) });
              // What API Gateway sends the client when the integration fails.
              if (ws.readyState === WebSocket.OPEN) {
                ws.send(JSON.stringify({ message: 'Internal server error', connectionId: conn.id, requestId: event.requestContext.requestId }));
              }
            },
          ),
      );
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws has sent 1009 for a message over the limit; report that, not the 1006 of the unanswered close.
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') conn.closedBy ??= { code: 1009, reason: 'Message too big' };
      log.debug('WebSocket error', { connectionId: conn.id, error: String(error) });
    });
    ws.once('close', (code: number, reason: Buffer) => {
      clearTimeout(conn.idleTimer);
      clearTimeout(conn.ageTimer);
      open.delete(conn.id);
      const closedBy = conn.closedBy;
      fireDisconnect(conn, closedBy?.code ?? code, closedBy?.reason ?? (reason.length ? reason.toString('utf8') : closeReason(code)));
    });
  }

  function touch(conn: Connection): void {
    conn.lastActiveAt = clock.now().getTime();
    conn.idleTimer?.refresh();
  }

  function closeBy(conn: Connection, code: number, reason: string, why: string): void {
    if (conn.closedBy || conn.ws.readyState !== WebSocket.OPEN) return;
    log.info('closing WebSocket connection', { connectionId: conn.id, why });
    conn.closedBy = { code, reason };
    conn.ws.close(code, reason);
    // A client that never answers the close frame is cut off rather than left half-open.
    setTimeout(() => conn.ws.terminate(), 2_000).unref();
  }

  function fireDisconnect(conn: Connection, code: number, reason: string): void {
    const headers: Record<string, string> = { Host: conn.domainName, 'x-api-key': '', 'X-Forwarded-For': conn.sourceIp, 'x-restapi': '' };
    const event: WebSocketDisconnectEvent = {
      headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
      requestContext: { ...context(conn, '$disconnect'), disconnectStatusCode: code, disconnectReason: reason },
      isBase64Encoded: false,
    };
    void track(
      Promise.resolve()
        .then(() => handlers.disconnect(event))
        .catch((error) => log.error('$disconnect handler failed', { connectionId: conn.id, error: String(error) })),
    );
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    void track(
      upgrade(req, socket, head).catch((error) => {
        log.error('WebSocket upgrade failed', { error: String(error) });
        refuseUpgrade(socket, 500, {}, '');
      }),
    );
  };
  server.on('upgrade', onUpgrade);

  function answer(res: ServerResponse, status: number, body?: unknown, errorType?: string): void {
    const headers: Record<string, string> = { 'x-amzn-requestid': randomUUID() };
    if (errorType) headers['x-amzn-errortype'] = errorType;
    if (body === undefined) {
      res.writeHead(status, { ...headers, 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(status, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  async function manage(req: IncomingMessage, res: ServerResponse, connectionId: string): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size <= maxMessageBytes) chunks.push(chunk as Buffer);
    }
    const conn = open.get(connectionId);
    if (!conn || conn.closedBy || conn.ws.readyState !== WebSocket.OPEN) {
      // The SDK maps x-amzn-errortype to its GoneException class.
      answer(res, 410, { message: `Connection ${connectionId} is gone` }, 'GoneException');
      return;
    }
    switch (req.method) {
      case 'POST': {
        if (size > maxMessageBytes) {
          answer(res, 413, { message: `Message too long: ${size} bytes, at most ${maxMessageBytes}` }, 'PayloadTooLargeException');
          return;
        }
        const sent = await new Promise<Error | undefined>((resolve) => conn.ws.send(Buffer.concat(chunks), { binary: false }, (error) => resolve(error ?? undefined)));
        if (sent) {
          answer(res, 410, { message: `Connection ${connectionId} is gone` }, 'GoneException');
          return;
        }
        touch(conn);
        answer(res, 200);
        return;
      }
      case 'GET':
        answer(res, 200, {
          connectedAt: new Date(conn.connectedAt).toISOString(),
          identity: { sourceIp: conn.sourceIp, userAgent: conn.userAgent },
          lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
        });
        return;
      case 'DELETE':
        closeBy(conn, 1000, 'Connection Closed Normally', 'DeleteConnection');
        answer(res, 204);
        return;
      default:
        answer(res, 403, { message: 'Missing Authentication Token' }, 'ForbiddenException');
    }
  }

  return {
    handleManagementRequest(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      const match = /^(?:\/([^/@]+))?\/@connections\/([^/]+)\/?$/.exec(path);
      if (!match) {
        if (!path.includes('/@connections')) return false;
        answer(res, 403, { message: 'Missing Authentication Token' }, 'ForbiddenException');
        return true;
      }
      if (match[1] !== undefined && match[1] !== stage) {
        answer(res, 403, { message: 'Forbidden' }, 'ForbiddenException');
        return true;
      }
      let connectionId: string;
      try {
        connectionId = decodeURIComponent(match[2]!);
      } catch {
        answer(res, 410, { message: 'Invalid connection id' }, 'GoneException');
        return true;
      }
      void manage(req, res, connectionId).catch((error) => {
        log.error('@connections request failed', { connectionId, error: String(error) });
        if (!res.headersSent) answer(res, 500, { message: 'Internal server error' }, 'InternalServerErrorException');
        else res.end();
      });
      return true;
    },

    connections: () => open.size,

    async close() {
      closing = true;
      server.off('upgrade', onUpgrade);
      for (const conn of open.values()) closeBy(conn, 1001, 'Going away', 'gateway shutting down');
      // Connections close, then their $disconnect and any in-flight message handlers finish.
      while (pending.size > 0 || open.size > 0) {
        // Polls as well as waits: a closing connection adds its $disconnect to `pending` later.
        await Promise.race([pending.size > 0 ? Promise.allSettled([...pending]) : new Promise(() => undefined), new Promise((resolve) => setTimeout(resolve, 20))]);
      }
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
