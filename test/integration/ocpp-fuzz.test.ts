import fc from 'fast-check';
import schemas from 'ocpp-rpc/lib/schemas/ocpp1_6.json' with { type: 'json' };
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRequest } from '../../functions/ocpp/domain/validation.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { diffDumps, dumpTables } from '../support/dynamo-dump.ts';
import { admin, connectChargePoint, rawSocket, startTestStack, type ChargePointClient } from '../support/stack.ts';

/**
 * An OCPP-J fuzzer against the local stack: thousands of malformed and hostile frames from a
 * charge point that passed `$connect`. Every CALL must get the CALLERROR OCPP-J 1.6 prescribes (or,
 * for the few valid read-only CALLs among them, a CALLRESULT), every CALLRESULT/CALLERROR for a call
 * never made is dropped, a frame over API Gateway's 128 KB limit closes the connection with 1009,
 * the connection survives everything else, no table changes (connection bookkeeping aside) and no
 * event is published. The expected answers come from OCPP-J's rules and the official schemas (the
 * oracle below), never from the implementation's own code.
 */

const SEED = 20261123;
/** API Gateway's WebSocket message limit (frames up to 32 KB, messages up to 128 KB). */
const LIMIT = 128 * 1024;
const T = '2026-11-23T09:00:00Z';
const ATTACKER = 'CP-002';
const VICTIM = 'CP-001';

type Code =
  | 'FormationViolation'
  | 'ProtocolError'
  | 'TypeConstraintViolation'
  | 'OccurenceConstraintViolation'
  | 'PropertyConstraintViolation'
  | 'NotImplemented'
  | 'NotSupported'
  | 'GenericError';

/** What must come back for one frame: a CALLERROR, a CALLRESULT, or nothing at all. */
type Expected = { answer: 'error'; id: string; code: Code } | { answer: 'result'; id: string } | { answer: 'none' };

interface FuzzCase {
  kind: string;
  frame: string | Buffer;
  expected: Expected;
  /** A StopTransaction kept without the sampled value that broke the schema: answered, and recorded for review. */
  salvaged?: true;
}

const schemaList = schemas as Array<{ $id: string } & Record<string, any>>;
const schemaFor = (action: string) => schemaList.find((s) => s.$id === `urn:${action}.req`)!;
/** Actions OCPP 1.6 defines (a CALL naming one we do not handle is NotSupported, anything else NotImplemented). */
const KNOWN_ACTIONS = schemaList.filter((s) => s.$id.endsWith('.req')).map((s) => s.$id.slice(4, -4));
/** Actions a charge point sends that VoltLedger handles (their valid CALLs write, so they are only sent invalid). */
const HANDLED = [
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
];
const UNSUPPORTED = KNOWN_ACTIONS.filter((a) => !HANDLED.includes(a));

const meterValue = () => ({
  timestamp: T,
  sampledValue: [{ value: '1200', context: 'Sample.Periodic', format: 'Raw', measurand: 'Energy.Active.Import.Register', phase: 'L1', location: 'Outlet', unit: 'Wh' }],
});
/** One valid request per handled action, every optional field present, so each can be broken. */
const VALID: Record<string, Record<string, unknown>> = {
  Authorize: { idTag: 'DEMO-RETAIL' },
  BootNotification: {
    chargePointVendor: 'Fuzz',
    chargePointModel: 'F1',
    chargePointSerialNumber: 'S1',
    chargeBoxSerialNumber: 'B1',
    firmwareVersion: '1.0',
    iccid: '1',
    imsi: '2',
    meterType: 'M',
    meterSerialNumber: 'MS',
  },
  Heartbeat: {},
  StatusNotification: { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: T, info: 'i', vendorId: 'v', vendorErrorCode: 'e' },
  StartTransaction: { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 0, timestamp: T, reservationId: 1 },
  StopTransaction: { transactionId: 1, idTag: 'DEMO-RETAIL', meterStop: 10, timestamp: T, reason: 'Local', transactionData: [meterValue()] },
  MeterValues: { connectorId: 1, transactionId: 1, meterValue: [meterValue()] },
  DataTransfer: { vendorId: 'v', messageId: 'm', data: 'd' },
  FirmwareStatusNotification: { status: 'Installed' },
  DiagnosticsStatusNotification: { status: 'Uploaded' },
};

type Path = Array<string | number>;
interface Slot {
  action: string;
  path: Path;
  schema: Record<string, any>;
  required: boolean;
}

