/**
 * Generates the OCPP 1.6 message types and the validator's schemas from the OCPP 1.6 JSON schemas
 * in functions/ocpp/schema/ocpp1.6/ (see the README there for where they come from):
 *
 *   functions/ocpp/domain/ocpp16-messages.generated.ts  one request and one response type per
 *                                                       action, and maps from action to both
 *   functions/ocpp/domain/ocpp16-schemas.generated.ts   the same schemas, ready for ajv (draft-07)
 *
 *   npm run generate:ocpp
 *
 * A hand-written generator rather than json-schema-to-typescript: the schemas use a handful of
 * keywords (objects with additionalProperties false, string enums, integers, arrays, local $refs),
 * and anything else makes this script fail rather than guess. test/unit/ocpp/generated-messages.test.ts
 * runs it in memory and fails when the committed files differ from its output.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_DIR = 'functions/ocpp/schema/ocpp1.6';
export const TYPES_FILE = 'functions/ocpp/domain/ocpp16-messages.generated.ts';
export const SCHEMAS_FILE = 'functions/ocpp/domain/ocpp16-schemas.generated.ts';

/**
 * Who sends each action's CALL (OCPP 1.6 edition 2, section 4 and 5, and the Security Whitepaper's
 * messages). DataTransfer goes both ways. A schema whose action is missing here fails the run.
 */
const CHARGE_POINT_ACTIONS = [
  'Authorize',
  'BootNotification',
  'DataTransfer',
  'DiagnosticsStatusNotification',
  'FirmwareStatusNotification',
  'Heartbeat',
  'LogStatusNotification',
  'MeterValues',
  'SecurityEventNotification',
  'SignCertificate',
  'SignedFirmwareStatusNotification',
  'StartTransaction',
  'StatusNotification',
  'StopTransaction',
];
const CENTRAL_SYSTEM_ACTIONS = [
  'CancelReservation',
  'CertificateSigned',
  'ChangeAvailability',
  'ChangeConfiguration',
  'ClearCache',
  'ClearChargingProfile',
  'DataTransfer',
  'DeleteCertificate',
  'ExtendedTriggerMessage',
  'GetCompositeSchedule',
  'GetConfiguration',
  'GetDiagnostics',
  'GetInstalledCertificateIds',
  'GetLocalListVersion',
  'GetLog',
  'InstallCertificate',
  'RemoteStartTransaction',
  'RemoteStopTransaction',
  'ReserveNow',
  'Reset',
  'SendLocalList',
  'SetChargingProfile',
  'SignedUpdateFirmware',
  'TriggerMessage',
  'UnlockConnector',
  'UpdateFirmware',
];

/**
 * Deliberate changes to the published schemas, applied to the normalised schemas (the files
 * themselves stay as published). Each one says why; the README beside the schemas lists them too.
 * None today: ocpp-rpc's copy already accepts "Celsius" in StopTransaction's transactionData.
 */
const PATCHES: Array<{ schemaId: string; why: string; apply: (schema: Schema) => void }> = [];

type Schema = Record<string, unknown>;

export interface OcppMessageSchema {
  action: string;
  kind: 'req' | 'conf';
  /** `<Action>.req` or `<Action>.conf`, the key validation uses. */
  schemaId: string;
  /** `<Action>Request` or `<Action>Response`. */
  typeName: string;
  file: string;
  /** The file as published (draft-04 or draft-06). */
  original: Schema;
  /** What ajv compiles: draft-07, no ids, no keywords that cannot apply (see normalise). */
  normalised: Schema;
}

/** Keywords the schemas use that this generator understands (anything else fails the run). */
const KNOWN_KEYWORDS = new Set([
  '$schema',
  'id',
  '$id',
  'title',
  'javaType',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'additionalItems',
  'items',
  'enum',
  'maxLength',
  'format',
  'multipleOf',
  'minItems',
  'maxItems',
  'definitions',
  '$ref',
]);

/**
 * OCA's files to what ajv 8 compiles with the same meaning: drops the draft-04 `id` (ajv 8 refuses
 * it), `$schema` (draft-04/06, which the validator's Ajv does not load; nothing in these schemas
 * reads differently under draft-07), `title`, `$id` and `javaType` (annotations), the
 * `additionalProperties` OCA puts on string enums and the `additionalItems` on a non-tuple array
 * (neither can apply there, and ajv's strict mode warns about them).
 */
function normalise(schema: unknown, path: string): unknown {
  if (Array.isArray(schema)) return schema.map((item, i) => normalise(item, `${path}/${i}`));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!KNOWN_KEYWORDS.has(key)) throw new Error(`${path}: keyword ${key} is not handled by the generator`);
    if (key === 'id' || key === '$id' || key === '$schema' || key === 'title' || key === 'javaType') continue;
    if (key === 'additionalProperties' && (schema as Schema).type !== 'object') continue;
    if (key === 'additionalItems' && !Array.isArray((schema as Schema).items)) continue;
    if (key === 'properties' || key === 'definitions') {
      out[key] = Object.fromEntries(Object.entries(value as Schema).map(([name, child]) => [name, normalise(child, `${path}/${key}/${name}`)]));
    } else if (key === 'items') {
      out[key] = normalise(value, `${path}/items`);
    } else {
      out[key] = structuredClone(value);
    }
  }
  return out;
}

