import { describe, expect, it } from 'vitest';
import { createChargePointService } from '../../../functions/ocpp/domain/charge-point-service.ts';
import { ChargePointOfflineError, NotFoundError, ValidationError } from '../../../functions/shared/errors.ts';
import { inMemoryPorts } from './support/in-memory-ports.ts';

/** Commands to charge points and the answers to them, through in-memory ports. */

const CP = 'CP-1';

function setup() {
  const ports = inMemoryPorts('2026-11-23T10:00:00.000Z');
  ports.registry.addChargePoint({ chargePointId: CP, connectionId: 'conn-1' });
  ports.registry.addChargePoint({ chargePointId: 'CP-OFF' });
  const service = createChargePointService(ports, { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: 3600 });
  const pending = (messageId: string) => ports.registry.calls.get(`${CP}#${messageId}`);
  return { ports, service, pending };
}

describe('sending a command', () => {
  it('records the call as pending, then sends the CALL frame on the charge point connection', async () => {
    const { ports, service, pending } = setup();
    const call = await service.sendCommand(CP, 'RemoteStopTransaction', { transactionId: 7 });
    expect(call).toEqual({ chargePointId: CP, messageId: expect.any(String), action: 'RemoteStopTransaction', payload: { transactionId: 7 }, state: 'pending', createdAt: '2026-11-23T10:00:00.000Z' });
    expect(pending(call.messageId)).toEqual(call);
    expect(ports.connections.sent).toEqual([{ connectionId: 'conn-1', frame: JSON.stringify([2, call.messageId, 'RemoteStopTransaction', { transactionId: 7 }]) }]);
  });

  it('gives each call its own message id', async () => {
    const { service } = setup();
    const a = await service.sendCommand(CP, 'ClearCache', {});
    const b = await service.sendCommand(CP, 'ClearCache', {});
    expect(a.messageId).not.toBe(b.messageId);
  });

  it('refuses an action outside the command path, and a payload its schema refuses, before anything is stored', async () => {
    const { ports, service } = setup();
    await expect(service.sendCommand(CP, 'UpdateFirmware' as never, {})).rejects.toThrow(ValidationError);
    await expect(service.sendCommand(CP, 'RemoteStopTransaction', {})).rejects.toMatchObject({ message: 'payload.transactionId: transactionId is required' });
    expect(ports.registry.calls.size).toBe(0);
    expect(ports.connections.sent).toEqual([]);
  });

  it('throws NotFoundError for an unknown charge point and ChargePointOfflineError for one not connected', async () => {
    const { ports, service } = setup();
    await expect(service.sendCommand('CP-NONE', 'ClearCache', {})).rejects.toThrow(NotFoundError);
    await expect(service.sendCommand('CP-OFF', 'ClearCache', {})).rejects.toThrow(ChargePointOfflineError);
    expect(ports.registry.calls.size).toBe(0);
  });

  it('settles the call as an error when the send fails, and rethrows: Offline for a gone connection, SendFailed otherwise', async () => {
    const { ports, service } = setup();
    ports.connections.failWith = new ChargePointOfflineError('gone');
    await expect(service.sendCommand(CP, 'ClearCache', {})).rejects.toThrow('gone');
    ports.connections.failWith = new Error('socket reset');
    await expect(service.sendCommand(CP, 'ClearCache', {})).rejects.toThrow('socket reset');
    expect([...ports.registry.calls.values()].map((c) => [c.state, c.error])).toEqual([
      ['error', { code: 'Offline', description: 'gone', details: {} }],
      ['error', { code: 'SendFailed', description: 'socket reset', details: {} }],
    ]);
  });
});

describe('the answer to a command', () => {
  it('a CALLRESULT that fits the action settles the call accepted, with the result', async () => {
    const { ports, service, pending } = setup();
    const call = await service.sendCommand(CP, 'RemoteStopTransaction', { transactionId: 7 });
    ports.clock.set('2026-11-23T10:00:02.000Z');
    await service.settleAnswer(CP, { kind: 'callResult', messageId: call.messageId, payload: { status: 'Accepted' } });
    expect(pending(call.messageId)).toMatchObject({ state: 'accepted', result: { status: 'Accepted' }, answeredAt: '2026-11-23T10:00:02.000Z' });
  });

  it("a CALLRESULT the action's schema refuses settles the call as an error naming it", async () => {
    const { service, pending } = setup();
    const call = await service.sendCommand(CP, 'RemoteStopTransaction', { transactionId: 7 });
    await service.settleAnswer(CP, { kind: 'callResult', messageId: call.messageId, payload: { status: 'Maybe' } });
    expect(pending(call.messageId)).toMatchObject({
      state: 'error',
      error: { code: 'PropertyConstraintViolation', description: 'invalid RemoteStopTransaction.conf: status must be one of Accepted, Rejected', details: { result: { status: 'Maybe' } } },
    });
  });

  it("a CALLERROR settles the call with the charge point's error", async () => {
    const { service, pending } = setup();
    const call = await service.sendCommand(CP, 'Reset', { type: 'Soft' });
    await service.settleAnswer(CP, { kind: 'callError', messageId: call.messageId, errorCode: 'NotSupported', errorDescription: 'no', errorDetails: { a: 1 } });
    expect(pending(call.messageId)).toMatchObject({ state: 'error', error: { code: 'NotSupported', description: 'no', details: { a: 1 } } });
  });

  it('an answer to no outstanding call (unknown, or already settled) is dropped with a warning', async () => {
    const { ports, service, pending } = setup();
    const call = await service.sendCommand(CP, 'ClearCache', {});
    await service.settleAnswer(CP, { kind: 'callResult', messageId: call.messageId, payload: { status: 'Accepted' } });
    await service.settleAnswer(CP, { kind: 'callResult', messageId: call.messageId, payload: { status: 'Rejected' } });
    await service.settleAnswer(CP, { kind: 'callResult', messageId: 'nobody-asked', payload: {} });
    expect(pending(call.messageId)).toMatchObject({ state: 'accepted', result: { status: 'Accepted' } });
    expect(ports.log.entries).toEqual([
      { level: 'warn', message: 'answer to an unknown call dropped', extra: { chargePointId: CP, messageId: call.messageId } },
      { level: 'warn', message: 'answer to an unknown call dropped', extra: { chargePointId: CP, messageId: 'nobody-asked' } },
    ]);
  });
});