/** Every value in the valid sample that the schema describes, and every object that takes no extra field. */
function slotsOf(action: string): { values: Slot[]; objects: Slot[] } {
  const values: Slot[] = [];
  const objects: Slot[] = [];
  const walk = (schema: Record<string, any>, value: unknown, path: Path, required: boolean) => {
    if (path.length > 0) values.push({ action, path, schema, required });
    if (schema.type === 'object') {
      objects.push({ action, path, schema, required });
      for (const [name, sub] of Object.entries<Record<string, any>>(schema.properties ?? {})) {
        const child = (value as Record<string, unknown>)[name];
        if (child !== undefined) walk(sub, child, [...path, name], (schema.required ?? []).includes(name));
      }
    }
    if (schema.type === 'array' && Array.isArray(value) && value.length > 0) walk(schema.items, value[0], [...path, 0], false);
  };
  walk(schemaFor(action), VALID[action], [], true);
  return { values, objects };
}
const SLOTS = HANDLED.map(slotsOf);
const VALUE_SLOTS = SLOTS.flatMap((s) => s.values);
const OBJECT_SLOTS = SLOTS.flatMap((s) => s.objects);

/** Sets or deletes at a path without ever going through a setter (`__proto__` is just a name here). */
function mutate(payload: unknown, path: Path, change: { set: unknown } | { delete: true }): unknown {
  const copy = structuredClone(payload) as Record<string | number, unknown>;
  let node: any = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  const last = path[path.length - 1]!;
  if ('delete' in change) delete node[last];
  else Object.defineProperty(node, last, { value: change.set, enumerable: true, writable: true, configurable: true });
  return copy;
}

/** JSON's type of a value as a JSON Schema would see it after the wire (1.0 arrives as the integer 1). */
function matchesType(value: unknown, type: string): boolean {
  const wire = JSON.parse(JSON.stringify(value));
  switch (type) {
    case 'integer':
      return Number.isInteger(wire);
    case 'number':
      return typeof wire === 'number';
    case 'array':
      return Array.isArray(wire);
    case 'object':
      return typeof wire === 'object' && wire !== null && !Array.isArray(wire);
    default:
      return typeof wire === type;
  }
}

const isPlainObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** OCPP-J answers a frame it cannot read with a CALLERROR; it refers to the CALL's id when one can be read, else "-1". */
const readableCallId = (text: string) => /^\s*\[\s*2\s*,\s*"([^"\\]{1,36})"/.exec(text)?.[1];

/**
 * The oracle for frames that are not valid CALLs of a handled action: OCPP-J 1.6 section 4 rules.
 * Returns undefined for a well-formed CALL of a handled action (its answer depends on the payload;
 * those are generated by the schema mutations instead, where the answer is known).
 */
function expectedForFrame(text: string): Expected | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { answer: 'error', id: readableCallId(text) ?? '-1', code: 'FormationViolation' };
  }
  if (!Array.isArray(message) || message.length < 3) return { answer: 'error', id: '-1', code: 'FormationViolation' };
  const [type, id, action, payload] = message;
  if (typeof id !== 'string' || id.length === 0 || id.length > 36) return { answer: 'error', id: '-1', code: 'FormationViolation' };
  // A CALLRESULT or CALLERROR is never answered: well-formed or not, for a call never made it is dropped.
  if (type === 3 || type === 4) return { answer: 'none' };
  if (type !== 2) return { answer: 'error', id, code: 'FormationViolation' };
  if (message.length !== 4 || typeof action !== 'string' || action.length === 0 || !isPlainObject(payload)) return { answer: 'error', id, code: 'FormationViolation' };
  if (HANDLED.includes(action)) return undefined;
  return { answer: 'error', id, code: KNOWN_ACTIONS.includes(action) ? 'NotSupported' : 'NotImplemented' };
}

/** A CALL of exactly `bytes` bytes: `action` with one string field filled with `unit` (and ASCII for the rest). */
function sized(id: string, bytes: number, unit = 'A', action = 'Authorize', field = 'idTag'): string {
  const head = `[2,"${id}","${action}",{"${field}":"`;
  const tail = '"}]';
  const room = bytes - Buffer.byteLength(head + tail);
  return head + unit.repeat(Math.floor(room / Buffer.byteLength(unit))) + 'A'.repeat(room % Buffer.byteLength(unit)) + tail;
}

let sequence = 0;
const uniqueId = (prefix: string) => `${prefix}${(sequence += 1)}`;
const call = (id: string, action: string, payload: unknown) => JSON.stringify([2, id, action, payload]);

/**
 * docs/meters.md, "Frames that break the schema": in MeterValues and StopTransaction only, a sampled
 * value that breaks the schema is dropped and the rest of the frame handled normally. The valid
 * samples carry one sampled value, so a MeterValues frame broken there has nothing left and is
 * refused as before, while a StopTransaction broken only inside `transactionData[].sampledValue[]`
 * is kept without it: answered with a CALLRESULT, recorded as a `StopTransaction.schemaDeviation`
 * notification, and (its transaction being no session of the sender's) as an unmatched stop.
 * Anything else broken (the meter value's timestamp, a missing `sampledValue`) is still refused.
 */
const salvagedStop = (action: string, path: Path) => action === 'StopTransaction' && path.length >= 4 && path[0] === 'transactionData' && path[2] === 'sampledValue';

