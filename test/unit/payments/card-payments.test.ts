import { describe, expect, it } from 'vitest';
import { DEFAULT_PAYMENT_POLICY } from '../../../functions/payments/domain/policy.ts';
import { ValidationError } from '../../../functions/shared/errors.ts';
import { FIXED_HOLD, paymentsHarness, type PaymentsHarness } from './support/harness.ts';

/** A session S-1 started with a hold placed (incrementable or not). */
async function held(h: PaymentsHarness, incrementable = true) {
  h.gateway.nextHold = { incrementable };
  await h.payments.onSessionStarted(h.started(1));
  const payment = (await h.store.get('S-1'))!;
  expect(payment.status).toBe('held');
  return payment.hold!.paymentIntentId;
}

describe('SessionStarted: the hold', () => {
  it('places a hold of the policy amount on the driver saved card and says so once per delivery', async () => {
    const h = paymentsHarness();
    await h.payments.onSessionStarted(h.started(1));

    const payment = (await h.store.get('S-1'))!;
    expect(payment).toMatchObject({ status: 'held', channel: 'app', currency: 'EUR', driverId: 'D-1', customerId: 'cus_1', paymentMethodId: 'pm_1' });
    expect(payment.hold).toMatchObject({ amountMinor: 5_000, incrementable: true, placedAt: '2026-11-23T12:00:00.000Z', captureBefore: '2026-11-30T12:00:00.000Z' });
    expect(h.gateway.callsTo('createHold')).toEqual([{ method: 'createHold', key: 'voltledger:S-1:hold:5000', amountMinor: 5_000 }]);
    expect(h.gateway.intent(payment.hold!.paymentIntentId).metadata).toMatchObject({ sessionId: 'S-1', purpose: 'hold', transactionId: '1', chargePointId: 'CP-1', connectorId: '1', idTag: 'TAG-1' });
    expect(h.events.of('PaymentHoldPlaced')).toEqual([
      {
        sessionId: 'S-1',
        transactionId: 1,
        chargePointId: 'CP-1',
        connectorId: 1,
        idTag: 'TAG-1',
        driverId: 'D-1',
        channel: 'app',
        paymentIntentId: payment.hold!.paymentIntentId,
        amountMinor: 5_000,
        currency: 'EUR',
        captureBefore: '2026-11-30T12:00:00.000Z',
        incrementalAuthorization: true,
        placedAt: '2026-11-23T12:00:00.000Z',
      },
    ]);
    expect(h.stopper.stops).toEqual([]);
  });

  it('a redelivered SessionStarted places no second hold and republishes the same event', async () => {
    const h = paymentsHarness();
    await h.payments.onSessionStarted(h.started(1));
    await h.payments.onSessionStarted(h.started(1));

    expect(h.gateway.callsTo('createHold')).toHaveLength(1);
    expect(h.events.ids()).toEqual(['PaymentHoldPlaced:S-1', 'PaymentHoldPlaced:S-1']);
    expect(h.events.of('PaymentHoldPlaced')[1]).toEqual(h.events.of('PaymentHoldPlaced')[0]);
  });

  it('estimates the hold from the tariff under the default policy: 22 kW x 2 h x 0.476 EUR/kWh, rounded up', async () => {
    const h = paymentsHarness({ policy: DEFAULT_PAYMENT_POLICY });
    await h.payments.onSessionStarted(h.started(1));

    const hold = (await h.store.get('S-1'))!.hold!;
    expect(hold.amountMinor).toBe(2_095);
    expect(hold.estimate).toMatchObject({ amountMinor: 2_095, basis: 'estimate', powerKw: 22, durationMinutes: 120 });
  });

  it('a declined card: hold_failed, the session stopped at its charge point, PaymentHoldFailed with the decline', async () => {
    const h = paymentsHarness();
    h.gateway.nextHold = { refuse: 'card_declined', code: 'card_declined', declineCode: 'insufficient_funds' };
    await h.payments.onSessionStarted(h.started(1));

    const payment = (await h.store.get('S-1'))!;
    expect(payment.status).toBe('hold_failed');
    expect(payment.holdFailure).toMatchObject({ reason: 'card_declined', code: 'card_declined', declineCode: 'insufficient_funds', stopRequested: true, failedAt: '2026-11-23T12:00:00.000Z' });
    expect(h.stopper.stops).toEqual([{ chargePointId: 'CP-1', transactionId: 1 }]);
    expect(h.events.of('PaymentHoldFailed')).toEqual([
      expect.objectContaining({ sessionId: 'S-1', reason: 'card_declined', code: 'card_declined', declineCode: 'insufficient_funds', driverAction: 'update_payment_method', stopRequested: true }),
    ]);

    // Redelivered: the same event again, no second stop, no second hold.
    await h.payments.onSessionStarted(h.started(1));
    expect(h.stopper.stops).toHaveLength(1);
    expect(h.gateway.callsTo('createHold')).toHaveLength(1);
    expect(h.events.ids()).toEqual(['PaymentHoldFailed:S-1', 'PaymentHoldFailed:S-1']);
  });

  it('no saved card: no call to the provider, hold_failed (no_payment_method); an offline charge point is recorded as not stopped', async () => {
    const h = paymentsHarness();
    h.drivers.drivers.set('D-1', {});
    h.stopper.offline = true;
    await h.payments.onSessionStarted(h.started(1));

    expect(h.gateway.calls).toEqual([]);
    expect((await h.store.get('S-1'))!.holdFailure).toMatchObject({ reason: 'no_payment_method', message: 'the driver has no saved payment method', stopRequested: false });
    expect(h.events.of('PaymentHoldFailed')).toEqual([expect.objectContaining({ reason: 'no_payment_method', stopRequested: false, driverAction: 'update_payment_method' })]);
  });

  it('authentication required: the driver is asked to authenticate', async () => {
    const h = paymentsHarness();
    h.gateway.nextHold = { refuse: 'authentication_required' };
    await h.payments.onSessionStarted(h.started(1));
    expect(h.events.of('PaymentHoldFailed')).toEqual([expect.objectContaining({ reason: 'authentication_required', driverAction: 'authenticate', stopRequested: true })]);
  });

  it('a member session is paid by card like a retail one', async () => {
    const h = paymentsHarness();
    await h.payments.onSessionStarted(h.started(1, { billingProfile: { kind: 'member', tier: 'gold' } }));
    expect((await h.store.get('S-1'))!.status).toBe('held');
  });

  it('no tariff: no currency to hold in, so no record and no call', async () => {
    const h = paymentsHarness();
    await h.payments.onSessionStarted(h.started(1, { tariff: null }));
    expect(h.store.payments.size).toBe(0);
    expect(h.gateway.calls).toEqual([]);
    expect(h.events.published).toEqual([]);
  });
});

