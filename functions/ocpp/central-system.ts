import { createChargePointService, type ActionHandler, type HandledAction } from './domain/charge-point-service.ts';
import type { CentralSystemConfig } from './domain/config.ts';
import { callErrorFrame, callResultFrame, OcppCallError, parseFrame, type OcppErrorCode, UNKNOWN_MESSAGE_ID } from './domain/framing.ts';
import type { Ocpp16ChargePointMessages } from './domain/ocpp16-messages.generated.ts';
import type { OcppPorts } from './domain/ports.ts';
import { salvageSampledValues } from './domain/sampled-values.ts';
import { isKnownAction, validateRequest } from './domain/validation.ts';

export type { CentralSystemConfig } from './domain/config.ts';
export { COMMAND_ACTIONS, type CommandAction } from './domain/commands.ts';

export interface CentralSystemDeps extends OcppPorts {
  config: CentralSystemConfig;
  /** Told of every answer to a charge point's CALL (metrics); must not throw or block. */
  observer?: CallObserver;
}

/**
 * Sees each CALL the central system answers: its action (undefined for a frame too malformed to
 * have one) and, for a CALLERROR, its error code. The OCPP message Lambda counts CALLERRORs and
 * times Authorize with it.
 */
export interface CallObserver {
  answered(action: string | undefined, errorCode: string | undefined): void;
}