/** The case for one violation at `path`: the CALLERROR `code`, unless the rule above keeps the frame. */
function broken(kind: string, action: string, path: Path, payload: unknown, id: string, code: Code): FuzzCase {
  const frame = call(id, action, payload);
  return salvagedStop(action, path) ? { kind: `${kind} (sampled value dropped)`, frame, expected: { answer: 'result', id }, salvaged: true } : { kind, frame, expected: { answer: 'error', id, code } };
}

/** A handled action's valid payload with exactly one violation, and the code OCPP-J gives that violation. */
const schemaMutation: fc.Arbitrary<FuzzCase> = fc.oneof(
  // A required field missing: OccurenceConstraintViolation.
  fc.constantFrom(...VALUE_SLOTS.filter((s) => s.required)).map((slot) => {
    const id = uniqueId('occ');
    return broken('missing required field', slot.action, slot.path, mutate(VALID[slot.action], slot.path, { delete: true }), id, 'OccurenceConstraintViolation');
  }),
  // A value of the wrong JSON type (deeply nested values, unicode, big numbers included): TypeConstraintViolation.
  fc
    .tuple(fc.constantFrom(...VALUE_SLOTS), fc.oneof(fc.jsonValue({ maxDepth: 6 }), fc.string({ unit: 'grapheme' }), fc.double(), fc.constantFrom(1.5, -0.5, 2 ** 53 + 0.5, 1e300, true, null)))
    .filter(([slot, value]) => !matchesType(value, slot.schema.type))
    .map(([slot, value]) => {
      const id = uniqueId('type');
      return broken('wrong type', slot.action, slot.path, mutate(VALID[slot.action], slot.path, { set: value }), id, 'TypeConstraintViolation');
    }),
  // A field the PDU does not have: FormationViolation (the payload does not conform to the PDU).
  fc
    .tuple(fc.constantFrom(...OBJECT_SLOTS), fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'idtag', 'IdTag', '')), fc.jsonValue({ maxDepth: 4 }))
    .filter(([slot, name]) => !Object.hasOwn(slot.schema.properties ?? {}, name))
    .map(([slot, name, value]) => {
      const id = uniqueId('extra');
      return broken('extra property', slot.action, [...slot.path, name], mutate(VALID[slot.action], [...slot.path, name], { set: value }), id, 'FormationViolation');
    }),
  // Right type, value outside what the field allows (enum, maxLength in code points, date-time): PropertyConstraintViolation.
  fc
    .constantFrom(...VALUE_SLOTS.filter((s) => s.schema.enum || s.schema.maxLength !== undefined || s.schema.format === 'date-time'))
    .chain((slot) => {
      const bad = slot.schema.enum
        ? fc.string({ unit: 'grapheme', maxLength: 40 }).filter((v) => !slot.schema.enum.includes(v))
        : slot.schema.maxLength !== undefined
          ? fc.string({ unit: fc.constantFrom('a', 'é', '€', '𝄞', '👩‍👩‍👧', '\u0000', '\u202E'), minLength: slot.schema.maxLength + 1, maxLength: slot.schema.maxLength + 300 })
          : fc.oneof(fc.constantFrom('now', '', '2026-13-01T00:00:00Z', '2026-11-23', '23/11/2026 09:00', '2026-11-23T25:00:00Z', '0'), fc.string({ unit: 'grapheme' }).filter((v) => !/^\d{4}-/.test(v)));
      return bad.map((value) => {
        const id = uniqueId('prop');
        return broken('value out of range', slot.action, slot.path, mutate(VALID[slot.action], slot.path, { set: value }), id, 'PropertyConstraintViolation');
      });
    }),
  // OCPP 1.6: a transaction is on connector 1 or more.
  fc.oneof(fc.integer({ min: -(2 ** 31), max: 0 }), fc.constantFrom(-(2 ** 53) + 1, -1e20)).map((connectorId) => {
    const id = uniqueId('conn');
    return { kind: 'connectorId out of range', frame: call(id, 'StartTransaction', { ...VALID.StartTransaction, connectorId }), expected: { answer: 'error', id, code: 'PropertyConstraintViolation' } as Expected };
  }),
);

/** Frames built at random: text, JSON values, arrays shaped almost like OCPP-J messages, answers to calls never made. */
const randomFrame: fc.Arbitrary<FuzzCase | undefined> = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
    fc
      .tuple(
        fc.oneof(fc.constantFrom(2, 3, 4, 2, 3, 4, 0, 1, 5, -2, 2.5, '2', null, true), fc.integer()),
        fc.oneof(fc.constant('UNIQUE'), fc.constant('UNIQUE'), fc.constantFrom('', 'x'.repeat(37), 7, null, ['id'], { id: 1 })),
        fc.oneof(fc.constantFrom(...UNSUPPORTED), fc.constantFrom(...HANDLED), fc.string({ unit: 'grapheme', maxLength: 60 }), fc.constantFrom('', 7, null, 'GenericError', 'NotImplemented')),
        fc.oneof(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 })), fc.jsonValue({ maxDepth: 3 })),
        fc.jsonValue({ maxDepth: 2 }),
        fc.integer({ min: 1, max: 6 }),
      )
      .map(([type, id, action, payload, extra, length]) => JSON.stringify([type, id, action, payload, extra, 'x'].slice(0, length))),
    // Answers to calls never made, well-formed and not.
    fc.tuple(fc.constantFrom(3, 4), fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 20 })).map(([type, payload, description]) =>
      JSON.stringify(type === 3 ? [3, 'UNIQUE', payload] : [4, 'UNIQUE', 'GenericError', description, isPlainObject(payload) ? payload : {}]),
    ),
  )
  .map((text) => {
    const frame = text.replace('"UNIQUE"', () => JSON.stringify(uniqueId('r')));
    const expected = expectedForFrame(frame);
    return expected ? { kind: 'random frame', frame, expected } : undefined;
  });

