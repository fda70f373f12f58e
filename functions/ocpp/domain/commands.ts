import { randomUUID } from 'node:crypto';
import { ChargePointOfflineError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { callFrame, type Frame } from './framing.ts';
import type { PendingCall } from './model.ts';
import type { Ocpp16CentralSystemAction } from './ocpp16-messages.generated.ts';
import type { OcppPorts } from './ports.ts';
import { validateRequest, validateResponse } from './validation.ts';

/** Actions the central system may send to a charge point through the command path. */
export const COMMAND_ACTIONS = [
  'RemoteStopTransaction',
  'RemoteStartTransaction',
  'ChangeAvailability',
  'TriggerMessage',
  'Reset',
  'UnlockConnector',
  'GetConfiguration',
  'ChangeConfiguration',
  'ClearCache',
  'DataTransfer',
] as const satisfies readonly Ocpp16CentralSystemAction[];
export type CommandAction = (typeof COMMAND_ACTIONS)[number];

/** A charge point's answer to a CALL we sent: its CALLRESULT or CALLERROR. */
export type CallAnswer = Extract<Frame, { kind: 'callResult' | 'callError' }>;

/** Commands to charge points: each CALL is recorded as pending before it is sent, and settled by the answer. */
export function createCommands({ registry, connections, clock, log }: Pick<OcppPorts, 'registry' | 'connections' | 'clock' | 'log'>) {
  return {
    /**
     * Sends a CALL to a charge point and records it as pending; the answer settles it later.
     * Throws ChargePointOfflineError when the charge point is not connected.
     */
    async sendCommand(chargePointId: string, action: CommandAction, payload: Record<string, unknown>): Promise<PendingCall> {
      if (!(COMMAND_ACTIONS as readonly string[]).includes(action)) {
        throw new ValidationError(`action must be one of ${COMMAND_ACTIONS.join(', ')}`, 'action');
      }
      const valid = validateRequest(action, payload);
      if (!valid.ok) throw new ValidationError(`payload.${valid.path}: ${valid.description}`, `payload.${valid.path}`);
      const chargePoint = await registry.getChargePoint(chargePointId);
      if (!chargePoint) throw new NotFoundError(`charge point ${chargePointId} does not exist`);
      if (!chargePoint.connectionId) throw new ChargePointOfflineError(`charge point ${chargePointId} is not connected`);
      const call: PendingCall = {
        chargePointId,
        messageId: randomUUID(),
        action,
        payload,
        state: 'pending',
        createdAt: clock.now().toISOString(),
      };
      await registry.putPendingCall(call);
      try {
        await connections.send(chargePoint.connectionId, callFrame(call.messageId, action, payload));
      } catch (error) {
        const offline = error instanceof ChargePointOfflineError;
        await registry.settlePendingCall(chargePointId, call.messageId, {
          state: 'error',
          error: { code: offline ? 'Offline' : 'SendFailed', description: String((error as Error).message), details: {} },
          answeredAt: clock.now().toISOString(),
        });
        throw error;
      }
      return call;
    },

    /** Settles the pending call an answer refers to: accepted when the result fits the action's schema, error otherwise. */
    async settleAnswer(chargePointId: string, answer: CallAnswer): Promise<void> {
      const pending = await registry.getPendingCall(chargePointId, answer.messageId);
      if (pending?.state !== 'pending') {
        // OCPP-J: an answer to no outstanding call is dropped, never answered.
        log.warn('answer to an unknown call dropped', { chargePointId, messageId: answer.messageId });
        return;
      }
      const answeredAt = clock.now().toISOString();
      if (answer.kind === 'callError') {
        await registry.settlePendingCall(chargePointId, answer.messageId, {
          state: 'error',
          error: { code: answer.errorCode, description: answer.errorDescription, details: answer.errorDetails },
          answeredAt,
        });
        return;
      }
      const valid = validateResponse(pending.action, answer.payload);
      await registry.settlePendingCall(
        chargePointId,
        answer.messageId,
        valid.ok
          ? { state: 'accepted', result: answer.payload, answeredAt }
          : { state: 'error', error: { code: valid.errorCode, description: `invalid ${pending.action}.conf: ${valid.description}`, details: { result: answer.payload } }, answeredAt },
      );
    },
  };
}