/** What `$connect` decided: accept with the subprotocol header, or refuse with an HTTP status. */
export interface ConnectDecision {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

const OCPP_SUBPROTOCOL = 'ocpp1.6';

/**
 * The OCPP 1.6J central system over WebSocket: negotiates the subprotocol at `$connect`, parses
 * each frame, validates a CALL against its action's schema, dispatches it to the action's handler
 * in domain/ (charge-point-service.ts) and maps what comes back to a CALLRESULT or CALLERROR;
 * answers to the calls we sent go to the domain to settle. The rules (authentication, the session
 * lifecycle, completion, commands) are the domain's.
 */
export function createCentralSystem(deps: CentralSystemDeps) {
  const { log, observer } = deps;
  const service = createChargePointService(deps, deps.config);

  /** Own keys only: "__proto__" or "toString" is no action of ours. */
  const isHandled = (action: string): action is HandledAction => Object.hasOwn(service.handlers, action);

  /** Runs the action's handler; the map's type ties the request and the response to `action`. */
  function handle<A extends HandledAction>(action: A, chargePointId: string, request: Ocpp16ChargePointMessages[A]['request'], messageId: string): Promise<Ocpp16ChargePointMessages[A]['response']> {
    const handler: ActionHandler<A> = service.handlers[action];
    return handler(chargePointId, request, messageId);
  }

  /** The answer frame to a CALL, and its error code when it is a CALLERROR. */
  async function answerCall(chargePointId: string, messageId: string, action: string, payload: Record<string, unknown>): Promise<{ frame: string; errorCode?: OcppErrorCode }> {
    const error = (errorCode: OcppErrorCode, description: string, details?: Record<string, unknown>) => ({ frame: callErrorFrame(messageId, errorCode, description, details), errorCode });
    if (!isHandled(action)) {
      return isKnownAction(action) ? error('NotSupported', `${action} is not supported by this central system`) : error('NotImplemented', `unknown action ${action}`);
    }
    const valid = validateRequest(action, payload);
    if (!valid.ok) {
      // MeterValues and StopTransaction only: drop the sampled values that break the schema, keep the rest (docs/meters.md).
      const salvaged = salvageSampledValues(action, payload);
      if (!salvaged) return error(valid.errorCode, valid.description, { path: valid.path });
      log.warn('sampled values that break the OCPP schema were dropped; the rest of the frame was kept', { chargePointId, action, messageId, dropped: salvaged.dropped.map((d) => d.description) });
      // As JSON text: a value that breaks the schema may be one DynamoDB cannot store (a number beyond
      // its range such as 1e-300, nesting deeper than 32 levels), and failing here would leave the CALL unanswered.
      const dropped = salvaged.dropped.map((d) => ({ path: d.path, description: d.description, sampledValue: JSON.stringify(d.sampledValue) }));
      await deps.registry.recordNotification(chargePointId, `${action}.schemaDeviation`, { dropped, payload: JSON.stringify(payload) }, deps.clock.now().toISOString(), messageId);
      payload = salvaged.payload;
    }
    // The action's own schema accepted the payload: it is that action's request.
    const request = payload as Ocpp16ChargePointMessages[typeof action]['request'];
    try {
      const response = await handle(action, chargePointId, request, messageId);
      return { frame: callResultFrame(messageId, response) };
    } catch (caught) {
      if (caught instanceof OcppCallError) return error(caught.errorCode, caught.message, caught.details);
      // Nothing was acknowledged: the charge point retries transaction messages on a CALLERROR.
      log.error('OCPP call failed', { chargePointId, action, messageId, error: caught });
      return error('InternalError', 'the central system could not process this message; retry later');
    }
  }

  return {
    /** `$connect`: identity from the query parameter, Basic auth, subprotocol negotiation. */
    async connect(input: {
      connectionId: string;
      chargePointId: string | undefined;
      authorization: string | undefined;
      subprotocols: string | undefined;
      /** When API Gateway accepted the connection; the clock's now when the event carries none. */
      connectedAt?: string;
    }): Promise<ConnectDecision> {
      const offered = (input.subprotocols ?? '').split(',').map((p) => p.trim().toLowerCase());
      if (!offered.includes(OCPP_SUBPROTOCOL)) {
        return { statusCode: 400, body: `this endpoint speaks ${OCPP_SUBPROTOCOL}; offer it in Sec-WebSocket-Protocol` };
      }
      if ((await service.authenticate(input)) === 'refused') {
        // One answer for every refusal (a wrong password, a locked-out or unknown identity): a guesser learns nothing.
        return { statusCode: 401, headers: { 'WWW-Authenticate': 'Basic realm="VoltLedger OCPP", charset="UTF-8"' } };
      }
      return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': OCPP_SUBPROTOCOL } };
    },

    disconnect: service.disconnect,

    /**
     * `$default`: one frame in, at most one frame out (the route response). A bad frame gets the
     * right CALLERROR and writes nothing; an answer to a call we sent settles that call.
     */
    async message(connectionId: string, body: string): Promise<string | undefined> {
      const chargePointId = await service.chargePointFor(connectionId);
      if (chargePointId === undefined) {
        log.warn('message on an unknown connection dropped', { connectionId });
        return undefined;
      }
      const frame = parseFrame(body);
      switch (frame.kind) {
        case 'call': {
          const answer = await answerCall(chargePointId, frame.messageId, frame.action, frame.payload);
          observer?.answered(frame.action, answer.errorCode);
          return answer.frame;
        }
        case 'callResult':
        case 'callError':
          await service.settleAnswer(chargePointId, frame);
          return undefined;
        case 'invalid':
          if (!frame.replyable) {
            log.warn('malformed answer frame dropped', { chargePointId, description: frame.description });
            return undefined;
          }
          observer?.answered(undefined, frame.errorCode);
          return callErrorFrame(frame.messageId ?? UNKNOWN_MESSAGE_ID, frame.errorCode, frame.description);
      }
    },

    /**
     * Sends a CALL to a charge point and records it as pending; the answer settles it later.
     * Throws ChargePointOfflineError when the charge point is not connected.
     */
    sendCommand: service.sendCommand,

    /**
     * Completes stopped sessions whose connector has not reported Available within the idle limit
     * of the stop being recorded. Billing ends at the charge point's stop time + the limit.
     */
    completeIdleSessions: service.completeIdleSessions,

    /**
     * Closes started sessions with no StopTransaction and no meter reading for SESSION_MAX_OPEN_HOURS:
     * stopped from their last reading, flagged `closed-without-stop`, completed (docs/sessions.md).
     */
    closeStaleSessions: service.closeStaleSessions,
  };
}

export type CentralSystem = ReturnType<typeof createCentralSystem>;
