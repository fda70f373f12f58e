import type { z } from 'zod';
import { ChargePointOfflineError, ConflictError, NotFoundError, ValidationError } from './errors.ts';

/** The parts of an API Gateway HTTP API (payload v2) event the HTTP handlers (admin API, Stripe webhook) read. */
export interface HttpEvent {
  rawPath: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  queryStringParameters?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { http: { method: string; path?: string } };
}

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export function json(statusCode: number, body: unknown): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body, null, 2) };
}

/** Error body: `{ error, message, field? }`, field being the JSON path of the offending input. */
export function errorResult(error: unknown): HttpResult {
  if (error instanceof ValidationError) return json(400, { error: 'ValidationError', field: error.path, message: error.message });
  if (error instanceof NotFoundError) return json(404, { error: 'NotFound', message: error.message });
  if (error instanceof ChargePointOfflineError) return json(409, { error: 'ChargePointOffline', message: error.message });
  if (error instanceof ConflictError) return json(409, { error: 'Conflict', message: error.message });
  throw error;
}

/** The request body as JSON; a body that is not JSON is a ValidationError on `(body)`. */
export function jsonBody(event: HttpEvent): unknown {
  const raw = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  if (raw.trim() === '') throw new ValidationError('request body is required (JSON)', '(body)');
  try {
    return JSON.parse(raw);
  } catch {
    throw new ValidationError('request body is not valid JSON', '(body)');
  }
}

/** Formats a zod issue path the way the rest of VoltLedger names fields: `elements[0].price`. */
export function issuePath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  return out || '(body)';
}

/** Parses with a zod schema, turning the first issue into a ValidationError naming its field. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  let path = [...issue.path];
  if (issue.code === 'unrecognized_keys') path = [...path, issue.keys[0]!];
  const field = issuePath(path);
  const message = issue.code === 'unrecognized_keys' ? `${field} is not a known field` : `${field}: ${issue.message}`;
  throw new ValidationError(message, field);
}
