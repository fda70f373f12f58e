import type { CentralSystem, ConnectDecision } from './central-system.ts';

/** The parts of API Gateway's WebSocket events the OCPP handlers read. */
export interface WebSocketEvent {
  requestContext: { connectionId: string; routeKey: string; connectedAt?: number; requestTimeEpoch?: number };
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
}

function header(event: WebSocketEvent, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/**
 * `$connect`. The identity arrives as the `chargePointId` query parameter: the CloudFront Function
 * in front of API Gateway (and the local gateway, running the same function) moves it there from
 * the URL's last path segment.
 */
export function onConnect(system: CentralSystem, event: WebSocketEvent): Promise<ConnectDecision> {
  const connectedAt = event.requestContext.connectedAt ?? event.requestContext.requestTimeEpoch;
  return system.connect({
    connectionId: event.requestContext.connectionId,
    chargePointId: event.queryStringParameters?.chargePointId,
    authorization: header(event, 'authorization'),
    subprotocols: header(event, 'sec-websocket-protocol'),
    ...(connectedAt === undefined ? {} : { connectedAt: new Date(connectedAt).toISOString() }),
  });
}

export async function onDisconnect(system: CentralSystem, event: WebSocketEvent): Promise<{ statusCode: number }> {
  await system.disconnect(event.requestContext.connectionId);
  return { statusCode: 200 };
}

/** `$default`: the returned body is the route response API Gateway sends back to the charge point. */
export async function onMessage(system: CentralSystem, event: WebSocketEvent): Promise<{ statusCode: number; body?: string }> {
  const raw = event.body ?? '';
  const text = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const reply = await system.message(event.requestContext.connectionId, text);
  return reply === undefined ? { statusCode: 200 } : { statusCode: 200, body: reply };
}
