import { describe, expect, it } from 'vitest';
import { createCentralSystem, type CallObserver } from '../../../functions/ocpp/central-system.ts';
import { hashPassword } from '../../../functions/ocpp/domain/passwords.ts';
import { inMemoryPorts } from './support/in-memory-ports.ts';

/**
 * The central system as the thin protocol adapter over the domain: frames in, the schema check,
 * dispatch to the action's handler, CALLRESULT or CALLERROR out; `$connect`'s HTTP answers.
 */

const CP = 'CP-1';

function setup() {
  const ports = inMemoryPorts('2026-11-23T10:00:00.000Z');
  ports.registry.addChargePoint({ chargePointId: CP });
  ports.registry.connections.set('conn-1', CP);
  const answered: Array<[string | undefined, string | undefined]> = [];
  const observer: CallObserver = { answered: (action, errorCode) => void answered.push([action, errorCode]) };
  const system = createCentralSystem({ ...ports, config: { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: 3600 }, observer });
  const send = async (frame: unknown) => {
    const reply = await system.message('conn-1', typeof frame === 'string' ? frame : JSON.stringify(frame));
    return reply === undefined ? undefined : JSON.parse(reply);
  };
  return { ports, system, send, answered };
}

describe('central system dispatch', () => {
  it("answers a valid CALL with the handler's CALLRESULT", async () => {
    const { send, answered } = setup();
    expect(await send([2, 'm1', 'Heartbeat', {}])).toEqual([3, 'm1', { currentTime: '2026-11-23T10:00:00.000Z' }]);
    expect(answered).toEqual([['Heartbeat', undefined]]);
  });

  it('answers an OCPP 1.6 action it does not handle NotSupported, and an unknown one NotImplemented', async () => {
    const { send, answered } = setup();
    expect(await send([2, 'm1', 'SecurityEventNotification', { type: 'x', timestamp: '2026-11-23T10:00:00Z' }])).toEqual([4, 'm1', 'NotSupported', 'SecurityEventNotification is not supported by this central system', {}]);
    expect(await send([2, 'm2', 'toString', {}])).toEqual([4, 'm2', 'NotImplemented', 'unknown action toString', {}]);
    expect(answered).toEqual([
      ['SecurityEventNotification', 'NotSupported'],
      ['toString', 'NotImplemented'],
    ]);
  });

  it("answers a payload the action's schema refuses with the CALLERROR for the violation, and runs no handler", async () => {
    const { ports, send } = setup();
    expect(await send([2, 'm1', 'BootNotification', { chargePointVendor: 'Acme' }])).toEqual([4, 'm1', 'OccurenceConstraintViolation', 'chargePointModel is required', { path: 'chargePointModel' }]);
    expect(ports.registry.chargePoints.get(CP)!.boot).toBeUndefined();
  });

  it("maps a domain refusal (OcppCallError) to its CALLERROR, and any other failure to InternalError, logged", async () => {
    const { ports, send } = setup();
    expect(await send([2, 'm1', 'StartTransaction', { connectorId: 0, idTag: 'RFID-1', meterStart: 0, timestamp: '2026-11-23T10:00:00Z' }])).toEqual([4, 'm1', 'PropertyConstraintViolation', 'connectorId must be 1 or more for a transaction', {}]);
    ports.registry.recordHeartbeat = async () => {
      throw new Error('throttled');
    };
    expect(await send([2, 'm2', 'Heartbeat', {}])).toEqual([4, 'm2', 'InternalError', 'the central system could not process this message; retry later', {}]);
    expect(ports.log.entries.filter((e) => e.level === 'error').map((e) => e.message)).toEqual(['OCPP call failed']);
  });

  it('answers a malformed CALL FormationViolation, drops a malformed answer, and settles a CALLRESULT to a pending call', async () => {
    const { ports, system, send } = setup();
    expect(await send('[2, "m1", "Heartbeat"')).toEqual([4, 'm1', 'FormationViolation', 'frame is not valid JSON', {}]);
    expect(await send([3, 'm2'])).toEqual([4, '-1', 'FormationViolation', 'frame must be a JSON array [messageTypeId, messageId, ...]', {}]);
    expect(await send([3, 'm3', 'not an object'])).toBeUndefined();
    ports.registry.chargePoints.get(CP)!.connectionId = 'conn-1';
    const call = await system.sendCommand(CP, 'ClearCache', {});
    expect(await send([3, call.messageId, { status: 'Accepted' }])).toBeUndefined();
    expect(ports.registry.calls.get(`${CP}#${call.messageId}`)).toMatchObject({ state: 'accepted' });
  });

  it('drops a message on a connection it does not know', async () => {
    const { ports, system } = setup();
    expect(await system.message('conn-unknown', JSON.stringify([2, 'm1', 'Heartbeat', {}]))).toBeUndefined();
    expect(ports.registry.heartbeats).toEqual([]);
  });
});

describe('central system $connect', () => {
  it('refuses a connection that does not offer ocpp1.6 (400), a refused identity (401), and accepts with the subprotocol header', async () => {
    const { ports, system } = setup();
    ports.registry.chargePoints.get(CP)!.passwordHash = await hashPassword('secret');
    const authorization = `Basic ${Buffer.from(`${CP}:secret`).toString('base64')}`;
    expect(await system.connect({ connectionId: 'c1', chargePointId: CP, authorization, subprotocols: 'ocpp2.0.1' })).toEqual({ statusCode: 400, body: 'this endpoint speaks ocpp1.6; offer it in Sec-WebSocket-Protocol' });
    expect(await system.connect({ connectionId: 'c2', chargePointId: CP, authorization: 'Basic eDp5', subprotocols: 'ocpp1.6' })).toEqual({
      statusCode: 401,
      headers: { 'WWW-Authenticate': 'Basic realm="VoltLedger OCPP", charset="UTF-8"' },
    });
    expect(await system.connect({ connectionId: 'c3', chargePointId: CP, authorization, subprotocols: 'ocpp2.0.1, OCPP1.6' })).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'ocpp1.6' } });
    expect(ports.registry.connections.get('c3')).toBe(CP);
  });
});