describe('sessions not paid by card', () => {
  for (const billingProfile of [{ kind: 'fleet', accountId: 'ACME' }, { kind: 'roaming', partnerId: 'EMSP-1' }, { kind: 'free', reason: 'staff' }]) {
    it(`${billingProfile.kind}: no hold, no settlement, no event`, async () => {
      const h = paymentsHarness();
      await h.payments.onSessionStarted(h.started(1, { billingProfile }));
      await h.payments.onMeterValues(h.meterValues(1, 50_000, '2026-11-23T11:30:00.000Z'));
      await h.payments.onSessionPriced(h.priced(1, 2_500));

      expect(h.store.payments.size).toBe(0);
      expect(h.gateway.calls).toEqual([]);
      expect(h.events.published).toEqual([]);
      expect(h.stopper.stops).toEqual([]);
    });
  }

  it('a malformed billing profile is an error, not a session nobody charges', async () => {
    const h = paymentsHarness();
    await expect(h.payments.onSessionStarted(h.started(1, { billingProfile: { kind: 'fleet' } }))).rejects.toThrow(ValidationError);
    await expect(h.payments.onSessionPriced(h.priced(1, 2_500))).rejects.toThrow(ValidationError);
    expect(h.store.payments.size).toBe(0);
  });
});

describe('SessionMeterValues: the running cost and the hold', () => {
  it('records the running cost; below 80% of the hold nothing is raised', async () => {
    const h = paymentsHarness();
    await held(h);
    await h.payments.onMeterValues(h.meterValues(1, 31_000, '2026-11-23T11:30:00.000Z'));

    const payment = (await h.store.get('S-1'))!;
    expect(payment.running).toEqual({ costMinor: 3_000, at: '2026-11-23T12:00:00.000Z' });
    expect(h.gateway.callsTo('incrementHold')).toEqual([]);
    // Priced as if stopped at the latest reading.
    expect(h.costs.asked).toEqual([{ meterStopWh: 31_000, stoppedAt: '2026-11-23T11:30:00.000Z', completedAt: '2026-11-23T11:30:00.000Z' }]);
  });

  it('the running cost recorded never goes down (a lower later reading leaves it)', async () => {
    const h = paymentsHarness();
    await held(h);
    await h.payments.onMeterValues(h.meterValues(1, 31_000, '2026-11-23T11:30:00.000Z'));
    h.clock.advance(60_000);
    await h.payments.onMeterValues(h.meterValues(1, 21_000, '2026-11-23T11:35:00.000Z'));

    expect(h.costs.asked.map((a) => a.meterStopWh)).toEqual([31_000, 21_000]);
    expect((await h.store.get('S-1'))!.running).toEqual({ costMinor: 3_000, at: '2026-11-23T12:00:00.000Z' });
  });

  it('at 80% of the hold raises it to the cost plus 50%; a redelivery or the webhook changes nothing more', async () => {
    const h = paymentsHarness();
    const pi = await held(h);
    await h.payments.onMeterValues(h.meterValues(1, 42_000, '2026-11-23T11:40:00.000Z'));

    // 41 kWh at 1.00 EUR = 41.00 >= 40.00; 41.00 x 1.5 = 61.50 (more than 50.00 + 10.00).
    expect(h.gateway.callsTo('incrementHold')).toEqual([{ method: 'incrementHold', key: 'voltledger:S-1:increment:6150', paymentIntentId: pi, amountMinor: 6_150 }]);
    const payment = (await h.store.get('S-1'))!;
    expect(payment.hold!.amountMinor).toBe(6_150);
    expect(payment.increments).toEqual([{ fromMinor: 5_000, toMinor: 6_150, at: '2026-11-23T12:00:00.000Z', runningCostMinor: 4_100 }]);
    expect(h.events.of('PaymentHoldIncreased')).toEqual([
      expect.objectContaining({ sessionId: 'S-1', paymentIntentId: pi, fromMinor: 5_000, toMinor: 6_150, runningCostMinor: 4_100, currency: 'EUR', increasedAt: '2026-11-23T12:00:00.000Z' }),
    ]);

    await h.payments.onMeterValues(h.meterValues(1, 42_000, '2026-11-23T11:40:00.000Z'));
    await h.payments.onHoldUpdated(pi);
    expect(h.gateway.callsTo('incrementHold')).toHaveLength(1);
    expect((await h.store.get('S-1'))!.increments).toHaveLength(1);
    expect(h.events.ids().filter((id) => id.startsWith('PaymentHoldIncreased'))).toEqual(['PaymentHoldIncreased:S-1:6150', 'PaymentHoldIncreased:S-1:6150']);
    // The hold placed event still reports the first amount.
    await h.payments.onSessionStarted(h.started(1));
    expect(h.events.of('PaymentHoldPlaced').at(-1)).toMatchObject({ amountMinor: 5_000 });
  });

  it('an increase made at the provider (webhook) is recorded with the running cost known then', async () => {
    const h = paymentsHarness();
    const pi = await held(h);
    await h.payments.onMeterValues(h.meterValues(1, 31_000, '2026-11-23T11:30:00.000Z'));
    h.gateway.intent(pi).amountMinor = 8_000;
    await h.payments.onHoldUpdated(pi);

    expect((await h.store.get('S-1'))!.increments).toEqual([{ fromMinor: 5_000, toMinor: 8_000, at: '2026-11-23T12:00:00.000Z', runningCostMinor: 3_000 }]);
    expect(h.events.of('PaymentHoldIncreased')).toEqual([expect.objectContaining({ fromMinor: 5_000, toMinor: 8_000, runningCostMinor: 3_000 })]);
  });

  it('a refused increment under policy "stop": recorded once, the session stopped, PaymentHoldIncreaseRefused', async () => {
    const h = paymentsHarness({ policy: { ...FIXED_HOLD, onIncrementUnavailable: 'stop' } });
    const pi = await held(h);
    h.gateway.incrementRefusal = { reason: 'card_declined', message: 'the bank refused the increment' };
    await h.payments.onMeterValues(h.meterValues(1, 42_000, '2026-11-23T11:40:00.000Z'));

    const payment = (await h.store.get('S-1'))!;
    expect(payment.hold!.amountMinor).toBe(5_000);
    expect(payment.incrementRefused).toEqual({ reason: 'card_declined', message: 'the bank refused the increment', action: 'stop', stopRequested: true, at: '2026-11-23T12:00:00.000Z' });
    expect(h.stopper.stops).toEqual([{ chargePointId: 'CP-1', transactionId: 1 }]);
    expect(h.events.of('PaymentHoldIncreaseRefused')).toEqual([
      expect.objectContaining({ sessionId: 'S-1', paymentIntentId: pi, holdMinor: 5_000, runningCostMinor: 4_100, currency: 'EUR', reason: 'card_declined', action: 'stop', stopRequested: true }),
    ]);

    await h.payments.onMeterValues(h.meterValues(1, 45_000, '2026-11-23T11:45:00.000Z'));
    expect(h.gateway.callsTo('incrementHold')).toHaveLength(1);
    expect(h.stopper.stops).toHaveLength(1);
    expect(h.events.of('PaymentHoldIncreaseRefused')).toHaveLength(1);
  });

  it('a card without incremental authorization under policy "continue": no call, no stop, the refusal said', async () => {
    const h = paymentsHarness();
    await held(h, false);
    await h.payments.onMeterValues(h.meterValues(1, 42_000, '2026-11-23T11:40:00.000Z'));

    expect(h.gateway.callsTo('incrementHold')).toEqual([]);
    expect(h.stopper.stops).toEqual([]);
    expect((await h.store.get('S-1'))!.incrementRefused).toMatchObject({ reason: 'increment_unavailable', message: 'the card does not support incremental authorization', action: 'continue', stopRequested: false });
    expect(h.events.of('PaymentHoldIncreaseRefused')).toEqual([expect.objectContaining({ action: 'continue', stopRequested: false, holdMinor: 5_000, runningCostMinor: 4_100 })]);
  });

  it("a hold already at the policy's maximum cannot grow", async () => {
    const h = paymentsHarness({ policy: { ...FIXED_HOLD, maxHoldMinor: 5_000 } });
    await held(h);
    await h.payments.onMeterValues(h.meterValues(1, 42_000, '2026-11-23T11:40:00.000Z'));

    expect(h.gateway.callsTo('incrementHold')).toEqual([]);
    expect((await h.store.get('S-1'))!.incrementRefused).toMatchObject({ reason: 'increment_unavailable', message: "the hold is at the policy's maximum (5000)" });
  });

  it('a stopped session or one without a register reading has no running cost', async () => {
    const h = paymentsHarness();
    await held(h);
    await h.payments.onMeterValues({ sessionId: 'S-1', transactionId: 1, chargePointId: 'CP-1', connectorId: 1, sampledAt: '2026-11-23T11:10:00.000Z', samples: 1 });
    expect((await h.store.get('S-1'))!.running).toBeUndefined();

    h.sessions.sessions.get(1)!.state = 'stopped';
    await h.payments.onMeterValues(h.meterValues(1, 42_000, '2026-11-23T11:40:00.000Z'));
    expect((await h.store.get('S-1'))!.running).toBeUndefined();
    expect(h.costs.asked).toEqual([]);
  });
});

