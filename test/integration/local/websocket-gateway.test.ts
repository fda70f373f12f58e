import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  attachWebSocketGateway,
  type WebSocketConnectEvent,
  type WebSocketDisconnectEvent,
  type WebSocketGateway,
  type WebSocketGatewayOptions,
  type WebSocketMessageEvent,
} from '../../../lib/local/websocket-gateway.ts';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function waitFor<T>(read: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A gateway on its own HTTP server, with handlers that record every event and act like the OCPP ones. */
async function startGateway(options: Partial<WebSocketGatewayOptions> = {}) {
  const connects: WebSocketConnectEvent[] = [];
  const messages: WebSocketMessageEvent[] = [];
  const disconnects: WebSocketDisconnectEvent[] = [];
  const server: Server = createServer();
  const gateway: WebSocketGateway = attachWebSocketGateway(server, {
    stage: 'local',
    handlers: {
      async connect(event): Promise<{ statusCode: number; headers?: Record<string, string>; body?: string }> {
        connects.push(event);
        const id = event.queryStringParameters?.chargePointId;
        if (event.headers.Authorization !== basic(id ?? '', 'secret')) {
          return { statusCode: 401, headers: { 'WWW-Authenticate': 'Basic realm="OCPP"' }, body: 'Unauthorized' };
        }
        const offered = (event.headers['Sec-WebSocket-Protocol'] ?? '').split(',').map((p) => p.trim());
        return offered.includes('ocpp1.6') ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'ocpp1.6', 'X-Served-By': 'voltledger' } } : { statusCode: 200 };
      },
      async message(event) {
        messages.push(event);
        if (event.body === 'throw') throw new Error('handler bug');
        if (event.body === 'silent') return { statusCode: 200 };
        return { statusCode: 200, body: `echo:${event.body}` };
      },
      async disconnect(event) {
        disconnects.push(event);
      },
    },
    ...options,
  });
  server.on('request', (req, res) => {
    if (gateway.handleManagementRequest(req, res)) return;
    res.writeHead(404).end('not the gateway');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const clients: WebSocket[] = [];
  const sdk = (endpoint = `http://127.0.0.1:${port}`) => new ApiGatewayManagementApiClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

  function connect(path: string, opts: { user?: string; password?: string; protocols?: string[] } = {}) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, opts.protocols ?? ['ocpp1.6'], {
      headers: opts.user === undefined ? {} : { Authorization: basic(opts.user, opts.password ?? 'secret'), 'User-Agent': 'wallbox/1.0' },
    });
    clients.push(ws);
    return ws;
  }

  /** Connects and resolves once open, with the upgrade response's headers. */
  async function open(path = '/ocpp/CP-1', opts: Parameters<typeof connect>[1] = { user: 'CP-1' }) {
    const ws = connect(path, opts);
    // ws emits 'open' in the same tick as 'upgrade': listen for both at once.
    const [response] = await Promise.all([
      new Promise<IncomingMessage>((resolve, reject) => {
        ws.once('upgrade', resolve);
        ws.once('error', reject);
      }),
      new Promise((resolve) => ws.once('open', resolve)),
    ]);
    const inbox: string[] = [];
    ws.on('message', (data) => inbox.push(data.toString()));
    const connectionId = connects[connects.length - 1]!.requestContext.connectionId;
    return { ws, response, inbox, connectionId };
  }

  /** Connects expecting a refusal; resolves with the HTTP response. */
  function refused(path: string, opts: Parameters<typeof connect>[1] = { user: 'CP-1' }) {
    const ws = connect(path, opts);
    return new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      ws.once('open', () => reject(new Error('the upgrade was accepted')));
      ws.on('error', () => undefined);
    });
  }

  async function stop() {
    for (const ws of clients) ws.terminate();
    await gateway.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  return { server, gateway, port, connects, messages, disconnects, connect, open, refused, sdk, stop };
}

type Harness = Awaited<ReturnType<typeof startGateway>>;

