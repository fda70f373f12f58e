import { describe, expect, it } from 'vitest';
import { billingProfileAtStart } from '../../../events/billing.ts';
import { decideAuthorization, hasPayer } from '../../../functions/ocpp/domain/authorization.ts';
import type { EntitlementRecord } from '../../../functions/ocpp/domain/model.ts';
import { salvageSampledValues } from '../../../functions/ocpp/domain/sampled-values.ts';
import { validateRequest } from '../../../functions/ocpp/domain/validation.ts';

// docs/meters.md "Frames that break the schema" and docs/payments.md "Who pays".

const energy = { value: '12345', measurand: 'Energy.Active.Import.Register', unit: 'Wh' };
const hertz = { value: '50.0', measurand: 'Frequency', unit: 'Hertz' }; // errata 3.84: Hertz is not in the unit enum

describe('MeterValues / StopTransaction sampled values that break the schema', () => {
  it('drops only the sampled value that breaks the enum and keeps the energy reading of the same frame', () => {
    const payload = { connectorId: 1, transactionId: 7, meterValue: [{ timestamp: '2026-11-23T10:00:00Z', sampledValue: [energy, hertz] }] };
    expect(validateRequest('MeterValues', payload).ok).toBe(false);

    const salvaged = salvageSampledValues('MeterValues', payload)!;

    expect(salvaged.payload).toEqual({ connectorId: 1, transactionId: 7, meterValue: [{ timestamp: '2026-11-23T10:00:00Z', sampledValue: [energy] }] });
    expect(salvaged.dropped).toEqual([{ path: 'meterValue.0.sampledValue.1', description: expect.stringMatching(/unit must be one of/), sampledValue: hertz }]);
    expect(validateRequest('MeterValues', salvaged.payload).ok).toBe(true);
  });

  it("StopTransaction's transactionData: the stop is kept, the bad value dropped; a meter value left empty goes too", () => {
    const payload = {
      transactionId: 7,
      meterStop: 20_000,
      timestamp: '2026-11-23T11:00:00Z',
      transactionData: [
        { timestamp: '2026-11-23T10:30:00Z', sampledValue: [hertz] },
        { timestamp: '2026-11-23T11:00:00Z', sampledValue: [energy] },
      ],
    };
    const salvaged = salvageSampledValues('StopTransaction', payload)!;
    expect(salvaged.payload.transactionData).toEqual([{ timestamp: '2026-11-23T11:00:00Z', sampledValue: [energy] }]);
    expect(salvaged.dropped.map((d) => d.path)).toEqual(['transactionData.0.sampledValue.0']);
  });

  it('refuses what is not a bad sampled value: another action, a missing field, or a frame with nothing valid left', () => {
    expect(salvageSampledValues('StatusNotification', { connectorId: 1, status: 'Bogus', errorCode: 'NoError' })).toBeUndefined();
    expect(salvageSampledValues('MeterValues', { meterValue: [{ timestamp: '2026-11-23T10:00:00Z', sampledValue: [energy, hertz] }] })).toBeUndefined();
    expect(salvageSampledValues('MeterValues', { connectorId: 1, meterValue: [{ timestamp: '2026-11-23T10:00:00Z', sampledValue: [hertz] }] })).toBeUndefined();
    expect(salvageSampledValues('MeterValues', { connectorId: 1, meterValue: [{ timestamp: 'yesterday', sampledValue: [energy, hertz] }] })).toBeUndefined();
  });
});

describe('who pays: Authorize and billing agree', () => {
  const now = new Date('2026-11-23T12:00:00Z');
  const record = (over: Partial<EntitlementRecord>): EntitlementRecord => ({ idTag: 'TAG', status: 'Accepted', updatedAt: '2026-11-01T00:00:00Z', ...over });
  const blocking = { rejectConcurrent: false, activeSessionMaxAgeMs: 0, blockPayerless: true };

  it('a card-paid tag with no driver behind it is Blocked when the policy blocks payerless tags', () => {
    expect(decideAuthorization(record({ billing: { kind: 'retail' } }), now, blocking).status).toBe('Blocked');
    expect(decideAuthorization(record({}), now, blocking).status).toBe('Blocked');
    expect(decideAuthorization(record({ billing: { kind: 'member', tier: 'plus' } }), now, blocking).status).toBe('Blocked');
  });

  it('accepts tags someone pays for: a driver, a card at a reader, a fleet account, a partner, free', () => {
    for (const over of [
      { billing: { kind: 'retail', channel: 'app' }, driverId: 'D-1' },
      { billing: { kind: 'retail', channel: 'card' } },
      { billing: { kind: 'fleet', accountId: 'ACME' } },
      { billing: { kind: 'roaming', partnerId: 'P' } },
      { billing: { kind: 'free' } },
    ]) {
      expect(hasPayer(over)).toBe(true);
      expect(decideAuthorization(record(over), now, blocking).status).toBe('Accepted');
    }
  });

  it('accepts payerless tags ad hoc when the policy says so (and never unblocks an operator block)', () => {
    expect(decideAuthorization(record({ billing: { kind: 'retail' } }), now, { ...blocking, blockPayerless: false }).status).toBe('Accepted');
    expect(decideAuthorization(record({ status: 'Blocked', driverId: 'D-1' }), now, blocking).status).toBe('Blocked');
  });

  it('a session started with a Blocked, Invalid or Expired tag is billed to nobody (no-payer), not retail', () => {
    for (const status of ['Blocked', 'Invalid', 'Expired']) {
      expect(billingProfileAtStart(status, { kind: 'retail' })).toEqual({ kind: 'no-payer', reason: `StartTransaction answered ${status}` });
      expect(billingProfileAtStart(status, null)).toEqual({ kind: 'no-payer', reason: `StartTransaction answered ${status}` });
    }
    expect(billingProfileAtStart('Accepted', null)).toBeNull();
    expect(billingProfileAtStart('ConcurrentTx', { kind: 'fleet', accountId: 'ACME' })).toEqual({ kind: 'fleet', accountId: 'ACME' });
  });
});
