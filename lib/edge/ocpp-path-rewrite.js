// CloudFront Function (runtime cloudfront-js-2.0, event type viewer-request) in front of the API
// Gateway WebSocket stage. API Gateway passes no path to $connect, but OCPP charge points put their
// identity at the end of the URL (wss://host/ocpp/CP-001), so this moves it into the query string:
//
//   /ocpp/CP-001  ->  uri "/" (the origin path adds the stage), querystring chargePointId=CP-001
//
// The identity is URL-decoded and must then be 1 to 48 characters from OCPP's identifierString set
// (A-Z a-z 0-9 * - _ = + | @ .) minus ':', because with Security Profile 1/2 the identity is also
// the HTTP Basic username, and a Basic username cannot contain a colon (RFC 7617). Anything else,
// an empty identity, or more than one path segment after /ocpp/ is answered 400 at the edge.
//
// Shipped as-is by the CDK stack and evaluated unchanged by the local gateway
// (lib/edge/load-path-rewrite.ts): plain functions and `var`, no import/export.

var OCPP_PREFIX = '/ocpp/';
var MAX_IDENTITY_LENGTH = 48;
var IDENTITY_PATTERN = /^[A-Za-z0-9*\-_=+|@.]+$/;

function badRequest(reason) {
  return {
    statusCode: 400,
    statusDescription: 'Bad Request',
    headers: {
      'content-type': { value: 'text/plain; charset=utf-8' },
      'cache-control': { value: 'no-store' },
    },
    body: 'Bad Request: ' + reason + '. Connect to /ocpp/{chargePointId}.',
  };
}

function handler(event) {
  var request = event.request;
  var uri = request.uri || '';
  if (uri.indexOf(OCPP_PREFIX) !== 0) {
    return badRequest('the path must start with ' + OCPP_PREFIX);
  }
  var segment = uri.substring(OCPP_PREFIX.length);
  if (segment.length === 0) {
    return badRequest('the charge point identity is missing');
  }
  if (segment.indexOf('/') !== -1) {
    return badRequest('exactly one path segment must follow ' + OCPP_PREFIX);
  }
  var identity;
  try {
    identity = decodeURIComponent(segment);
  } catch (e) {
    return badRequest('the charge point identity is not valid percent-encoding');
  }
  if (identity.length > MAX_IDENTITY_LENGTH) {
    return badRequest('the charge point identity is longer than ' + MAX_IDENTITY_LENGTH + ' characters');
  }
  if (!IDENTITY_PATTERN.test(identity)) {
    return badRequest('the charge point identity may only contain A-Z a-z 0-9 * - _ = + | @ .');
  }
  request.uri = '/';
  // The whole query string is replaced, so a client cannot smuggle in a second chargePointId.
  // Query string values are URL-encoded in the event object; API Gateway decodes them again.
  request.querystring = { chargePointId: { value: encodeURIComponent(identity) } };
  return request;
}