describe('local API Gateway WebSocket gateway', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startGateway();
  });

  afterAll(async () => {
    await h.stop();
  });

  describe('$connect', () => {
    it('runs the CloudFront Function and hands API Gateway’s $connect event to the handler', async () => {
      const before = Date.now();
      const { ws, response } = await h.open('/ocpp/CP-1?chargePointId=SPOOFED');

      const event = h.connects[h.connects.length - 1]!;
      expect(event.queryStringParameters).toEqual({ chargePointId: 'CP-1' });
      expect(event.multiValueQueryStringParameters).toEqual({ chargePointId: ['CP-1'] });
      expect(event.headers).toMatchObject({
        Authorization: basic('CP-1', 'secret'),
        'Sec-WebSocket-Protocol': 'ocpp1.6',
        'User-Agent': 'wallbox/1.0',
        'X-Forwarded-For': '127.0.0.1',
        Host: `127.0.0.1:${h.port}`,
      });
      expect(event.multiValueHeaders.Authorization).toEqual([basic('CP-1', 'secret')]);
      expect(event.isBase64Encoded).toBe(false);
      const ctx = event.requestContext;
      expect(ctx).toMatchObject({
        routeKey: '$connect',
        eventType: 'CONNECT',
        messageDirection: 'IN',
        stage: 'local',
        domainName: `127.0.0.1:${h.port}`,
        identity: { sourceIp: '127.0.0.1', userAgent: 'wallbox/1.0' },
      });
      expect(ctx.connectionId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
      expect(ctx.requestId).toMatch(/^[A-Za-z0-9+/]{15}=$/);
      expect(ctx.extendedRequestId).toBe(ctx.requestId);
      expect(ctx.apiId).toMatch(/^[a-z]{10}$/);
      expect(ctx.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
      expect(ctx.connectedAt).toBeGreaterThanOrEqual(before);
      expect(ctx.requestTimeEpoch).toBeGreaterThanOrEqual(ctx.connectedAt);
      // The handler's headers reach the client; the subprotocol it chose is the one negotiated.
      expect(ws.protocol).toBe('ocpp1.6');
      expect(response.headers['sec-websocket-protocol']).toBe('ocpp1.6');
      expect(response.headers['x-served-by']).toBe('voltledger');
      expect(h.gateway.connections()).toBeGreaterThanOrEqual(1);
    });

    it('refuses the upgrade with the handler’s status and headers when it says 401', async () => {
      const calls = h.connects.length;
      const response = await h.refused('/ocpp/CP-1', { user: 'CP-1', password: 'wrong' });

      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Basic realm="OCPP"');
      expect(response.body).toBe('Unauthorized');
      expect(h.connects.length).toBe(calls + 1);
    });

    it('answers 400 from the CloudFront Function without calling the handler', async () => {
      const calls = h.connects.length;
      for (const path of ['/ocpp/', '/ocpp/site/CP-1', `/ocpp/${'X'.repeat(49)}`]) {
        const response = await h.refused(path);
        expect(response.status).toBe(400);
        expect(response.body).toMatch(/^Bad Request/);
      }
      expect(h.connects.length).toBe(calls);
    });

    it('answers 404 to upgrades outside the path prefix', async () => {
      const response = await h.refused('/admin/ws');
      expect(response.status).toBe(404);
    });

    it('sends no subprotocol when the handler chose none, so a client insisting on one gives up', async () => {
      const ws = h.connect('/ocpp/CP-1', { user: 'CP-1', protocols: ['ocpp2.0.1'] });
      const error = await new Promise<Error>((resolve) => ws.once('error', resolve));
      expect(error.message).toMatch(/subprotocol/i);
    });
  });

  describe('$default', () => {
    it('hands each text message to the handler and sends its body back as the route response', async () => {
      const { ws, inbox, connectionId } = await h.open();

      ws.send('[2,"1","Heartbeat",{}]');
      await waitFor(() => inbox.length === 1);

      expect(inbox).toEqual(['echo:[2,"1","Heartbeat",{}]']);
      const event = h.messages[h.messages.length - 1]!;
      expect(event).toMatchObject({ body: '[2,"1","Heartbeat",{}]', isBase64Encoded: false });
      expect(event.requestContext).toMatchObject({ routeKey: '$default', eventType: 'MESSAGE', connectionId, stage: 'local', messageDirection: 'IN' });
      expect(event.requestContext.messageId).toMatch(/=$/);
    });

    it('sends nothing back when the handler returns no body', async () => {
      const { ws, inbox } = await h.open();
      ws.send('silent');
      ws.send('after');
      await waitFor(() => inbox.length === 1);
      expect(inbox).toEqual(['echo:after']);
    });

    it('passes binary frames base64-encoded', async () => {
      const { ws } = await h.open();
      ws.send(Buffer.from([0, 1, 2, 254, 255]));
      const event = await waitFor(() => h.messages.find((m) => m.isBase64Encoded));
      expect(Buffer.from(event.body, 'base64')).toEqual(Buffer.from([0, 1, 2, 254, 255]));
    });

    it('tells the client "Internal server error" when the handler throws, as API Gateway does', async () => {
      const { ws, inbox, connectionId } = await h.open();
      ws.send('throw');
      await waitFor(() => inbox.length === 1);
      expect(JSON.parse(inbox[0]!)).toMatchObject({ message: 'Internal server error', connectionId });
    });
  });

  describe('@connections through the real SDK client', () => {
    it('posts to, describes and deletes a connection; then it is gone', async () => {
      const { ws, inbox, connectionId } = await h.open();
      const client = h.sdk();
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));

      await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('[2,"c1","Reset",{"type":"Soft"}]') }));
      await waitFor(() => inbox.length === 1);
      expect(inbox).toEqual(['[2,"c1","Reset",{"type":"Soft"}]']);

      const info = await client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      expect(info.ConnectedAt).toBeInstanceOf(Date);
      expect(info.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(info.ConnectedAt!.getTime());
      expect(info.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'wallbox/1.0' });

      await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      expect(await closed).toBe(1000);
      const disconnect = await waitFor(() => h.disconnects.find((d) => d.requestContext.connectionId === connectionId));
      expect(disconnect.requestContext).toMatchObject({ routeKey: '$disconnect', eventType: 'DISCONNECT', disconnectStatusCode: 1000 });

      const again = client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('late') }));
      await expect(again).rejects.toBeInstanceOf(GoneException);
      client.destroy();
    });

    it('answers GoneException for an unknown connection, also under the /{stage} prefix', async () => {
      const client = h.sdk(`http://127.0.0.1:${h.port}/local`);
      await expect(client.send(new PostToConnectionCommand({ ConnectionId: 'bm90LWEtY29ubg=', Data: Buffer.from('x') }))).rejects.toBeInstanceOf(GoneException);
      await expect(client.send(new GetConnectionCommand({ ConnectionId: 'bm90LWEtY29ubg=' }))).rejects.toMatchObject({ name: 'GoneException', $metadata: { httpStatusCode: 410 } });
      client.destroy();
    });

    it('works under the /{stage} prefix, as an endpoint built from the request context would use', async () => {
      const { inbox, connectionId } = await h.open();
      const client = h.sdk(`http://127.0.0.1:${h.port}/local`);
      await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from('via stage') }));
      await waitFor(() => inbox.length === 1);
      expect(inbox).toEqual(['via stage']);
      client.destroy();
    });

    it('leaves every other path to the next request handler', async () => {
      const response = await fetch(`http://127.0.0.1:${h.port}/admin/charge-points`);
      expect(response.status).toBe(404);
      expect(await response.text()).toBe('not the gateway');
    });
  });

  describe('$disconnect', () => {
    it('closes a connection with 1009 when a message exceeds the limit; the handler never sees it', async () => {
      const { ws, connectionId } = await h.open();
      const seen = h.messages.length;
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      ws.on('error', () => undefined);

      ws.send('x'.repeat(128 * 1024 + 1));

      expect(await closed).toBe(1009);
      const disconnect = await waitFor(() => h.disconnects.find((d) => d.requestContext.connectionId === connectionId));
      expect(disconnect.requestContext.disconnectStatusCode).toBe(1009);
      expect(h.messages.length).toBe(seen);
    });

    it('fires exactly once, with the client’s close code and API Gateway’s event shape', async () => {
      const { ws, connectionId } = await h.open();

      ws.close(4000, 'rebooting');
      await new Promise((resolve) => ws.once('close', resolve));
      await waitFor(() => h.disconnects.some((d) => d.requestContext.connectionId === connectionId));
      await new Promise((resolve) => setTimeout(resolve, 100));

      const events = h.disconnects.filter((d) => d.requestContext.connectionId === connectionId);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        headers: { Host: `127.0.0.1:${h.port}`, 'X-Forwarded-For': '127.0.0.1' },
        requestContext: { routeKey: '$disconnect', eventType: 'DISCONNECT', disconnectStatusCode: 4000, disconnectReason: 'rebooting', stage: 'local' },
        isBase64Encoded: false,
      });
    });

    it('reports 1005 when the client closes without a status', async () => {
      const { ws, connectionId } = await h.open();
      ws.close();
      const disconnect = await waitFor(() => h.disconnects.find((d) => d.requestContext.connectionId === connectionId));
      expect(disconnect.requestContext).toMatchObject({ disconnectStatusCode: 1005, disconnectReason: 'Client-side close frame status not set' });
    });

    it('fires when the connection drops without a close frame', async () => {
      const { ws, connectionId } = await h.open();
      ws.terminate();
      const disconnect = await waitFor(() => h.disconnects.find((d) => d.requestContext.connectionId === connectionId));
      expect(disconnect.requestContext.disconnectStatusCode).toBe(1006);
    });
  });
});

