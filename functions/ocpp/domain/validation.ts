import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { OcppErrorCode } from './framing.ts';
import { OCPP16_SCHEMAS } from './ocpp16-schemas.generated.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv, formats: string[]) => Ajv;

/**
 * Validation against the OCPP 1.6 JSON schemas kept in functions/ocpp/schema/ocpp1.6/ (where they
 * come from: the README there; the generator normalises them for ajv into
 * ocpp16-schemas.generated.ts). Each action's schema compiles on its first use, to keep cold starts
 * short. `validateSchema: false`: checking the schemas against the JSON Schema meta-schema first
 * costs a cold start about 100 ms (compiling the meta-schema itself), and these schemas never
 * change at run time; test/unit/ocpp/generated-messages.test.ts checks each one against it instead.
 */
const ajv = new Ajv({ allErrors: false, strictSchema: false, validateSchema: false });
addFormats(ajv, ['date-time', 'uri']);

const validators = new Map<string, ValidateFunction>();

function validatorFor(schemaId: string): ValidateFunction | null {
  let validate = validators.get(schemaId);
  if (validate === undefined) {
    // Own keys only: an action named "__proto__" or "constructor" has no schema.
    if (!Object.hasOwn(OCPP16_SCHEMAS, schemaId)) return null;
    validate = ajv.compile(OCPP16_SCHEMAS[schemaId]!);
    validators.set(schemaId, validate);
  }
  return validate;
}

/** True when OCPP 1.6 defines `action` (in the given direction's request schema). */
export function isKnownAction(action: string): boolean {
  return Object.hasOwn(OCPP16_SCHEMAS, `${action}.req`);
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

/** Field names echoed in a CALLERROR are cut here, so an answer stays far below API Gateway's 128 KB frame limit. */
const MAX_ECHOED_NAME = 64;
const echoed = (name: string) => (name.length > MAX_ECHOED_NAME ? `${name.slice(0, MAX_ECHOED_NAME)}…` : name);

/**
 * The path of the first number that no integer field can hold exactly (beyond 2^53 - 1): the
 * schemas say "integer", but such a value cannot be stored or compared, so it is refused as out
 * of range rather than failing later as an internal error the charge point would retry forever.
 */
function unsafeIntegerPath(value: unknown, path: string): string | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) ? path || '(payload)' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = unsafeIntegerPath(child, path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return undefined;
}

function describe(error: ErrorObject): { path: string; description: string } {
  const base = error.instancePath === '' ? '' : error.instancePath.slice(1).replaceAll('/', '.');
  if (error.keyword === 'required') {
    const missing = (error.params as { missingProperty: string }).missingProperty;
    const path = base ? `${base}.${missing}` : missing;
    return { path, description: `${path} is required` };
  }
  if (error.keyword === 'additionalProperties') {
    const extra = echoed((error.params as { additionalProperty: string }).additionalProperty);
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
  if (validateFn(payload)) {
    const unsafe = unsafeIntegerPath(payload, '');
    if (unsafe) return { ok: false, errorCode: 'PropertyConstraintViolation', description: `${unsafe} is beyond the largest integer VoltLedger can store exactly (2^53 - 1)`, path: unsafe };
    return { ok: true };
  }
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