/** Reads and normalises every schema, sorted by action then request before response. */
export function loadSchemas(root = ROOT): OcppMessageSchema[] {
  const files = readdirSync(join(root, SCHEMA_DIR))
    .filter((f) => f.endsWith('.json'))
    .sort();
  const messages = files.map((file): OcppMessageSchema => {
    const base = file.slice(0, -'.json'.length);
    const kind = base.endsWith('Response') ? 'conf' : 'req';
    const action = kind === 'conf' ? base.slice(0, -'Response'.length) : base;
    const original = JSON.parse(readFileSync(join(root, SCHEMA_DIR, file), 'utf8').replace(/^\uFEFF/, '')) as Schema;
    const schemaId = `${action}.${kind}`;
    return { action, kind, schemaId, typeName: `${action}${kind === 'req' ? 'Request' : 'Response'}`, file, original, normalised: normalise(original, file) as Schema };
  });
  const ids = new Set(messages.map((m) => m.schemaId));
  for (const m of messages) {
    const other = `${m.action}.${m.kind === 'req' ? 'conf' : 'req'}`;
    if (!ids.has(other)) throw new Error(`${m.file}: no schema for ${other}`);
    if (!CHARGE_POINT_ACTIONS.includes(m.action) && !CENTRAL_SYSTEM_ACTIONS.includes(m.action)) {
      throw new Error(`${m.file}: ${m.action} is in neither direction table of scripts/generate-ocpp-types.ts`);
    }
  }
  for (const action of [...CHARGE_POINT_ACTIONS, ...CENTRAL_SYSTEM_ACTIONS]) {
    if (!ids.has(`${action}.req`)) throw new Error(`${action} has no schema in ${SCHEMA_DIR}`);
  }
  for (const patch of PATCHES) {
    const message = messages.find((m) => m.schemaId === patch.schemaId);
    if (!message) throw new Error(`patch for unknown schema ${patch.schemaId}`);
    patch.apply(message.normalised);
  }
  return messages.sort((a, b) => (a.action === b.action ? (a.kind === 'req' ? -1 : 1) : a.action < b.action ? -1 : 1));
}

const HEADER = (what: string) =>
  [
    '// GENERATED FILE, DO NOT EDIT. Generated by scripts/generate-ocpp-types.ts (npm run generate:ocpp)',
    `// from the OCPP 1.6 JSON schemas in ${SCHEMA_DIR}/ (see the README there):`,
    `// ${what}`,
    '// A test fails when this file differs from what the generator writes: change the schemas or the',
    '// generator and run it again, never this file.',
    '',
  ].join('\n');

const INDENT = '  ';

/** The schema a `#/definitions/...` ref names (these schemas have only local refs), or the schema itself. */
function resolveRef(schema: Schema, root: Schema, path: string): Schema {
  if (typeof schema.$ref !== 'string') return schema;
  const match = /^#\/definitions\/([^/]+)$/.exec(schema.$ref);
  const target = match ? (root.definitions as Schema | undefined)?.[match[1]!] : undefined;
  if (!target) throw new Error(`${path}: cannot resolve $ref ${schema.$ref}`);
  return target as Schema;
}

/** The TypeScript type for a (normalised) schema; `root` resolves `#/definitions/...` refs. */
function typeOf(schema: Schema, root: Schema, depth: number, path: string): string {
  if (typeof schema.$ref === 'string') return typeOf(resolveRef(schema, root, path), root, depth, `${path}->${schema.$ref}`);
  if (Array.isArray(schema.enum)) {
    if (schema.type !== 'string' || !schema.enum.every((v) => typeof v === 'string')) throw new Error(`${path}: only string enums are handled`);
    return schema.enum.map((v) => `'${(v as string).replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`).join(' | ');
  }
  switch (schema.type) {
    case 'string':
      return 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array': {
      if (schema.items === undefined || Array.isArray(schema.items)) throw new Error(`${path}: only arrays with one items schema are handled`);
      const item = typeOf(schema.items as Schema, root, depth, `${path}/items`);
      return /^[\w.]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
    }
    case 'object':
      return objectType(schema, root, depth, path);
    default:
      throw new Error(`${path}: type ${JSON.stringify(schema.type)} is not handled`);
  }
}