describe('local API Gateway WebSocket gateway limits', () => {
  let h: Harness | undefined;

  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('closes idle connections (and activity keeps them open)', async () => {
    h = await startGateway({ idleTimeoutMs: 300 });
    const { ws, inbox, connectionId } = await h.open();
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    for (let i = 0; i < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      ws.send(`ping ${i}`);
    }
    await waitFor(() => inbox.length === 4);
    expect(h.disconnects).toHaveLength(0);

    expect(await closed).toBe(1001);
    const disconnect = await waitFor(() => h!.disconnects.find((d) => d.requestContext.connectionId === connectionId));
    expect(disconnect.requestContext).toMatchObject({ disconnectStatusCode: 1001, disconnectReason: 'Going away' });
  });

  it('closes connections at their maximum age however active', async () => {
    h = await startGateway({ maxConnectionMs: 300 });
    const { ws } = await h.open();
    const opened = Date.now();
    const timer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('busy'), 50);
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    clearInterval(timer);
    expect(code).toBe(1001);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(250);
    await waitFor(() => h!.disconnects.length === 1);
  });

  it('disconnects every client, each once, when the gateway closes', async () => {
    h = await startGateway();
    const a = await h.open();
    const b = await h.open();
    const stopping = h;
    h = undefined;
    await stopping.gateway.close();
    expect(stopping.disconnects.map((d) => d.requestContext.connectionId).sort()).toEqual([a.connectionId, b.connectionId].sort());
    expect(stopping.gateway.connections()).toBe(0);
    await new Promise<void>((resolve) => stopping.server.close(() => resolve()));
  });
});