describe('SessionPriced: settlement', () => {
  it('below the hold: captures the total (the rest released), once; a redelivery republishes the outcome', async () => {
    const h = paymentsHarness();
    const pi = await held(h);
    await h.payments.onSessionPriced(h.priced(1, 3_210));

    expect(h.gateway.callsTo('capture')).toEqual([{ method: 'capture', key: 'voltledger:S-1:capture:3210', paymentIntentId: pi, amountMinor: 3_210 }]);
    expect(h.gateway.intent(pi)).toMatchObject({ status: 'captured', capturedMinor: 3_210 });
    const payment = (await h.store.get('S-1'))!;
    expect(payment.status).toBe('settled');
    const outcome = payment.settlement!.outcome!;
    expect(outcome).toEqual({
      outcome: 'captured',
      currency: 'EUR',
      sessionTotalMinor: 3_210,
      carriedInMinor: 0,
      carriedInSessionIds: [],
      dueMinor: 3_210,
      holdMinor: 5_000,
      capturedMinor: 3_210,
      topUpMinor: 0,
      waivedMinor: 0,
      carriedOutMinor: 0,
      outstandingMinor: 0,
      holdPaymentIntentId: pi,
      settledAt: '2026-11-23T12:00:00.000Z',
    });
    expect(h.events.of('SessionPaymentSettled')).toEqual([expect.objectContaining({ sessionId: 'S-1', channel: 'app', ...outcome })]);
    expect(h.settledCalls.map((p) => p.sessionId)).toEqual(['S-1']);

    await h.payments.onSessionPriced(h.priced(1, 3_210));
    expect(h.gateway.callsTo('capture')).toHaveLength(1);
    expect(h.events.ids().filter((id) => id.startsWith('SessionPaymentSettled'))).toEqual(['SessionPaymentSettled:S-1', 'SessionPaymentSettled:S-1']);
    expect(h.settledCalls).toHaveLength(1);
  });

  it('exactly the hold: captures all of it', async () => {
    const h = paymentsHarness();
    const pi = await held(h);
    await h.payments.onSessionPriced(h.priced(1, 5_000));

    expect(h.gateway.callsTo('capture')).toEqual([expect.objectContaining({ paymentIntentId: pi, amountMinor: 5_000 })]);
    expect(h.gateway.callsTo('chargeOffSession')).toEqual([]);
    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({ outcome: 'captured', dueMinor: 5_000, capturedMinor: 5_000, topUpMinor: 0, holdMinor: 5_000 });
  });

  it('above a hold that cannot grow: captures the hold and charges the overrun off-session', async () => {
    const h = paymentsHarness();
    const pi = await held(h, false);
    await h.payments.onSessionPriced(h.priced(1, 6_200));

    expect(h.gateway.callsTo('capture')).toEqual([expect.objectContaining({ paymentIntentId: pi, amountMinor: 5_000 })]);
    expect(h.gateway.callsTo('chargeOffSession')).toEqual([{ method: 'chargeOffSession', key: 'voltledger:S-1:top_up:1200', amountMinor: 1_200 }]);
    const outcome = (await h.store.get('S-1'))!.settlement!.outcome!;
    expect(outcome).toMatchObject({ outcome: 'captured_with_top_up', dueMinor: 6_200, capturedMinor: 5_000, topUpMinor: 1_200, outstandingMinor: 0, holdPaymentIntentId: pi });
    expect(h.gateway.intent(outcome.chargePaymentIntentId!)).toMatchObject({ kind: 'charge', capturedMinor: 1_200, metadata: expect.objectContaining({ sessionId: 'S-1', purpose: 'top_up' }) });
  });

  it('above an incrementable hold: raises it to the total, then captures the total', async () => {
    const h = paymentsHarness();
    const pi = await held(h);
    await h.payments.onSessionPriced(h.priced(1, 6_200));

    expect(h.gateway.callsTo('incrementHold')).toEqual([{ method: 'incrementHold', key: 'voltledger:S-1:settle-increment:6200', paymentIntentId: pi, amountMinor: 6_200 }]);
    expect(h.gateway.callsTo('capture')).toEqual([expect.objectContaining({ amountMinor: 6_200 })]);
    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({ outcome: 'captured', holdMinor: 6_200, capturedMinor: 6_200, topUpMinor: 0 });
  });

  it('the raise refused at settlement: captures the hold and tops up the rest', async () => {
    const h = paymentsHarness();
    await held(h);
    h.gateway.incrementRefusal = { reason: 'increment_unavailable', message: 'no' };
    await h.payments.onSessionPriced(h.priced(1, 6_200));

    const payment = (await h.store.get('S-1'))!;
    expect(payment.settlement!.incremented).toBe('refused');
    expect(payment.settlement!.outcome).toMatchObject({ outcome: 'captured_with_top_up', holdMinor: 5_000, capturedMinor: 5_000, topUpMinor: 1_200 });
  });

  it('a declined top-up: collection_failed with the amount outstanding and the decline', async () => {
    const h = paymentsHarness();
    await held(h, false);
    h.gateway.chargeDecline = { code: 'card_declined', declineCode: 'insufficient_funds', message: 'declined' };
    await h.payments.onSessionPriced(h.priced(1, 6_200));

    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({
      outcome: 'collection_failed',
      capturedMinor: 5_000,
      topUpMinor: 0,
      outstandingMinor: 1_200,
      failure: { code: 'card_declined', declineCode: 'insufficient_funds', message: 'declined' },
    });
  });

  it('nothing due: the hold is released, nothing captured', async () => {
    const h = paymentsHarness();
    const pi = await held(h);
    await h.payments.onSessionPriced(h.priced(1, 0));

    expect(h.gateway.callsTo('cancel')).toEqual([{ method: 'cancel', key: 'voltledger:S-1:cancel', paymentIntentId: pi }]);
    expect(h.gateway.callsTo('capture')).toEqual([]);
    expect(h.gateway.intent(pi).status).toBe('canceled');
    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({ outcome: 'nothing_due', dueMinor: 0, capturedMinor: 0, holdMinor: 5_000 });
  });

  it('below the minimum charge: released and carried to the driver next session, which collects it', async () => {
    const h = paymentsHarness();
    await held(h);
    await h.payments.onSessionPriced(h.priced(1, 30));

    expect(h.gateway.callsTo('capture')).toEqual([]);
    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({ outcome: 'carried_forward', dueMinor: 30, carriedOutMinor: 30, capturedMinor: 0 });
    expect([...h.store.carries.values()]).toEqual([{ fromSessionId: 'S-1', currency: 'EUR', amountMinor: 30 }]);

    await h.payments.onSessionStarted(h.started(2));
    await h.payments.onSessionPriced(h.priced(2, 1_000));
    const next = (await h.store.get('S-2'))!;
    expect(next.settlement!.outcome).toMatchObject({ outcome: 'captured', sessionTotalMinor: 1_000, carriedInMinor: 30, carriedInSessionIds: ['S-1'], dueMinor: 1_030, capturedMinor: 1_030 });
    expect(h.gateway.callsTo('capture').at(-1)).toMatchObject({ paymentIntentId: next.hold!.paymentIntentId, amountMinor: 1_030 });
  });

  it('a carried amount is collected by one next session only, even when two settle at once', async () => {
    const h = paymentsHarness();
    await held(h);
    await h.payments.onSessionPriced(h.priced(1, 30));
    await h.payments.onSessionStarted(h.started(2));
    await h.payments.onSessionStarted(h.started(3));
    await Promise.all([h.payments.onSessionPriced(h.priced(2, 1_000)), h.payments.onSessionPriced(h.priced(3, 1_000))]);

    const outcomes = [(await h.store.get('S-2'))!, (await h.store.get('S-3'))!].map((p) => p.settlement!.outcome!);
    expect(outcomes.map((o) => o.carriedInMinor).sort()).toEqual([0, 30]);
    expect(outcomes.map((o) => o.capturedMinor).sort()).toEqual([1_000, 1_030]);
  });

  it('below the minimum charge under policy "waive": waived', async () => {
    const h = paymentsHarness({ policy: { ...FIXED_HOLD, smallAmount: 'waive' } });
    await held(h);
    await h.payments.onSessionPriced(h.priced(1, 30));
    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({ outcome: 'waived', waivedMinor: 30, carriedOutMinor: 0 });
    expect(h.store.carries.size).toBe(0);
  });

  it('a hold that expired before settlement: the total is charged off-session', async () => {
    const h = paymentsHarness();
    const pi = await held(h);
    h.gateway.intent(pi).status = 'expired';
    await h.payments.onSessionPriced(h.priced(1, 2_500));

    expect(h.gateway.callsTo('capture')).toEqual([]);
    expect(h.gateway.callsTo('chargeOffSession')).toEqual([{ method: 'chargeOffSession', key: 'voltledger:S-1:off_session_charge:2500', amountMinor: 2_500 }]);
    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({ outcome: 'charged_off_session', capturedMinor: 0, topUpMinor: 2_500 });
  });

  it('no hold was ever placed: a payment record is made and the total charged off-session', async () => {
    const h = paymentsHarness();
    h.started(1);
    await h.payments.onSessionPriced(h.priced(1, 2_500));

    const payment = (await h.store.get('S-1'))!;
    expect(payment).toMatchObject({ channel: 'app', status: 'settled', driverId: 'D-1', customerId: 'cus_1' });
    expect(payment.settlement!.outcome).toMatchObject({ outcome: 'charged_off_session', dueMinor: 2_500, holdMinor: 0, topUpMinor: 2_500 });
  });

  it('a failed hold and no saved card: collection_failed for the whole total', async () => {
    const h = paymentsHarness();
    h.drivers.drivers.set('D-1', {});
    await h.payments.onSessionStarted(h.started(1));
    await h.payments.onSessionPriced(h.priced(1, 2_500));

    expect(h.gateway.calls).toEqual([]);
    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({
      outcome: 'collection_failed',
      holdMinor: 0,
      capturedMinor: 0,
      outstandingMinor: 2_500,
      failure: { message: 'the driver has no saved payment method' },
    });
  });
});

