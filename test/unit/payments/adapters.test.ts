import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { pricingCostEstimator, pricingTariffParser } from '../../../functions/payments/adapters/pricing-rules.ts';
import { readerApprovalOf, readerRefusalOf, refundIdOf } from '../../../functions/payments/adapters/stripe-webhook-events.ts';
import type { SessionRecord } from '../../../functions/ocpp/domain/model.ts';
import { ValidationError } from '../../../functions/shared/errors.ts';

const TARIFF_JSON = JSON.stringify({
  country_code: 'DE',
  party_id: 'VLT',
  id: 'T1',
  currency: 'EUR',
  elements: [{ price_components: [{ type: 'ENERGY', price: 0.4, vat: 19, step_size: 1 }] }],
  last_updated: '2024-01-01T00:00:00Z',
});

const session: SessionRecord = {
  sessionId: 'S-1',
  transactionId: 1,
  chargePointId: 'CP-1',
  connectorId: 1,
  idTag: 'TAG-1',
  authorizationStatus: 'Accepted',
  startedAt: '2026-11-23T11:00:00.000Z',
  meterStartWh: 1_000,
  timeZone: 'Europe/Berlin',
  tariff: { tariffId: 'T1', version: 1 },
  billingProfile: null,
  state: 'started',
  flags: [],
  createdAt: '2026-11-23T11:00:00.000Z',
};

describe("payments' pricing adapters", () => {
  it('parses a stored tariff under pricing rules, and refuses an invalid one', () => {
    expect(pricingTariffParser.parse(TARIFF_JSON)).toMatchObject({ currency: 'EUR', elements: [{ price_components: [{ type: 'ENERGY', price: 0.4, vat: 19 }] }] });
    expect(() => pricingTariffParser.parse(JSON.stringify({ currency: 'EUR' }))).toThrow(ValidationError);
  });

  it('prices the session so far exactly: 10 kWh at 0.40 EUR + 19% VAT = 4.76 EUR', async () => {
    const tariff = pricingTariffParser.parse(TARIFF_JSON);
    const cost = await pricingCostEstimator.costSoFar({
      session: { ...session, meterStopWh: 11_000, stoppedAt: '2026-11-23T11:30:00.000Z' },
      samples: [{ timestamp: '2026-11-23T11:30:00.000Z', sampledValue: [{ value: '11000', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }], source: 'MeterValues' }],
      statusTimeline: [],
      tariff,
      completedAt: '2026-11-23T11:30:00.000Z',
    });
    expect(cost).toBe(476);
  });
});

describe("payments' Stripe webhook translation", () => {
  const event = (type: string, object: unknown) => ({ id: 'evt_1', type, created: 1_795_435_200, data: { object } }) as unknown as Stripe.Event;

  it('a reader action: the PaymentIntent it processed, the failure and when', () => {
    expect(readerApprovalOf(event('terminal.reader.action_succeeded', { id: 'tmr_1', action: { type: 'process_payment_intent', process_payment_intent: { payment_intent: 'pi_1' } } }))).toEqual({
      readerId: 'tmr_1',
      paymentIntentId: 'pi_1',
      occurredAt: '2026-11-23T12:00:00.000Z',
    });
    expect(readerApprovalOf(event('terminal.reader.action_succeeded', { id: 'tmr_1', action: { type: 'set_reader_display' } }))).toEqual({ readerId: 'tmr_1', occurredAt: '2026-11-23T12:00:00.000Z' });
    expect(
      readerRefusalOf(event('terminal.reader.action_failed', { id: 'tmr_1', action: { type: 'process_payment_intent', process_payment_intent: { payment_intent: { id: 'pi_2' } }, failure_code: 'card_declined', failure_message: 'Declined' } })),
    ).toEqual({ eventId: 'evt_1', readerId: 'tmr_1', paymentIntentId: 'pi_2', failureCode: 'card_declined', failureMessage: 'Declined', occurredAt: '2026-11-23T12:00:00.000Z' });
    expect(refundIdOf(event('refund.updated', { id: 're_1' }))).toBe('re_1');
  });
});