/** The classics, by hand: each a question a careless parser answers wrongly. */
function classics(victimTransactionId: number, victimPendingCallId: string): FuzzCase[] {
  const err = (kind: string, frame: string | Buffer, id: string, code: Code): FuzzCase => ({ kind, frame, expected: { answer: 'error', id, code } });
  const none = (kind: string, frame: string): FuzzCase => ({ kind, frame, expected: { answer: 'none' } });
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const start = (id: string, connectorId: string) => `[2,"${id}","StartTransaction",{"connectorId":${connectorId},"idTag":"DEMO-RETAIL","meterStart":0,"timestamp":"${T}"}]`;
  return [
    err('empty frame', '', '-1', 'FormationViolation'),
    err('whitespace', ' \n\t', '-1', 'FormationViolation'),
    err('JSON null', 'null', '-1', 'FormationViolation'),
    err('JSON object', '{"messageTypeId":2,"action":"Heartbeat"}', '-1', 'FormationViolation'),
    err('empty array', '[]', '-1', 'FormationViolation'),
    err('type only', '[2]', '-1', 'FormationViolation'),
    err('no action', '[2,"k1"]', '-1', 'FormationViolation'),
    err('no payload', '[2,"k2","Heartbeat"]', 'k2', 'FormationViolation'),
    err('one element too many', '[2,"k3","Heartbeat",{},{}]', 'k3', 'FormationViolation'),
    err('payload an array', '[2,"k4","Heartbeat",[]]', 'k4', 'FormationViolation'),
    err('payload null', '[2,"k5","Heartbeat",null]', 'k5', 'FormationViolation'),
    err('action null', '[2,"k6",null,{}]', 'k6', 'FormationViolation'),
    err('action empty', '[2,"k7","",{}]', 'k7', 'FormationViolation'),
    err('messageId a number', '[2,123,"Heartbeat",{}]', '-1', 'FormationViolation'),
    err('messageId empty', '[2,"","Heartbeat",{}]', '-1', 'FormationViolation'),
    err('messageId of 37 characters', `[2,"${'x'.repeat(37)}","Heartbeat",{}]`, '-1', 'FormationViolation'),
    err('messageTypeId 1', '[1,"k8","Heartbeat",{}]', 'k8', 'FormationViolation'),
    err('messageTypeId 5', '[5,"k9","Heartbeat",{}]', 'k9', 'FormationViolation'),
    err('messageTypeId a string', '["2","k10","Heartbeat",{}]', 'k10', 'FormationViolation'),
    err('messageTypeId 2.5', '[2.5,"k11","Heartbeat",{}]', 'k11', 'FormationViolation'),
    err('messageTypeId written 2e0 (is 2)', '[2e0,"k12","Teleport",{}]', 'k12', 'NotImplemented'),
    err('truncated CALL', '[2,"k13","StartTransaction",{', 'k13', 'FormationViolation'),
    err('trailing garbage', '[2,"k14","Authorize",{"idTag":"DEMO-RETAIL"}] trailing', 'k14', 'FormationViolation'),
    err('NaN literal', start('k15', 'NaN'), 'k15', 'FormationViolation'),
    err('single quotes', "[2,'k16','Heartbeat',{}]", '-1', 'FormationViolation'),
    err('duplicate keys, the last one wrong', `[2,"k17","Authorize",{"idTag":"DEMO-RETAIL","idTag":5}]`, 'k17', 'TypeConstraintViolation'),
    err('1e400 (Infinity)', start('k18', '1e400'), 'k18', 'TypeConstraintViolation'),
    err('-1e400', start('k19', '-1e400'), 'k19', 'TypeConstraintViolation'),
    err('1.5', start('k20', '1.5'), 'k20', 'TypeConstraintViolation'),
    err('a numeric string', start('k21', '"1"'), 'k21', 'TypeConstraintViolation'),
    err('connectorId 0', start('k22', '0'), 'k22', 'PropertyConstraintViolation'),
    err('connectorId -1', start('k23', '-1'), 'k23', 'PropertyConstraintViolation'),
    err('meterStart beyond 2^53 as a float', `[2,"k24","StartTransaction",{"connectorId":1,"idTag":"DEMO-RETAIL","meterStart":1e20.5,"timestamp":"${T}"}]`, 'k24', 'FormationViolation'),
    err('prototype pollution in the payload', '[2,"k25","Authorize",{"idTag":"X","__proto__":{"admin":true}}]', 'k25', 'FormationViolation'),
    err('constructor.prototype in the payload', '[2,"k26","Authorize",{"idTag":"X","constructor":{"prototype":{"admin":true}}}]', 'k26', 'FormationViolation'),
    ...['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'Authorize.req', 'authorize', 'AUTHORIZE', ' Authorize', '../Authorize', 'Authorize\u0000', 'x'.repeat(10_000)].map((action, i) =>
      err(`unknown action ${JSON.stringify(action.slice(0, 20))}`, call(`k3${i}`, action, {}), `k3${i}`, 'NotImplemented'),
    ),
    ...['Reset', 'RemoteStartTransaction', 'GetConfiguration', 'UpdateFirmware', 'SecurityEventNotification', 'SignCertificate', 'LogStatusNotification'].map((action, i) =>
      err(`${action} from a charge point`, call(`k5${i}`, action, {}), `k5${i}`, 'NotSupported'),
    ),
    // Unicode: 20 code points are 20 characters for OCPP's CiString20, whatever their UTF-16 or UTF-8 length.
    { kind: 'idTag of 20 astral code points (valid, unknown)', frame: call('k60', 'Authorize', { idTag: '𝄞'.repeat(20) }), expected: { answer: 'result', id: 'k60' } },
    err('idTag of 21 astral code points', call('k61', 'Authorize', { idTag: '𝄞'.repeat(21) }), 'k61', 'PropertyConstraintViolation'),
    { kind: 'idTag with NUL, RTL override and zero-width joiner (valid, unknown)', frame: call('k62', 'Authorize', { idTag: 'DEMO\u0000\u202E\u200D' }), expected: { answer: 'result', id: 'k62' } },
    { kind: 'idTag with a homoglyph of DEMO-RETAIL (valid, unknown)', frame: call('k63', 'Authorize', { idTag: 'DEMO-RЕTAIL' }), expected: { answer: 'result', id: 'k63' } },
    { kind: 'idTag with a lone surrogate (valid, unknown)', frame: '[2,"k64","Authorize",{"idTag":"\\ud800"}]', expected: { answer: 'result', id: 'k64' } },
    err('messageId of 37 UTF-16 units ending in a lone surrogate', `[2,"k65${'x'.repeat(33)}\\ud800","Heartbeat",{}]`, '-1', 'FormationViolation'),
    // Deep nesting where a value should be, in an extra field, as the action, as the frame.
    err('idTag 40,000 arrays deep', `[2,"k70","Authorize",{"idTag":${deep(40_000)}}]`, 'k70', 'TypeConstraintViolation'),
    err('extra field 10,000 objects deep', `[2,"k71","DataTransfer",{"vendorId":"v","x":${deepObject(10_000)}}]`, 'k71', 'FormationViolation'),
    err('unknown action, payload 10,000 objects deep', `[2,"k72","Teleport",${deepObject(10_000)}]`, 'k72', 'NotImplemented'),
    err('a frame 60,000 arrays deep', deep(60_000), '-1', 'FormationViolation'),
    none('CALLERROR 10,000 objects deep, for a call never made', `[4,"k73","GenericError","x",${deepObject(10_000)}]`),
    // Sizes at API Gateway's limit: exactly 128 KiB is a message like any other.
    err('exactly 128 KiB, ASCII', sized('k80', LIMIT), 'k80', 'PropertyConstraintViolation'),
    err('exactly 128 KiB, 3-byte characters', sized('k81', LIMIT, '€'), 'k81', 'PropertyConstraintViolation'),
    err('a 120 KB property name', `[2,"k82","Authorize",{"idTag":"X",${JSON.stringify('p'.repeat(120_000))}:1}]`, 'k82', 'FormationViolation'),
    // Binary frames: API Gateway passes them base64-encoded; the text inside is what counts.
    err('binary frame with a CALL', Buffer.from('[2,"k90","Teleport",{}]'), 'k90', 'NotImplemented'),
    err('binary frame of invalid UTF-8', Buffer.from([0xff, 0xfe, 0x5b, 0x32]), '-1', 'FormationViolation'),
    // Answers to calls never made are dropped, as OCPP-J says; so is an answer to another charge point's call.
    none('CALLRESULT for a call never made', '[3,"k100",{}]'),
    none('CALLRESULT with a plausible answer', '[3,"k101",{"status":"Accepted"}]'),
    none('CALLERROR for a call never made', '[4,"k102","GenericError","boom",{}]'),
    // Shorter than any OCPP-J message, so not recognisable as an answer: answered like any unreadable frame.
    err('CALLRESULT without payload', '[3,"k103"]', '-1', 'FormationViolation'),
    none('CALLERROR without details', '[4,"k104","GenericError"]'),
    none('CALLRESULT with a payload array', '[3,"k105",[]]'),
    none("CALLRESULT for another charge point's pending call", JSON.stringify([3, victimPendingCallId, { status: 'Accepted' }])),
    none("CALLERROR for another charge point's pending call", JSON.stringify([4, victimPendingCallId, 'GenericError', 'x', {}])),
    // Another charge point's transaction inside a broken CALL: validation answers before anything is looked up.
    err("another charge point's transaction, with a bad meterStop", JSON.stringify([2, 'k110', 'StopTransaction', { transactionId: victimTransactionId, meterStop: '5', timestamp: T }]), 'k110', 'TypeConstraintViolation'),
    err("another charge point's transaction, MeterValues with an extra field", JSON.stringify([2, 'k111', 'MeterValues', { connectorId: 1, transactionId: victimTransactionId, meterValue: [meterValue()], transactionData: [] }]), 'k111', 'FormationViolation'),
  ];
}