describe('reader sessions', () => {
  /** A card authorized at CP-1/1's reader at 11:59, matchable until 12:02, for 40.00 EUR. */
  async function authorizedAtReader(h: PaymentsHarness, incrementable = true) {
    const { paymentIntentId } = await h.gateway.armReader({ readerId: 'tmr_1', amountMinor: 4_000, currency: 'EUR', description: 'x', metadata: { purpose: 'hold' }, idempotencyKey: 'arm-1' });
    h.gateway.intent(paymentIntentId).incrementable = incrementable;
    await h.store.putReaderAuthorization({
      paymentIntentId,
      readerId: 'tmr_1',
      chargePointId: 'CP-1',
      connectorId: 1,
      idTag: 'CARD-ABC',
      amountMinor: 4_000,
      currency: 'EUR',
      incrementable,
      authorizedAt: '2026-11-23T11:59:00.000Z',
      expiresAt: '2026-11-23T12:02:00.000Z',
    });
    return paymentIntentId;
  }

  it('a session on the connector takes the reader authorization as its hold; settled from it, then the reader is re-armed', async () => {
    const h = paymentsHarness();
    const pi = await authorizedAtReader(h);
    await h.payments.onSessionStarted(h.started(1, { idTag: 'card-abc', startedAt: '2026-11-23T12:00:00.000Z' }));

    const payment = (await h.store.get('S-1'))!;
    expect(payment).toMatchObject({ channel: 'reader', status: 'held', readerId: 'tmr_1', currency: 'EUR', hold: { paymentIntentId: pi, amountMinor: 4_000, placedAt: '2026-11-23T11:59:00.000Z' } });
    expect(h.gateway.callsTo('createHold')).toEqual([]);
    expect(h.store.authorizations.get(pi)!.claimedBySessionId).toBe('S-1');
    expect(h.events.of('PaymentHoldPlaced')).toEqual([expect.objectContaining({ channel: 'reader', paymentIntentId: pi, amountMinor: 4_000 })]);

    await h.payments.onSessionPriced(h.priced(1, 2_500));
    expect(h.gateway.callsTo('capture')).toEqual([expect.objectContaining({ paymentIntentId: pi, amountMinor: 2_500 })]);
    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({ outcome: 'captured', capturedMinor: 2_500, holdMinor: 4_000 });
    expect(h.settledCalls).toEqual([expect.objectContaining({ sessionId: 'S-1', channel: 'reader', readerId: 'tmr_1' })]);
  });

  it('above a reader hold that cannot grow: the rest cannot be charged off-session and is outstanding; nothing is carried', async () => {
    const h = paymentsHarness();
    await authorizedAtReader(h, false);
    await h.payments.onSessionStarted(h.started(1, { idTag: 'CARD-ABC', startedAt: '2026-11-23T12:00:00.000Z' }));
    await h.payments.onSessionPriced(h.priced(1, 4_500));

    expect(h.gateway.callsTo('chargeOffSession')).toEqual([]);
    expect((await h.store.get('S-1'))!.settlement!.outcome).toMatchObject({
      outcome: 'collection_failed',
      capturedMinor: 4_000,
      outstandingMinor: 500,
      failure: { message: 'a card presented at a reader cannot be charged again off-session' },
    });
    expect(h.store.carries.size).toBe(0);
  });

  it('a session starting outside the window with another idTag is not matched: the driver saved card is held', async () => {
    const h = paymentsHarness();
    const pi = await authorizedAtReader(h);
    await h.payments.onSessionStarted(h.started(1, { startedAt: '2026-11-23T12:05:00.000Z' }));

    expect((await h.store.get('S-1'))!).toMatchObject({ channel: 'app', status: 'held' });
    expect(h.store.authorizations.get(pi)!.claimedBySessionId).toBeUndefined();
  });
});
