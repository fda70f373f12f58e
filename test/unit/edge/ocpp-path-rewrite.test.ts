import { describe, expect, it } from 'vitest';
import { isEdgeResponse, loadPathRewrite, type CloudFrontFunctionEvent, type CloudFrontFunctionResponse } from '../../../lib/edge/load-path-rewrite.ts';

const rewrite = loadPathRewrite();

function viewerRequest(uri: string, querystring: CloudFrontFunctionEvent['request']['querystring'] = {}): CloudFrontFunctionEvent {
  return {
    version: '1.0',
    context: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'viewer-request', requestId: 'req-1' },
    viewer: { ip: '198.51.100.11' },
    request: {
      method: 'GET',
      uri,
      querystring,
      headers: { host: { value: 'ocpp.example.com' }, 'sec-websocket-protocol': { value: 'ocpp1.6' }, authorization: { value: 'Basic Q1AtMDAxOnNlY3JldA==' } },
      cookies: {},
    },
  };
}

describe('ocpp-path-rewrite CloudFront Function', () => {
  describe('moves the identity into the chargePointId query parameter', () => {
    it.each([
      ['/ocpp/CP-001', 'CP-001', 'CP-001'],
      ['/ocpp/cp_42.north', 'cp_42.north', 'cp_42.north'],
      ['/ocpp/A*B', 'A*B', 'A*B'],
      // Percent-encoded identities are decoded, then encoded again for the query string.
      ['/ocpp/CP%2B1%40site', 'CP+1@site', 'CP%2B1%40site'],
      ['/ocpp/CP=1|2', 'CP=1|2', 'CP%3D1%7C2'],
      [`/ocpp/${'X'.repeat(48)}`, 'X'.repeat(48), 'X'.repeat(48)],
    ])('%s', (uri, identity, encoded) => {
      const result = rewrite(viewerRequest(uri));

      if (isEdgeResponse(result)) throw new Error(`refused: ${String(result.body)}`);
      expect(result).toMatchObject({ uri: '/', querystring: { chargePointId: { value: encoded } } });
      expect(decodeURIComponent(result.querystring.chargePointId!.value)).toBe(identity);
    });

    it('keeps the method and headers, and drops any query string the client sent', () => {
      const event = viewerRequest('/ocpp/CP-001', { chargePointId: { value: 'CP-999' }, other: { value: '1' } });

      const result = rewrite(event);

      expect(result).toEqual({ ...event.request, uri: '/', querystring: { chargePointId: { value: 'CP-001' } } });
    });

    it('does not change the event it was given', () => {
      const event = viewerRequest('/ocpp/CP-001');
      rewrite(event);
      expect(event.request.uri).toBe('/ocpp/CP-001');
    });
  });

  describe('answers 400 at the edge', () => {
    it.each([
      ['no identity', '/ocpp/'],
      ['no /ocpp/ prefix', '/CP-001'],
      ['another prefix', '/ocpp16/CP-001'],
      ['two segments', '/ocpp/site/CP-001'],
      ['a trailing slash', '/ocpp/CP-001/'],
      ['an encoded slash', '/ocpp/site%2FCP-001'],
      ['49 characters', `/ocpp/${'X'.repeat(49)}`],
      ['a colon (Basic auth username separator)', '/ocpp/CP:001'],
      ['a space', '/ocpp/CP%20001'],
      ['non-ASCII', '/ocpp/CP-%C3%A9'],
      ['broken percent-encoding', '/ocpp/CP%2'],
    ])('%s', (_name, uri) => {
      const result = rewrite(viewerRequest(uri));

      expect(isEdgeResponse(result)).toBe(true);
      const response = result as CloudFrontFunctionResponse;
      expect(response.statusCode).toBe(400);
      expect(response.statusDescription).toBe('Bad Request');
      expect(response.headers?.['content-type']?.value).toMatch(/^text\/plain/);
      expect(response.body).toMatch(/^Bad Request: /);
    });
  });
});
