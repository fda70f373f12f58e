/**
 * OCPP-J (OCPP 1.6 JSON over WebSocket) message framing.
 * CALL `[2, id, action, payload]`, CALLRESULT `[3, id, payload]`, CALLERROR `[4, id, code, description, details]`.
 */

/** CALLERROR codes defined by OCPP-J 1.6 (section 4.2.3; the spec spells "Occurence" so). */
export type OcppErrorCode =
  | 'NotImplemented'
  | 'NotSupported'
  | 'InternalError'
  | 'ProtocolError'
  | 'SecurityError'
  | 'FormationViolation'
  | 'PropertyConstraintViolation'
  | 'OccurenceConstraintViolation'
  | 'TypeConstraintViolation'
  | 'GenericError';

export const MESSAGE_TYPE = { CALL: 2, CALLRESULT: 3, CALLERROR: 4 } as const;

/** Longest message id OCPP-J allows (36 characters, room for a UUID). */
export const MAX_MESSAGE_ID_LENGTH = 36;

export type Frame =
  | { kind: 'call'; messageId: string; action: string; payload: Record<string, unknown> }
  | { kind: 'callResult'; messageId: string; payload: Record<string, unknown> }
  | { kind: 'callError'; messageId: string; errorCode: string; errorDescription: string; errorDetails: Record<string, unknown> }
  /** A frame that cannot be processed; `messageId` is null when none could be recovered. */
  | { kind: 'invalid'; messageId: string | null; errorCode: OcppErrorCode; description: string; replyable: boolean };

/** Thrown by action handlers to answer a CALL with a CALLERROR. */
export class OcppCallError extends Error {
  constructor(
    readonly errorCode: OcppErrorCode,
    description: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(description);
    this.name = 'OcppCallError';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses one text frame. Never throws: anything unusable comes back as `invalid` with the CALLERROR
 * code to answer and whether an answer is possible (a CALLERROR needs the CALL's message id; a broken
 * CALLRESULT/CALLERROR is dropped, because OCPP-J never answers a response).
 */
export function parseFrame(text: string): Frame {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { kind: 'invalid', messageId: recoverMessageId(text), errorCode: 'FormationViolation', description: 'frame is not valid JSON', replyable: true };
  }
  if (!Array.isArray(message) || message.length < 3) {
    return { kind: 'invalid', messageId: null, errorCode: 'FormationViolation', description: 'frame must be a JSON array [messageTypeId, messageId, ...]', replyable: true };
  }
  const [type, messageId] = message;
  if (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > MAX_MESSAGE_ID_LENGTH) {
    return { kind: 'invalid', messageId: null, errorCode: 'FormationViolation', description: `messageId must be a non-empty string of at most ${MAX_MESSAGE_ID_LENGTH} characters`, replyable: true };
  }
  switch (type) {
    case MESSAGE_TYPE.CALL: {
      const [, , action, payload] = message;
      if (message.length !== 4 || typeof action !== 'string' || action.length === 0) {
        return { kind: 'invalid', messageId, errorCode: 'FormationViolation', description: 'CALL must be [2, messageId, action, payload]', replyable: true };
      }
      if (!isPlainObject(payload)) {
        return { kind: 'invalid', messageId, errorCode: 'FormationViolation', description: 'CALL payload must be a JSON object', replyable: true };
      }
      return { kind: 'call', messageId, action, payload };
    }
    case MESSAGE_TYPE.CALLRESULT: {
      const [, , payload] = message;
      if (message.length !== 3 || !isPlainObject(payload)) {
        return { kind: 'invalid', messageId, errorCode: 'FormationViolation', description: 'CALLRESULT must be [3, messageId, payload]', replyable: false };
      }
      return { kind: 'callResult', messageId, payload };
    }
    case MESSAGE_TYPE.CALLERROR: {
      const [, , errorCode, errorDescription, errorDetails] = message;
      if (message.length !== 5 || typeof errorCode !== 'string' || typeof errorDescription !== 'string' || !isPlainObject(errorDetails)) {
        return { kind: 'invalid', messageId, errorCode: 'FormationViolation', description: 'CALLERROR must be [4, messageId, errorCode, errorDescription, errorDetails]', replyable: false };
      }
      return { kind: 'callError', messageId, errorCode, errorDescription, errorDetails };
    }
    default:
      return { kind: 'invalid', messageId, errorCode: 'FormationViolation', description: `unknown messageTypeId ${JSON.stringify(type)}`, replyable: true };
  }
}

/** Best effort: the message id of a frame that is not valid JSON, so the CALLERROR can refer to it. */
function recoverMessageId(text: string): string | null {
  const match = /^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"/.exec(text);
  return match?.[1] ?? null;
}

/**
 * Message id used in a CALLERROR answering a frame whose own id could not be read. OCPP 1.6 is
 * silent here; OCPP 2.0.1 prescribes "-1" for the same case and charge points understand it.
 */
export const UNKNOWN_MESSAGE_ID = '-1';

export function callFrame(messageId: string, action: string, payload: unknown): string {
  return JSON.stringify([MESSAGE_TYPE.CALL, messageId, action, payload]);
}

export function callResultFrame(messageId: string, payload: unknown): string {
  return JSON.stringify([MESSAGE_TYPE.CALLRESULT, messageId, payload]);
}

/** OCPP-J limits the description; keep it short and free of internals. */
export function callErrorFrame(messageId: string, code: OcppErrorCode, description: string, details: Record<string, unknown> = {}): string {
  return JSON.stringify([MESSAGE_TYPE.CALLERROR, messageId, code, description.slice(0, 255), details]);
}
