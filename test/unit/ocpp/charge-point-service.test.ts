import { describe, expect, it } from 'vitest';
import { createChargePointService } from '../../../functions/ocpp/domain/charge-point-service.ts';
import { inMemoryPorts } from './support/in-memory-ports.ts';

/** BootNotification, Heartbeat, StatusNotification and the notifications, through in-memory ports. */

const CP = 'CP-1';
const CONFIG = { heartbeatIntervalSeconds: 300, idleCompletionLimitSeconds: 3600 };

function setup() {
  const ports = inMemoryPorts('2026-11-23T10:00:00.000Z');
  ports.registry.addChargePoint({ chargePointId: CP });
  return { ports, service: createChargePointService(ports, CONFIG) };
}

describe('the actions a charge point answers', () => {
  it('are the OCPP 1.6 core and firmware management actions it sends', () => {
    const { service } = setup();
    expect(Object.keys(service.handlers).sort()).toEqual([
      'Authorize',
      'BootNotification',
      'DataTransfer',
      'DiagnosticsStatusNotification',
      'FirmwareStatusNotification',
      'Heartbeat',
      'MeterValues',
      'StartTransaction',
      'StatusNotification',
      'StopTransaction',
    ]);
  });
});

describe('BootNotification', () => {
  it('is accepted with the server time and the heartbeat interval, and the boot is stored on the charge point', async () => {
    const { ports, service } = setup();
    const reply = await service.handlers.BootNotification(CP, { chargePointVendor: 'Acme', chargePointModel: 'AC22', chargePointSerialNumber: 'SN-1', firmwareVersion: '1.2.3' }, 'm1');
    expect(reply).toEqual({ status: 'Accepted', currentTime: '2026-11-23T10:00:00.000Z', interval: 300 });
    expect(ports.registry.chargePoints.get(CP)!.boot).toEqual({ vendor: 'Acme', model: 'AC22', serialNumber: 'SN-1', firmwareVersion: '1.2.3', bootedAt: '2026-11-23T10:00:00.000Z' });
    expect(ports.events.published).toEqual([]);
  });

  it('leaves out the optional fields the charge point did not send', async () => {
    const { ports, service } = setup();
    await service.handlers.BootNotification(CP, { chargePointVendor: 'Acme', chargePointModel: 'AC22' }, 'm1');
    expect(ports.registry.chargePoints.get(CP)!.boot).toEqual({ vendor: 'Acme', model: 'AC22', bootedAt: '2026-11-23T10:00:00.000Z' });
  });

  it('is not answered when the boot cannot be stored (no charge point of that identity): no Accepted without the record', async () => {
    const { service } = setup();
    await expect(service.handlers.BootNotification('CP-UNKNOWN', { chargePointVendor: 'Acme', chargePointModel: 'AC22' }, 'm1')).rejects.toThrow(/no charge point/);
  });
});

describe('Heartbeat', () => {
  it('answers the server time and records the heartbeat', async () => {
    const { ports, service } = setup();
    ports.clock.set('2026-11-23T10:05:00.000Z');
    expect(await service.handlers.Heartbeat(CP, {}, 'm1')).toEqual({ currentTime: '2026-11-23T10:05:00.000Z' });
    expect(ports.registry.heartbeats).toEqual([{ chargePointId: CP, at: '2026-11-23T10:05:00.000Z' }]);
  });
});

describe('StatusNotification', () => {
  it('stores the status with its own timestamp, normalized to UTC, and when it was received', async () => {
    const { ports, service } = setup();
    const reply = await service.handlers.StatusNotification(CP, { connectorId: 1, status: 'Faulted', errorCode: 'GroundFailure', info: 'rcd', vendorErrorCode: 'E12', timestamp: '2026-11-23T10:59:00+01:00' }, 'm1');
    expect(reply).toEqual({});
    expect(ports.registry.statuses).toEqual([
      { chargePointId: CP, connectorId: 1, status: 'Faulted', errorCode: 'GroundFailure', info: 'rcd', vendorErrorCode: 'E12', timestamp: '2026-11-23T09:59:00.000Z', receivedAt: '2026-11-23T10:00:00.000Z' },
    ]);
  });

  it('takes the server clock as the timestamp when the charge point sends none', async () => {
    const { ports, service } = setup();
    await service.handlers.StatusNotification(CP, { connectorId: 0, status: 'Available', errorCode: 'NoError' }, 'm1');
    expect(ports.registry.statuses[0]).toMatchObject({ connectorId: 0, timestamp: '2026-11-23T10:00:00.000Z' });
  });
});

describe('DataTransfer and the firmware management notifications', () => {
  it('DataTransfer is kept and answered UnknownVendorId (no vendor extension is handled)', async () => {
    const { ports, service } = setup();
    expect(await service.handlers.DataTransfer(CP, { vendorId: 'com.acme', messageId: 'x', data: '42' }, 'm7')).toEqual({ status: 'UnknownVendorId' });
    expect(ports.registry.notifications).toEqual([{ chargePointId: CP, kind: 'DataTransfer', payload: { vendorId: 'com.acme', messageId: 'x', data: '42' }, receivedAt: '2026-11-23T10:00:00.000Z', messageId: 'm7' }]);
  });

  it('FirmwareStatusNotification and DiagnosticsStatusNotification are kept and answered empty', async () => {
    const { ports, service } = setup();
    expect(await service.handlers.FirmwareStatusNotification(CP, { status: 'Installed' }, 'm1')).toEqual({});
    expect(await service.handlers.DiagnosticsStatusNotification(CP, { status: 'Uploaded' }, 'm2')).toEqual({});
    expect(ports.registry.notifications.map((n) => [n.kind, n.payload, n.messageId])).toEqual([
      ['FirmwareStatusNotification', { status: 'Installed' }, 'm1'],
      ['DiagnosticsStatusNotification', { status: 'Uploaded' }, 'm2'],
    ]);
  });
});
