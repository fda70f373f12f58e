import type { CentralSystem } from '../ocpp/central-system.ts';
import { ChargePointOfflineError, NotFoundError } from '../shared/errors.ts';
import type { SessionStopper } from './domain/ports.ts';

/**
 * RemoteStopTransaction / RemoteStartTransaction through the central system's command path (the
 * call is stored as pending and the charge point's answer settles it, visible in the admin API).
 * An offline or unknown charge point is an answer (`sent: false`), not a failure to retry.
 */
export function commandPathStopper(system: Pick<CentralSystem, 'sendCommand'>): SessionStopper {
  async function send(chargePointId: string, action: 'RemoteStopTransaction' | 'RemoteStartTransaction', payload: Record<string, unknown>) {
    try {
      const call = await system.sendCommand(chargePointId, action, payload);
      return { sent: true, messageId: call.messageId };
    } catch (error) {
      if (error instanceof ChargePointOfflineError || error instanceof NotFoundError) return { sent: false, error: error.message };
      throw error;
    }
  }
  return {
    stop: (chargePointId, transactionId) => send(chargePointId, 'RemoteStopTransaction', { transactionId }),
    start: (chargePointId, connectorId, idTag) => send(chargePointId, 'RemoteStartTransaction', { connectorId, idTag }),
  };
}
