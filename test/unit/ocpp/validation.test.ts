import { describe, expect, it } from 'vitest';
import { isKnownAction, validateRequest, validateResponse } from '../../../functions/ocpp/domain/validation.ts';

const start = { connectorId: 1, idTag: 'TAG1', meterStart: 100, timestamp: '2026-11-23T10:00:00Z' };

describe('validateRequest against the official OCPP 1.6 schemas', () => {
  it.each([
    ['Authorize', { idTag: 'ABC' }],
    ['StartTransaction', start],
    ['BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }],
    ['StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }],
    ['Heartbeat', {}],
    [
      'MeterValues',
      { connectorId: 1, transactionId: 3, meterValue: [{ timestamp: '2026-11-23T10:01:00Z', sampledValue: [{ value: '1.5', unit: 'kWh' }] }] },
    ],
  ])('accepts a valid %s', (action, payload) => {
    expect(validateRequest(action, payload)).toEqual({ ok: true });
  });

  it.each([
    ['a missing required field', 'Authorize', {}, 'OccurenceConstraintViolation', 'idTag'],
    ['a string where an integer belongs', 'StartTransaction', { ...start, meterStart: '100' }, 'TypeConstraintViolation', 'meterStart'],
    ['a non-integer number', 'StartTransaction', { ...start, connectorId: 1.5 }, 'TypeConstraintViolation', 'connectorId'],
    ['an idTag over 20 characters', 'Authorize', { idTag: 'X'.repeat(21) }, 'PropertyConstraintViolation', 'idTag'],
    ['a value outside an enumeration', 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Sleeping' }, 'PropertyConstraintViolation', 'status'],
    ['a timestamp that is not a date-time', 'StartTransaction', { ...start, timestamp: 'yesterday' }, 'PropertyConstraintViolation', 'timestamp'],
    ['a field the PDU does not have', 'Authorize', { idTag: 'A', colour: 'red' }, 'FormationViolation', 'colour'],
    [
      'a nested missing field',
      'MeterValues',
      { connectorId: 1, meterValue: [{ timestamp: '2026-11-23T10:01:00Z', sampledValue: [{ unit: 'Wh' }] }] },
      'OccurenceConstraintViolation',
      'meterValue.0.sampledValue.0.value',
    ],
  ])('rejects %s', (_name, action, payload, errorCode, path) => {
    expect(validateRequest(action, payload)).toMatchObject({ ok: false, errorCode, path });
  });
});

describe('validateResponse', () => {
  it('checks what a charge point answers to our calls', () => {
    expect(validateResponse('RemoteStopTransaction', { status: 'Accepted' })).toEqual({ ok: true });
    expect(validateResponse('RemoteStopTransaction', { status: 'Maybe' })).toMatchObject({ ok: false, path: 'status' });
  });
});

describe('isKnownAction', () => {
  it('knows OCPP 1.6 actions and nothing else', () => {
    expect(isKnownAction('Authorize')).toBe(true);
    expect(isKnownAction('Reset')).toBe(true);
    expect(isKnownAction('Teleport')).toBe(false);
    expect(isKnownAction('__proto__')).toBe(false);
  });
});
