import { describe, expect, it } from 'vitest';
import { validateRequest } from '../../functions/ocpp/domain/validation.ts';

describe('OCPP validation at the limits of what can be stored and answered', () => {
  it.each([
    ['MeterValues', { connectorId: 1, transactionId: 1e20, meterValue: [{ timestamp: '2026-11-23T10:00:00Z', sampledValue: [{ value: '1' }] }] }, 'transactionId'],
    ['StopTransaction', { transactionId: 2 ** 60, meterStop: 5, timestamp: '2026-11-23T10:00:00Z' }, 'transactionId'],
    ['StartTransaction', { connectorId: 1, idTag: 'A', meterStart: -(2 ** 54), timestamp: '2026-11-23T10:00:00Z' }, 'meterStart'],
  ])('%s with an integer beyond 2^53 - 1 is PropertyConstraintViolation naming the field', (action, payload, path) => {
    expect(validateRequest(action, payload)).toMatchObject({ ok: false, errorCode: 'PropertyConstraintViolation', path });
  });

  it('accepts the largest exact integer', () => {
    expect(validateRequest('StopTransaction', { transactionId: Number.MAX_SAFE_INTEGER, meterStop: 5, timestamp: '2026-11-23T10:00:00Z' })).toEqual({ ok: true });
  });

  it('cuts an unknown field name echoed in the description, so a near-128 KB frame never gets a larger answer', () => {
    const name = 'x'.repeat(130_000);
    const outcome = validateRequest('Heartbeat', { [name]: 1 });
    expect(outcome).toMatchObject({ ok: false, errorCode: 'FormationViolation' });
    if (outcome.ok) return;
    expect(outcome.description.length).toBeLessThan(200);
    expect(outcome.path).toBe(`${'x'.repeat(64)}…`);
  });
});