/** What a field's comment says about constraints the type cannot express. */
function constraints(schema: Schema): string[] {
  const notes: string[] = [];
  if (typeof schema.maxLength === 'number') notes.push(`at most ${schema.maxLength} characters`);
  if (schema.format === 'date-time') notes.push('an RFC 3339 date-time');
  else if (typeof schema.format === 'string') notes.push(`format ${schema.format}`);
  if (schema.type === 'integer') notes.push('an integer');
  if (typeof schema.multipleOf === 'number') notes.push(`a multiple of ${schema.multipleOf}`);
  if (typeof schema.minItems === 'number') notes.push(`at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
  if (typeof schema.maxItems === 'number') notes.push(`at most ${schema.maxItems} items`);
  return notes;
}

function objectType(schema: Schema, root: Schema, depth: number, path: string): string {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  for (const name of required) if (!(name in properties)) throw new Error(`${path}: required ${name} is not a property`);
  const pad = INDENT.repeat(depth + 1);
  const lines: string[] = [];
  for (const [name, child] of Object.entries(properties)) {
    const resolved = resolveRef(child, root, `${path}/${name}`);
    const notes = constraints(resolved);
    if (resolved.type === 'array' && resolved.items && !Array.isArray(resolved.items)) {
      const itemNotes = constraints(resolveRef(resolved.items as Schema, root, `${path}/${name}/items`));
      if (itemNotes.length) notes.push(`each ${itemNotes.join(', ')}`);
    }
    if (notes.length) lines.push(`${pad}/** ${notes.join('; ')}. */`);
    const key = /^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`;
    lines.push(`${pad}${key}${required.has(name) ? '' : '?'}: ${typeOf(child, root, depth + 1, `${path}/${name}`)};`);
  }
  if (schema.additionalProperties !== false) lines.push(`${pad}[key: string]: unknown;`);
  if (lines.length === 0) return schema.additionalProperties === false ? 'Record<string, never>' : 'Record<string, unknown>';
  return `{\n${lines.join('\n')}\n${INDENT.repeat(depth)}}`;
}

function mapType(name: string, doc: string, actions: string[]): string {
  const entries = actions.map((a) => `${INDENT}${a}: { request: ${a}Request; response: ${a}Response };`);
  return `/** ${doc} */\nexport type ${name} = {\n${entries.join('\n')}\n};\n`;
}

function renderTypes(messages: OcppMessageSchema[]): string {
  const parts = [HEADER('one request and one response type per action, and maps from action to both.')];
  for (const m of messages) {
    const direction = m.kind === 'req' ? 'CALL' : 'CALLRESULT';
    parts.push(`/** ${m.action} ${direction} payload (${m.action}.${m.kind}; ${SCHEMA_DIR}/${m.file}). */`);
    parts.push(`export type ${m.typeName} = ${typeOf(m.normalised, m.normalised, 0, m.file)};\n`);
  }
  const cp = [...CHARGE_POINT_ACTIONS].sort();
  const cs = [...CENTRAL_SYSTEM_ACTIONS].sort();
  const all = [...new Set([...cp, ...cs])].sort();
  parts.push(mapType('Ocpp16ChargePointMessages', 'Actions a charge point calls: its CALL is the request, the central system answers the response.', cp));
  parts.push(mapType('Ocpp16CentralSystemMessages', 'Actions the central system calls: its CALL is the request, the charge point answers the response.', cs));
  parts.push(mapType('Ocpp16Messages', 'Every OCPP 1.6 action (both directions; DataTransfer is in both).', all));
  parts.push(
    [
      'export type Ocpp16Action = keyof Ocpp16Messages;',
      'export type Ocpp16ChargePointAction = keyof Ocpp16ChargePointMessages;',
      'export type Ocpp16CentralSystemAction = keyof Ocpp16CentralSystemMessages;',
      "export type Ocpp16Request<A extends Ocpp16Action> = Ocpp16Messages[A]['request'];",
      "export type Ocpp16Response<A extends Ocpp16Action> = Ocpp16Messages[A]['response'];",
      '',
    ].join('\n'),
  );
  return parts.join('\n');
}

function renderSchemas(messages: OcppMessageSchema[]): string {
  const entries = messages.map((m) => `  '${m.schemaId}': ${JSON.stringify(m.normalised, null, 2).replaceAll('\n', '\n  ')},`);
  return [
    HEADER('every schema normalised for ajv (draft-07), keyed by `<Action>.req` / `<Action>.conf`.'),
    '/** The OCPP 1.6 schemas the validator compiles (functions/ocpp/domain/validation.ts), one per action and direction. */',
    'export const OCPP16_SCHEMAS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {',
    ...entries,
    '};',
    '',
  ].join('\n');
}

/** Every generated file, path (from the repository root) to content. */
export function generateOcppSources(root = ROOT): Map<string, string> {
  const messages = loadSchemas(root);
  return new Map([
    [TYPES_FILE, renderTypes(messages)],
    [SCHEMAS_FILE, renderSchemas(messages)],
  ]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [path, content] of generateOcppSources()) {
    writeFileSync(join(ROOT, path), content);
    console.log(`wrote ${path}`);
  }
}
