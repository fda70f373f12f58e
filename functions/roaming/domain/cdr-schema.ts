import { Ajv, type ErrorObject } from 'ajv';
import schema from '../schema/cdr-2.2.1.schema.json' with { type: 'json' };

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const validate = ajv.compile(schema);

/** The OCPI 2.2.1 CDR JSON schema (written from mod_cdrs; functions/roaming/schema/cdr-2.2.1.schema.json). */
export const CDR_SCHEMA = schema;

/** Where a CDR breaks the OCPI 2.2.1 CDR schema, one line per problem (`/cdr_location/country: must match pattern ...`). */
export function cdrSchemaErrors(cdr: unknown): string[] {
  if (validate(cdr)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}
