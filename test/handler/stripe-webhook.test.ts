import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoMembershipStore } from '../../functions/entitlements/adapters/dynamo-memberships.ts';
import { createStripeWebhook, membershipEventHandlers } from '../../functions/entitlements/stripe-webhook.ts';
import { fixedClock } from '../../functions/shared/clock.ts';
import { silentLog } from '../../functions/shared/log.ts';
import { invoiceEvent, sign, subscriptionEvent, WEBHOOK_SECRET } from '../support/stripe.ts';

const dynamo = mockClient(DynamoDBClient);
const clock = fixedClock('2026-11-23T12:00:00Z');
const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

/** An API Gateway HTTP API (payload v2) event as Lambda receives it; Stripe posts application/json. */
function httpApiEvent(payload: string, signature: string, options: { base64?: boolean } = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/stripe',
    rawPath: '/webhooks/stripe',
    rawQueryString: '',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature, 'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-central-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'POST', path: '/webhooks/stripe', protocol: 'HTTP/1.1', sourceIp: '3.18.12.63', userAgent: 'Stripe/1.0' },
      requestId: 'req-1',
      routeKey: 'POST /webhooks/stripe',
      stage: '$default',
      time: '23/Nov/2026:12:00:00 +0000',
      timeEpoch: clock.now().getTime(),
    },
    body: options.base64 ? Buffer.from(payload, 'utf8').toString('base64') : payload,
    isBase64Encoded: Boolean(options.base64),
  };
}

describe('Stripe webhook handler', () => {
  const syncFromEvent = vi.fn(async (_input: { customerId: string; subscriptionId?: string; eventId: string }) => undefined);
  const handle = createStripeWebhook({
    secret: WEBHOOK_SECRET,
    handlers: membershipEventHandlers({ syncFromEvent }),
    store: new DynamoMembershipStore(new DynamoDBClient({ region: 'eu-central-1' }), 'entitlements'),
    clock,
    log: silentLog,
  });

  beforeEach(() => {
    dynamo.reset();
    syncFromEvent.mockClear();
    dynamo.on(GetItemCommand).resolves({});
    dynamo.on(PutItemCommand).resolves({});
  });

  describe('signature', () => {
    it('verifies a base64-encoded body over its exact bytes (non-ASCII included)', async () => {
      const payload = JSON.stringify(invoiceEvent('invoice.paid', { customer: 'cus_1', subscription: 'sub_1' }, 'evt_b64')).replace('"object":"invoice"', '"object":"invoice","description":"Ladekarte – Müller"');
      const result = await handle(httpApiEvent(payload, sign(payload, { timestamp: nowSeconds() }), { base64: true }));
      expect(result.statusCode).toBe(200);
      expect(syncFromEvent).toHaveBeenCalledWith({ customerId: 'cus_1', subscriptionId: 'sub_1', eventId: 'evt_b64' });
    });

    it.each([
      ['signed with another secret', (p: string) => sign(p, { secret: 'whsec_other', timestamp: nowSeconds() })],
      ['signed 301 s ago', (p: string) => sign(p, { timestamp: nowSeconds() - 301 })],
      ['without a signature header', () => ''],
    ])('answers 400 to a body %s and touches neither DynamoDB nor Stripe', async (_name, signature) => {
      const payload = JSON.stringify(subscriptionEvent('customer.subscription.updated', { id: 'sub_1', customer: 'cus_1' }));
      const event = httpApiEvent(payload, signature(payload));
      if (!signature(payload)) delete event.headers['stripe-signature'];
      expect((await handle(event)).statusCode).toBe(400);
      expect(dynamo.calls()).toHaveLength(0);
      expect(syncFromEvent).not.toHaveBeenCalled();
    });

    it('accepts a signature within the tolerance', async () => {
      const payload = JSON.stringify(subscriptionEvent('customer.subscription.updated', { id: 'sub_1', customer: 'cus_1' }));
      expect((await handle(httpApiEvent(payload, sign(payload, { timestamp: nowSeconds() - 299 })))).statusCode).toBe(200);
    });
  });

  describe('dedupe', () => {
    it('records the event id after processing, conditionally, with a TTL', async () => {
      const payload = JSON.stringify(subscriptionEvent('customer.subscription.paused', { id: 'sub_1', customer: 'cus_1' }, 'evt_rec'));
      await handle(httpApiEvent(payload, sign(payload, { timestamp: nowSeconds() })));
      const put = dynamo.commandCalls(PutItemCommand)[0]!.args[0].input;
      expect(put.ConditionExpression).toBe('attribute_not_exists(pk)');
      expect(put.Item).toMatchObject(marshall({ pk: 'WEBHOOK#evt_rec', sk: 'WEBHOOK', type: 'customer.subscription.paused' }));
      expect(Number(put.Item!.expiresAt!.N)).toBe(nowSeconds() + 30 * 24 * 3600);
    });

    it('answers a seen event id with 200 and does not process it', async () => {
      dynamo.on(GetItemCommand).resolves({ Item: marshall({ pk: 'WEBHOOK#evt_seen', sk: 'WEBHOOK', eventId: 'evt_seen' }) });
      const payload = JSON.stringify(subscriptionEvent('customer.subscription.resumed', { id: 'sub_1', customer: 'cus_1' }, 'evt_seen'));
      const result = await handle(httpApiEvent(payload, sign(payload, { timestamp: nowSeconds() })));
      expect(result.statusCode).toBe(200);
      expect(JSON.parse(result.body)).toMatchObject({ duplicate: true });
      expect(syncFromEvent).not.toHaveBeenCalled();
    });

    it('answers 500 and records nothing when processing fails, so Stripe retries', async () => {
      syncFromEvent.mockRejectedValueOnce(new Error('Stripe unreachable'));
      const payload = JSON.stringify(subscriptionEvent('customer.subscription.created', { id: 'sub_1', customer: 'cus_1' }));
      expect((await handle(httpApiEvent(payload, sign(payload, { timestamp: nowSeconds() })))).statusCode).toBe(500);
      expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
    });
  });

  it.each([
    'customer.subscription.created',
    'customer.subscription.updated',
    'customer.subscription.deleted',
    'customer.subscription.paused',
    'customer.subscription.resumed',
  ])('routes %s to the membership sync with the subscription and customer', async (type) => {
    const payload = JSON.stringify(subscriptionEvent(type, { id: 'sub_9', customer: 'cus_9' }, `evt_${type}`));
    expect((await handle(httpApiEvent(payload, sign(payload, { timestamp: nowSeconds() })))).statusCode).toBe(200);
    expect(syncFromEvent).toHaveBeenCalledWith({ customerId: 'cus_9', subscriptionId: 'sub_9', eventId: `evt_${type}` });
  });

  it('acknowledges an unknown type with 200 without a DynamoDB call', async () => {
    const payload = JSON.stringify({ id: 'evt_x', object: 'event', type: 'payout.paid', data: { object: {} } });
    const result = await handle(httpApiEvent(payload, sign(payload, { timestamp: nowSeconds() })));
    expect(result.statusCode).toBe(200);
    expect(dynamo.calls()).toHaveLength(0);
  });
});
