import { describe, expect, it } from 'vitest';
import { readerIdTag } from '../../../functions/payments/domain/readers.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../../functions/shared/errors.ts';
import { paymentsHarness, type PaymentsHarness } from './support/harness.ts';

/** Reader tmr_1 registered on CP-1/1 (armed by itself at 12:00 for the policy's 50.00 EUR). */
async function registered(h: PaymentsHarness) {
  h.gateway.knownReaders.add('tmr_1');
  return h.readers.register({ readerId: 'tmr_1', chargePointId: 'CP-1', connectorId: 1, label: 'bay 1' });
}

describe('card readers', () => {
  it('registering checks the charge point and the provider, then arms the reader for the connector hold', async () => {
    const h = paymentsHarness();
    await expect(h.readers.register({ readerId: 'tmr_1', chargePointId: 'CP-9', connectorId: 1 })).rejects.toThrow(ValidationError);
    await expect(h.readers.register({ readerId: 'tmr_1', chargePointId: 'CP-1', connectorId: 1 })).rejects.toThrow(NotFoundError);

    const reader = await registered(h);
    expect(reader).toMatchObject({ readerId: 'tmr_1', chargePointId: 'CP-1', connectorId: 1, label: 'bay 1', autoArm: true, armed: { amountMinor: 5_000, currency: 'EUR', armedAt: '2026-11-23T12:00:00.000Z' } });
    expect(h.gateway.callsTo('armReader')).toEqual([{ method: 'armReader', key: 'voltledger:reader:tmr_1:auto:registered:CP-1:1:2026-11-23T12:00:00.000Z', amountMinor: 5_000 }]);
    expect(h.gateway.intent(reader.armed!.paymentIntentId).metadata).toEqual({ purpose: 'hold', readerId: 'tmr_1', chargePointId: 'CP-1', connectorId: '1' });
    expect(await h.readers.list()).toEqual([reader]);
  });

  it('a charge point without a tariff has no currency or hold amount: arming is a conflict', async () => {
    const h = paymentsHarness();
    await registered(h);
    h.registry.chargePoints.set('CP-1', { maxPowerKw: 22 });
    await expect(h.readers.arm('tmr_1', 'req-1')).rejects.toThrow(ConflictError);
    await expect(h.readers.arm('tmr_9', 'req-1')).rejects.toThrow(NotFoundError);
  });

  it('a card approved: its idTag accepted until the window closes, the authorization stored, the session started once', async () => {
    const h = paymentsHarness();
    const reader = await registered(h);
    const pi = reader.armed!.paymentIntentId;
    const approval = { readerId: 'tmr_1', paymentIntentId: pi, occurredAt: '2026-11-23T12:00:00.000Z' };
    await h.readers.onActionSucceeded(approval);

    const idTag = readerIdTag(pi);
    expect(idTag).toMatch(/^CARD-[0-9A-F]{15}$/);
    expect(h.entitlements.grants).toEqual([{ idTag, status: 'Accepted', expiryDate: '2026-11-23T12:03:00.000Z', billing: { kind: 'retail', channel: 'card' }, updatedAt: '2026-11-23T12:00:00.000Z' }]);
    expect(h.store.authorizations.get(pi)).toMatchObject({ readerId: 'tmr_1', chargePointId: 'CP-1', connectorId: 1, idTag, amountMinor: 5_000, currency: 'EUR', incrementable: true, authorizedAt: '2026-11-23T12:00:00.000Z', expiresAt: '2026-11-23T12:03:00.000Z', remoteStart: { messageId: 'start-1' } });
    expect(h.stopper.starts).toEqual([{ chargePointId: 'CP-1', connectorId: 1, idTag }]);
    const after = (await h.readers.get('tmr_1'))!;
    expect(after.armed).toBeUndefined();
    expect(after.lastAction).toEqual({ status: 'succeeded', paymentIntentId: pi, at: '2026-11-23T12:00:00.000Z' });

    await h.readers.onActionSucceeded(approval);
    expect(h.stopper.starts).toHaveLength(1);

    // The session that starts is paid from that authorization.
    await h.payments.onSessionStarted(h.started(1, { idTag, startedAt: '2026-11-23T12:00:30.000Z' }));
    expect((await h.store.get('S-1'))!).toMatchObject({ channel: 'reader', readerId: 'tmr_1', hold: { paymentIntentId: pi, amountMinor: 5_000 } });
  });

  it('an approval with no PaymentIntent, for an unknown reader, or for a hold no longer open starts nothing', async () => {
    const h = paymentsHarness();
    const pi = (await registered(h)).armed!.paymentIntentId;
    await h.readers.onActionSucceeded({ readerId: 'tmr_1', occurredAt: '2026-11-23T12:00:00.000Z' });
    await h.readers.onActionSucceeded({ readerId: 'tmr_9', paymentIntentId: pi, occurredAt: '2026-11-23T12:00:00.000Z' });
    h.gateway.intent(pi).status = 'canceled';
    await h.readers.onActionSucceeded({ readerId: 'tmr_1', paymentIntentId: pi, occurredAt: '2026-11-23T12:00:00.000Z' });

    expect(h.stopper.starts).toEqual([]);
    expect(h.entitlements.grants).toEqual([]);
    expect(h.store.authorizations.size).toBe(0);
  });

  it('a card refused: the PaymentIntent cancelled, the failure recorded, the reader armed again', async () => {
    const h = paymentsHarness();
    const pi = (await registered(h)).armed!.paymentIntentId;
    await h.readers.onActionFailed({ eventId: 'evt_1', readerId: 'tmr_1', paymentIntentId: pi, failureCode: 'card_declined', failureMessage: 'Declined', occurredAt: '2026-11-23T11:59:59.000Z' });

    expect(h.gateway.callsTo('cancel')).toEqual([{ method: 'cancel', key: 'voltledger:reader-failed:evt_1:cancel', paymentIntentId: pi }]);
    expect(h.gateway.intent(pi).status).toBe('canceled');
    const reader = (await h.readers.get('tmr_1'))!;
    expect(reader.lastAction).toEqual({ status: 'failed', paymentIntentId: pi, failureCode: 'card_declined', failureMessage: 'Declined', at: '2026-11-23T11:59:59.000Z' });
    expect(h.gateway.callsTo('armReader').at(-1)).toMatchObject({ key: 'voltledger:reader:tmr_1:auto:after-failure:evt_1' });
    expect(reader.armed!.paymentIntentId).not.toBe(pi);
  });

  it('the sweep releases authorizations no session claimed in the window, once, and re-arms their readers', async () => {
    const h = paymentsHarness();
    const reader = await registered(h);
    const pi = reader.armed!.paymentIntentId;
    await h.readers.onActionSucceeded({ readerId: 'tmr_1', paymentIntentId: pi, occurredAt: '2026-11-23T11:50:00.000Z' });

    expect(await h.readers.releaseUnmatched()).toBe(1);
    expect(h.gateway.intent(pi).status).toBe('canceled');
    expect(h.store.authorizations.get(pi)).toMatchObject({ canceledAt: '2026-11-23T12:00:00.000Z', releasedAt: '2026-11-23T12:00:00.000Z' });
    expect((await h.readers.get('tmr_1'))!.armed).toBeDefined();
    expect(await h.readers.releaseUnmatched()).toBe(0);
    expect(h.gateway.callsTo('cancel')).toHaveLength(1);
  });

  it('an authorization a session claimed is not released', async () => {
    const h = paymentsHarness();
    const pi = (await registered(h)).armed!.paymentIntentId;
    await h.readers.onActionSucceeded({ readerId: 'tmr_1', paymentIntentId: pi, occurredAt: '2026-11-23T11:58:00.000Z' });
    await h.payments.onSessionStarted(h.started(1, { idTag: readerIdTag(pi), startedAt: '2026-11-23T11:58:30.000Z' }));
    h.clock.set('2026-11-23T12:10:00.000Z');

    expect(await h.readers.releaseUnmatched()).toBe(0);
    expect(h.gateway.intent(pi).status).toBe('usable');
  });
});
