import type { Completion } from './completion.ts';
import type { CentralSystemConfig } from './config.ts';
import { judgeStatusTime, measurementOf } from './clock-skew.ts';
import type {
  BootNotificationRequest,
  BootNotificationResponse,
  DataTransferRequest,
  DataTransferResponse,
  DiagnosticsStatusNotificationRequest,
  DiagnosticsStatusNotificationResponse,
  FirmwareStatusNotificationRequest,
  FirmwareStatusNotificationResponse,
  HeartbeatResponse,
  StatusNotificationRequest,
  StatusNotificationResponse,
} from './ocpp16-messages.generated.ts';
import type { OcppPorts } from './ports.ts';

/** What a charge point reports about itself: boots, heartbeats, connector status, notifications. */
export function createChargePointReports(
  { registry, clock }: Pick<OcppPorts, 'registry' | 'clock'>,
  config: Pick<CentralSystemConfig, 'heartbeatIntervalSeconds'>,
  completion: Pick<Completion, 'statusReported'>,
) {
  return {
    async BootNotification(chargePointId: string, req: BootNotificationRequest): Promise<BootNotificationResponse> {
      const now = clock.now().toISOString();
      await registry.recordBoot(chargePointId, {
        vendor: req.chargePointVendor,
        model: req.chargePointModel,
        ...(req.chargePointSerialNumber ? { serialNumber: req.chargePointSerialNumber } : {}),
        ...(req.firmwareVersion ? { firmwareVersion: req.firmwareVersion } : {}),
        bootedAt: now,
      });
      // Only known charge points get this far ($connect checked the identity and password).
      return { status: 'Accepted', currentTime: now, interval: config.heartbeatIntervalSeconds };
    },

    async Heartbeat(chargePointId: string): Promise<HeartbeatResponse> {
      const now = clock.now().toISOString();
      await registry.recordHeartbeat(chargePointId, now);
      return { currentTime: now };
    },

    async StatusNotification(chargePointId: string, req: StatusNotificationRequest): Promise<StatusNotificationResponse> {
      // The clock policy (docs/clocks.md): a future or pre-2010 status time becomes its receive time.
      const receivedAt = clock.now().toISOString();
      const { timestamp, judged, flags: clockFlags } = judgeStatusTime(req.timestamp, receivedAt);
      await registry.recordStatus({
        chargePointId,
        connectorId: req.connectorId,
        status: req.status,
        errorCode: req.errorCode,
        timestamp,
        ...(req.info ? { info: req.info } : {}),
        ...(req.vendorId ? { vendorId: req.vendorId } : {}),
        ...(req.vendorErrorCode ? { vendorErrorCode: req.vendorErrorCode } : {}),
        receivedAt,
        ...(clockFlags.length > 0 ? { reportedTimestamp: req.timestamp!, clockFlags } : {}),
      });
      if (judged) await registry.recordClock(chargePointId, measurementOf(judged, 'StatusNotification'));
      await completion.statusReported(chargePointId, req.connectorId, req.status, timestamp);
      return {};
    },

    async DataTransfer(chargePointId: string, req: DataTransferRequest, messageId: string): Promise<DataTransferResponse> {
      await registry.recordNotification(chargePointId, 'DataTransfer', req, clock.now().toISOString(), messageId);
      // No vendor extension is handled: OCPP's answer for that is UnknownVendorId.
      return { status: 'UnknownVendorId' };
    },

    async FirmwareStatusNotification(chargePointId: string, req: FirmwareStatusNotificationRequest, messageId: string): Promise<FirmwareStatusNotificationResponse> {
      await registry.recordNotification(chargePointId, 'FirmwareStatusNotification', req, clock.now().toISOString(), messageId);
      return {};
    },

    async DiagnosticsStatusNotification(chargePointId: string, req: DiagnosticsStatusNotificationRequest, messageId: string): Promise<DiagnosticsStatusNotificationResponse> {
      await registry.recordNotification(chargePointId, 'DiagnosticsStatusNotification', req, clock.now().toISOString(), messageId);
      return {};
    },
  };
}
