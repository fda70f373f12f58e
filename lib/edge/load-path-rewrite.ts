import { readFileSync } from 'node:fs';

/** A CloudFront Functions header, query string or cookie field: `{ value, multiValue? }`. */
export interface CloudFrontFunctionField {
  value: string;
  multiValue?: Array<{ value: string }>;
}

/** The `viewer-request` event CloudFront Functions (cloudfront-js-2.0) hand to `handler`. */
export interface CloudFrontFunctionEvent {
  version: '1.0';
  context: { distributionDomainName?: string; distributionId?: string; eventType: 'viewer-request'; requestId?: string };
  viewer: { ip: string };
  request: CloudFrontFunctionRequest;
}

export interface CloudFrontFunctionRequest {
  method: string;
  /** The path as the viewer sent it (still percent-encoded). */
  uri: string;
  /** Values are URL-encoded. */
  querystring: Record<string, CloudFrontFunctionField>;
  /** Lowercase header names. */
  headers: Record<string, CloudFrontFunctionField>;
  cookies: Record<string, CloudFrontFunctionField>;
}

/** A response generated at the edge: the request goes no further. */
export interface CloudFrontFunctionResponse {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, CloudFrontFunctionField>;
  body?: string | { encoding: 'text' | 'base64'; data: string };
}

export type PathRewrite = (event: CloudFrontFunctionEvent) => CloudFrontFunctionRequest | CloudFrontFunctionResponse;

/** Whether the function answered by itself (a response) rather than passing the request on. */
export function isEdgeResponse(result: CloudFrontFunctionRequest | CloudFrontFunctionResponse): result is CloudFrontFunctionResponse {
  return typeof (result as CloudFrontFunctionResponse).statusCode === 'number';
}

/**
 * Loads lib/edge/ocpp-path-rewrite.js, the CloudFront Function the CDK stack deploys, and returns
 * its `handler`. The file is evaluated from its text, not imported, because CloudFront Functions
 * allow no module syntax: the local gateway runs exactly the bytes that go to CloudFront.
 */
export function loadPathRewrite(): PathRewrite {
  const code = readFileSync(new URL('./ocpp-path-rewrite.js', import.meta.url), 'utf8');
  // Strict mode catches what CloudFront's runtime would reject, such as assigning undeclared variables.
  const handler = new Function(`'use strict';\n${code}\nreturn handler;`)() as PathRewrite;
  // Each call gets its own copy of the event, as each CloudFront invocation does.
  return (event) => handler(structuredClone(event));
}
