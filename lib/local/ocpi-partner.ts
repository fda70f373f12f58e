import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock, type Clock } from '../../functions/shared/clock.ts';
import { silentLog, type Log } from '../../functions/shared/log.ts';

/**
 * How the partner answers the next CDRs:
 * - `accept`: HTTP 200, OCPI status_code 1000, `Location` of the stored CDR;
 * - `reject`: HTTP 200, OCPI 2001 (invalid or missing parameters): a client error, not retried;
 * - `fail`: HTTP 503 with OCPI 3000: a server error, retried;
 * - `timeout`: no answer (the connection is held, then dropped).
 */
export type PartnerMode = 'accept' | 'reject' | 'fail' | 'timeout';

/** A CDR the partner received, with how it answered. */
export interface ReceivedCdr {
  receivedAt: string;
  authorization: string | undefined;
  cdr: Record<string, any>;
  answered: PartnerMode | 'unauthorized';
}

export interface OcpiPartner {
  /** The CDRs receiver endpoint to configure as the partner's `cdrsUrl`. */
  cdrsUrl: string;
  /** The credentials token it expects (`Authorization: Token <base64(token)>`). */
  token: string;
  /** Every POST so far, oldest first (refused ones included). */
  received(): ReceivedCdr[];
  /** CDRs it accepted, by id. */
  accepted(): Record<string, any>[];
  /** Answers the next `count` CDRs (default: all from now on) in `mode`, then accepts again. */
  setMode(mode: PartnerMode, count?: number): void;
  close(): Promise<void>;
}

/**
 * A local OCPI 2.2.1 eMSP: the receiver side of the CDRs module (`POST /ocpi/emsp/2.2.1/cdrs`,
 * `GET /ocpi/emsp/2.2.1/cdrs/{id}`), checking `Authorization: Token <base64(token)>` and answering
 * with the OCPI response envelope. Records every CDR it was sent; `setMode` makes it refuse or fail,
 * for tests and for trying the retries with `npm start`. A CDR id it already accepted is accepted
 * again (the push is idempotent on the receiver's side too).
 */
export async function startOcpiPartner(options: { port?: number; host?: string; token?: string; log?: Log; clock?: Clock } = {}): Promise<OcpiPartner> {
  const log = options.log ?? silentLog;
  const clock = options.clock ?? systemClock;
  const token = options.token ?? 'local-emsp-credentials-token';
  const expected = `Token ${Buffer.from(token, 'utf8').toString('base64')}`;
  const received: ReceivedCdr[] = [];
  const stored = new Map<string, Record<string, any>>();
  let mode: PartnerMode = 'accept';
  let remaining: number | undefined;
  const sockets = new Set<Socket>();
  const hangs = new Set<NodeJS.Timeout>();

  const envelope = (statusCode: number, message: string, data?: unknown) => JSON.stringify({ ...(data === undefined ? {} : { data }), status_code: statusCode, status_message: message, timestamp: clock.now().toISOString() });
  const send = (res: ServerResponse, http: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(http, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
  const currentMode = (): PartnerMode => {
    const now = mode;
    if (remaining !== undefined && --remaining <= 0) {
      mode = 'accept';
      remaining = undefined;
    }
    return now;
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const url = new URL(req.url ?? '/', 'http://localhost');
      const authorization = req.headers.authorization;
      const match = /^\/ocpi\/emsp\/2\.2\.1\/cdrs\/?([^/]*)$/.exec(url.pathname);
      if (!match) return send(res, 404, envelope(2000, `nothing at ${url.pathname}`));
      if (authorization !== expected) {
        if (req.method === 'POST') received.push({ receivedAt: clock.now().toISOString(), authorization, cdr: safeJson(chunks), answered: 'unauthorized' });
        return send(res, 401, envelope(2000, 'Authorization: Token <base64(credentials token)> required'));
      }
      if (req.method === 'GET' && match[1]) {
        const cdr = stored.get(decodeURIComponent(match[1]));
        return cdr ? send(res, 200, envelope(1000, 'OK', cdr)) : send(res, 404, envelope(2003, 'unknown CDR'));
      }
      if (req.method !== 'POST' || match[1]) return send(res, 405, envelope(2000, `${req.method} is not allowed here`));
      const cdr = safeJson(chunks);
      const answered = currentMode();
      received.push({ receivedAt: clock.now().toISOString(), authorization, cdr, answered });
      log.info('local OCPI partner received a CDR', { id: cdr.id, answered });
      if (answered === 'timeout') {
        const timer = setTimeout(() => res.socket?.destroy(), 60_000);
        hangs.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          hangs.delete(timer);
        });
        return;
      }
      if (answered === 'fail') return send(res, 503, envelope(3000, 'temporarily unavailable (local partner set to fail)'));
      if (answered === 'reject') return send(res, 200, envelope(2001, 'invalid or missing parameters (local partner set to reject)'));
      if (typeof cdr.id !== 'string') return send(res, 200, envelope(2001, 'a CDR needs an id'));
      stored.set(cdr.id, cdr);
      const host = req.headers.host ?? 'localhost';
      send(res, 200, envelope(1000, 'CDR received'), { location: `http://${host}/ocpi/emsp/2.2.1/cdrs/${encodeURIComponent(cdr.id)}` });
    })().catch((error) => {
      log.error('local OCPI partner failed', { error: String(error) });
      if (!res.headersSent) send(res, 500, envelope(3000, 'partner failure'));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    cdrsUrl: `http://${host}:${port}/ocpi/emsp/2.2.1/cdrs`,
    token,
    received: () => [...received],
    accepted: () => [...stored.values()],
    setMode(next, count) {
      mode = next;
      remaining = count;
    },
    async close() {
      for (const timer of hangs) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function safeJson(chunks: Buffer[]): Record<string, any> {
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, any>;
  } catch {
    return {};
  }
}