/** A raw charge point that remembers every frame it receives and every close. */
async function attacker(stack: LocalStack) {
  const { ws } = await rawSocket(stack, ATTACKER);
  const received: unknown[][] = [];
  const sizes: number[] = [];
  ws.on('message', (data: Buffer) => {
    sizes.push(data.length);
    received.push(JSON.parse(data.toString()));
  });
  let closed: number | undefined;
  ws.on('close', (code) => (closed = code));
  return { ws, received, sizes, closed: () => closed };
}

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('OCPP-J fuzzing on the local stack', () => {
  let stack: LocalStack;
  let victim: ChargePointClient;
  let victimTransactionId: number;
  let victimPendingCallId: string;
  const published: Array<{ type: string }> = [];

  beforeAll(async () => {
    stack = await startTestStack();
    // The victim charges, and has a command outstanding that it never answers.
    victim = await connectChargePoint(stack, VICTIM, { handlers: { GetConfiguration: () => new Promise(() => undefined) } });
    ({ transactionId: victimTransactionId } = await victim.call('StartTransaction', { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 1000, timestamp: T }));
    const command = await admin(stack, 'POST', `/charge-points/${VICTIM}/commands`, { action: 'GetConfiguration', payload: {} });
    victimPendingCallId = command.body.messageId;
    expect(victimPendingCallId).toEqual(expect.any(String));
    await stack.bus.drain();
    stack.bus.subscribe((event: any) => published.push({ type: event['detail-type'] }));
  });

  afterAll(async () => {
    await victim?.close({ force: true }).catch(() => undefined);
    await stack?.close();
  });

  it('sanity: the valid samples the mutations start from are valid', () => {
    for (const [action, payload] of Object.entries(VALID)) expect(validateRequest(action, payload), action).toEqual({ ok: true });
  });

  it('answers thousands of malformed and hostile frames as OCPP-J says, keeps the connection, publishes nothing, writes only the review records of salvaged stops', async () => {
    const handWritten = classics(victimTransactionId, victimPendingCallId);
    const cases = [
      ...handWritten,
      ...fc.sample(schemaMutation, { seed: SEED, numRuns: 3000 }),
      ...fc.sample(randomFrame, { seed: SEED + 1, numRuns: 3000 }).filter((c): c is FuzzCase => c !== undefined),
    ];
    const cp = await attacker(stack);
    const before = await dumpTables(stack, { ignoreConnections: true });

    let probes = 0;
    const probe = async () => {
      const id = `probe-${(probes += 1)}`;
      cp.ws.send(call(id, 'Authorize', { idTag: 'DEMO-RETAIL' }));
      const answer = await waitFor(`answer to ${id}`, () => cp.received.find((frame) => frame[1] === id));
      expect(answer).toMatchObject([3, id, { idTagInfo: { status: 'Accepted' } }]);
    };
    for (let i = 0; i < cases.length; i += 100) {
      for (const c of cases.slice(i, i + 100)) cp.ws.send(c.frame, { binary: Buffer.isBuffer(c.frame) });
      // The same connection still answers a real CALL after every batch.
      await probe();
      expect(cp.ws.readyState).toBe(WebSocket.OPEN);
    }
    // Answers may come out of order (each frame is its own $default invocation): wait, then count them all.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await probe();

    const key = (id: unknown, answer: string) => `${String(id)} ${answer}`;
    const expected = cases.flatMap((c) => (c.expected.answer === 'error' ? [key(c.expected.id, c.expected.code)] : c.expected.answer === 'result' ? [key(c.expected.id, 'CALLRESULT')] : [])).sort();
    const actual = cp.received
      .filter((frame) => !String(frame[1]).startsWith('probe-'))
      .map((frame) => key(frame[1], frame[0] === 3 ? 'CALLRESULT' : frame[0] === 4 ? String(frame[2]) : `type ${String(frame[0])}`))
      .sort();
    const mismatched = cases.filter((c) => c.expected.answer !== 'none' && !actual.includes(key(c.expected.id, c.expected.answer === 'error' ? c.expected.code : 'CALLRESULT')));
    expect(mismatched.map((c) => `${c.kind}: ${String(c.frame).slice(0, 120)} -> ${JSON.stringify(cp.received.filter((f) => f[1] === (c.expected as { id: string }).id))}`)).toEqual([]);
    expect(actual).toEqual(expected);
    // API Gateway also caps the route response at 128 KB: no answer may come near it.
    expect(Math.max(...cp.sizes)).toBeLessThan(LIMIT);
    expect(cp.closed()).toBeUndefined();

    await stack.bus.drain();
    const after = await dumpTables(stack, { ignoreConnections: true });
    const diff = diffDumps(before, after);
    expect(diff.changed).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(published).toEqual([]);
    // The only writes: per StopTransaction kept without its broken sampled value (docs/meters.md), its
    // schemaDeviation notification and, since transaction 1 is no session of the sender's, the stop
    // recorded as unmatched (docs/sessions.md): by day (one per message) and in the older per-charge-point
    // record (keyed by receive time and transactionId, so two in the same millisecond share one item).
    const salvagedIds = cases.filter((c) => c.salvaged).map((c) => (c.expected as { id: string }).id);
    expect(salvagedIds.length).toBeGreaterThan(0);
    const notes = diff.added.filter((k) => k.startsWith(`voltledger-local-registry|CP#${ATTACKER}|NOTE#`));
    const unmatched = diff.added.filter((k) => k.startsWith('voltledger-local-sessions|UNMATCHED#'));
    const unknownStops = diff.added.filter((k) => k.startsWith(`voltledger-local-sessions|UNKNOWN_STOP#${ATTACKER}|`));
    expect(diff.added.filter((k) => !notes.includes(k) && !unmatched.includes(k) && !unknownStops.includes(k))).toEqual([]);
    expect(notes.map((k) => k.slice(k.lastIndexOf('#') + 1)).sort()).toEqual([...salvagedIds].sort());
    for (const k of notes) expect(JSON.parse(after.get(k)!), k).toMatchObject({ kind: 'StopTransaction.schemaDeviation' });
    expect(unmatched.map((k) => /#([^#]+)#StopTransaction#([^#]+)#1$/.exec(k)?.slice(1).join(' ')).sort()).toEqual(salvagedIds.map((id) => `${ATTACKER} ${id}`).sort());
    for (const k of unmatched) expect(JSON.parse(after.get(k)!), k).toMatchObject({ kind: 'StopTransaction', chargePointId: ATTACKER, transactionId: 1, reason: 'unknown-transaction' });
    expect(unknownStops.length).toBeGreaterThan(0);
    expect(unknownStops.length).toBeLessThanOrEqual(salvagedIds.length);
    for (const k of unknownStops) expect(k).toMatch(/#1$/);

    const byKind = new Map<string, number>([['hand-written classics', handWritten.length]]);
    for (const c of cases.slice(handWritten.length)) byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
    const answered = cases.filter((c) => c.expected.answer !== 'none').length;
    console.info(
      `OCPP fuzz: ${cases.length} frames (fast-check seed ${SEED}) + ${probes} probes on one connection: ${answered} answered as expected, ` +
        `${cases.length - answered} dropped as expected; ${[...byKind].map(([kind, n]) => `${kind} ${n}`).join(', ')}`,
    );
    cp.ws.close();
  }, 240_000);

  it('closes the connection with 1009 for every frame over 128 KB (bytes, not characters), before any handler runs', async () => {
    const before = await dumpTables(stack, { ignoreConnections: true });
    const oversized: Array<[string, string | Buffer]> = [
      ['128 KiB + 1 byte', sized('o1', LIMIT + 1)],
      ['128 KiB + 1 byte of 3-byte characters', sized('o2', LIMIT + 1, '€')],
      ['50,000 euro signs (50,000 characters, 150,000 bytes)', `[2,"o3","Authorize",{"idTag":"${'€'.repeat(50_000)}"}]`],
      ['1 MB of valid StartTransaction', JSON.stringify([2, 'o4', 'StartTransaction', { connectorId: 1, idTag: 'DEMO-RETAIL', meterStart: 0, timestamp: T, pad: 'x'.repeat(1_000_000) }])],
      ['a binary frame of 128 KiB + 1', Buffer.alloc(LIMIT + 1, 0x5b)],
      ...fc.sample(fc.integer({ min: LIMIT + 1, max: 4 * LIMIT }), { seed: SEED + 2, numRuns: 6 }).map((size, i): [string, string] => [`${size} bytes`, sized(`o${10 + i}`, size, 'y', 'Heartbeat', 'x')]),
    ];
    for (const [name, frame] of oversized) {
      expect(Buffer.byteLength(frame), name).toBeGreaterThan(LIMIT);
      const cp = await attacker(stack);
      cp.ws.on('error', () => undefined);
      cp.ws.send(frame, { binary: Buffer.isBuffer(frame) });
      expect(await waitFor(`close after ${name}`, () => cp.closed()), name).toBe(1009);
      expect(cp.received, name).toEqual([]);
    }
    console.info(`OCPP fuzz: ${oversized.length} frames over 128 KB, each closed with 1009`);
    // $disconnect forgot each connection: the charge point is not left marked online through a dead one.
    for (let i = 0; (await stack.stores.registry.getChargePoint(ATTACKER))?.connectionId !== undefined; i += 1) {
      if (i > 200) throw new Error('the attacker still looks connected');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await stack.bus.drain();
    expect(diffDumps(before, await dumpTables(stack, { ignoreConnections: true }))).toEqual({ added: [], changed: [], removed: [] });
    expect(published).toEqual([]);
  }, 60_000);

  it("answers MeterValues and StopTransaction naming another charge point's (or no) transaction, touches no session, only records them for review", async () => {
    const numbers = fc.sample(fc.oneof(fc.integer(), fc.constantFrom(victimTransactionId, 0, -1, 2 ** 31, 2 ** 53 - 1, -(2 ** 53) + 1)), { seed: SEED + 3, numRuns: 100 });
    const frames: Array<[string, string]> = numbers.flatMap((transactionId, i): Array<[string, string]> => [
      [`mv${i}`, call(`mv${i}`, 'MeterValues', { connectorId: 1, transactionId, meterValue: [meterValue()] })],
      [`st${i}`, call(`st${i}`, 'StopTransaction', { transactionId, ...(i % 2 ? { idTag: 'DEMO-RETAIL' } : {}), meterStop: 999_999, timestamp: `2026-11-23T10:${String(i % 60).padStart(2, '0')}:00Z`, reason: 'Remote' })],
    ]);
    const victimBefore = { session: await stack.stores.sessions.getSession(victimTransactionId), samples: await stack.stores.sessions.samples(victimTransactionId) };
    const cp = await attacker(stack);
    const before = await dumpTables(stack, { ignoreConnections: true });

    // Valid for the schema (an integer) but beyond what can be stored exactly (2^53): refused with
    // PropertyConstraintViolation naming the field (not InternalError, which invites retries), nothing stored.
    const unstorable: Array<[string, string]> = [
      ['big1', call('big1', 'MeterValues', { connectorId: 1, transactionId: 1e20, meterValue: [meterValue()] })],
      ['big2', call('big2', 'StopTransaction', { transactionId: 2 ** 60, meterStop: 5, timestamp: T })],
    ];
    for (const [, frame] of [...frames, ...unstorable]) cp.ws.send(frame);
    await waitFor('every answer', () => (cp.received.length >= frames.length + unstorable.length ? true : undefined), 30_000);
    for (const [id] of unstorable) {
      const answer = cp.received.find((f) => f[1] === id);
      expect(answer?.slice(0, 3), id).toEqual([4, id, 'PropertyConstraintViolation']);
      expect(answer?.[4], id).toEqual({ path: 'transactionId' });
    }

    for (const [id] of frames) {
      const answer = cp.received.find((f) => f[1] === id);
      expect(answer?.[0], `${id} ${JSON.stringify(answer)} ${frames.find((f) => f[0] === id)?.[1].slice(0, 200)}`).toBe(3);
      expect(answer?.[2], id).toEqual(id.startsWith('st') && Number(id.slice(2)) % 2 ? { idTagInfo: { status: 'Accepted' } } : {});
    }
    expect(await stack.stores.sessions.getSession(victimTransactionId)).toEqual(victimBefore.session);
    expect(await stack.stores.sessions.samples(victimTransactionId)).toEqual(victimBefore.samples);
    await stack.bus.drain();
    expect(published).toEqual([]);
    const diff = diffDumps(before, await dumpTables(stack, { ignoreConnections: true }));
    expect(diff.changed).toEqual([]);
    expect(diff.removed).toEqual([]);
    // Only review records of the sender: its orphaned MeterValues and its unknown StopTransactions,
    // and each of those messages once in the daily listing of unmatched messages (docs/sessions.md).
    const unmatched = diff.added.filter((k) => k.startsWith('voltledger-local-sessions|UNMATCHED#'));
    expect(diff.added.filter((k) => !unmatched.includes(k) && !k.startsWith(`voltledger-local-registry|CP#${ATTACKER}|NOTE#`) && !k.startsWith(`voltledger-local-sessions|UNKNOWN_STOP#${ATTACKER}|`))).toEqual([]);
    const kindOf = (id: string) => (id.startsWith('mv') ? 'MeterValues' : 'StopTransaction');
    expect(unmatched.map((k) => /#([^#]+)#(MeterValues|StopTransaction)#([^#]+)#(-?\d+)$/.exec(k)?.slice(1).join(' ')).sort()).toEqual(
      frames.map(([id], i) => `${ATTACKER} ${kindOf(id)} ${id} ${numbers[Math.floor(i / 2)]}`).sort(),
    );
    expect(diff.added.length).toBeGreaterThan(unmatched.length);
    console.info(`OCPP fuzz: ${frames.length} MeterValues/StopTransaction frames naming foreign or unknown transactions, all answered, ${diff.added.length} review records`);
    cp.ws.close();
  }, 60_000);
});
