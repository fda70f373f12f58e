import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import schemas from 'ocpp-rpc/lib/schemas/ocpp1_6.json' with { type: 'json' };
import type { OcppErrorCode } from './framing.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv, formats: string[]) => Ajv;

/**
 * Validation against the official OCPP 1.6 JSON schemas (as shipped by ocpp-rpc, which charge
 * points' own stacks use in strict mode). Schemas compile lazily, on first use of each action, to
 * keep cold starts short.
 */
const ajv = new Ajv({ allErrors: false, strictSchema: false });
addFormats(ajv, ['date-time', 'uri']);
// The schemas' ids are URNs without a namespace id ("urn:Authorize.req"), which current URI
// libraries refuse to serialise; they only use local `#/definitions` refs, so register each one
// under its name ("Authorize.req") as a plain key instead.
for (const { $id, ...schema } of schemas as Array<{ $id: string } & Record<string, unknown>>) {
  ajv.addSchema(schema, $id.replace(/^urn:/, ''));
}

const validators = new Map<string, ValidateFunction | null>();

function validatorFor(schemaId: string): ValidateFunction | null {
  let validate = validators.get(schemaId);
  if (validate === undefined) {
    validate = ajv.getSchema(schemaId) ?? null;
    validators.set(schemaId, validate);
  }
  return validate;
}

/** True when OCPP 1.6 defines `action` (in the given direction's request schema). */
export function isKnownAction(action: string): boolean {
  return validatorFor(`${action}.req`) !== null;
}

export type ValidationOutcome = { ok: true } | { ok: false; errorCode: OcppErrorCode; description: string; path: string };

/**
 * Maps the first schema violation to the OCPP-J 1.6 CALLERROR code:
 * - a missing required field: OccurenceConstraintViolation;
 * - a value of the wrong JSON type: TypeConstraintViolation;
 * - a value of the right type outside what the field allows (length, enum, format, range):
 *   PropertyConstraintViolation;
 * - a field the PDU does not have: FormationViolation (the payload does not conform to the PDU).
 */
function errorCodeFor(error: ErrorObject): OcppErrorCode {
  switch (error.keyword) {
    case 'required':
    case 'minItems':
    case 'maxItems':
      return 'OccurenceConstraintViolation';
    case 'type':
      return 'TypeConstraintViolation';
    case 'additionalProperties':
      return 'FormationViolation';
    default:
      return 'PropertyConstraintViolation';
  }
}

function describe(error: ErrorObject): { path: string; description: string } {
  const base = error.instancePath === '' ? '' : error.instancePath.slice(1).replaceAll('/', '.');
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    const path = base ? `${base}.${missing}` : missing;
    return { path, description: `${path} is required` };
  }
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    const path = base ? `${base}.${extra}` : extra;
    return { path, description: `${path} is not a field of this message` };
  }
  const path = base || '(payload)';
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
    return { path, description: `${path} must be one of ${allowed.join(', ')}` };
  }
  return { path, description: `${path} ${error.message ?? 'is invalid'}` };
}

function validate(schemaId: string, payload: unknown): ValidationOutcome {
  const validateFn = validatorFor(schemaId);
  if (!validateFn) {
    return { ok: false, errorCode: 'NotImplemented', description: `no schema ${schemaId}`, path: '' };
  }
  if (validateFn(payload)) return { ok: true };
  const first = validateFn.errors?.[0];
  if (!first) return { ok: false, errorCode: 'FormationViolation', description: 'payload is invalid', path: '' };
  return { ok: false, errorCode: errorCodeFor(first), ...describe(first) };
}

/** Validates a request (`<Action>.req`) payload. */
export function validateRequest(action: string, payload: unknown): ValidationOutcome {
  return validate(`${action}.req`, payload);
}

/** Validates a response (`<Action>.conf`) payload: what we send, and what charge points answer to our calls. */
export function validateResponse(action: string, payload: unknown): ValidationOutcome {
  return validate(`${action}.conf`, payload);
}
