import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { open, appendFile, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { EventBridgeEvent } from 'aws-lambda';
import { systemClock, type Clock } from '../../functions/shared/clock.ts';
import { VoltLedgerError } from '../../functions/shared/errors.ts';
import { silentLog, type Log } from '../../functions/shared/log.ts';

// ---------------------------------------------------------------------------------------------
// Event pattern matching
// ---------------------------------------------------------------------------------------------

/** Thrown when a rule's event pattern is not one EventBridge would accept (PutRule's InvalidEventPatternException). */
export class InvalidEventPatternError extends VoltLedgerError {}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What a pattern leaf sees of one event field: absent, a non-leaf (object), or its leaf values. */
type FieldValues = { kind: 'absent' } | { kind: 'object' } | { kind: 'leaves'; values: Json[] };

function fieldValues(value: unknown): FieldValues {
  if (value === undefined) return { kind: 'absent' };
  if (Array.isArray(value)) {
    // EventBridge flattens arrays: a leaf matches when any element does. An empty array carries no
    // leaf value, so for matching it is as if the field were absent.
    const leaves = value.filter((v) => !isPlainObject(v) && !Array.isArray(v)) as Json[];
    if (leaves.length > 0) return { kind: 'leaves', values: leaves };
    return value.length > 0 ? { kind: 'object' } : { kind: 'absent' };
  }
  if (isPlainObject(value)) return { kind: 'object' };
  return { kind: 'leaves', values: [value as Json] };
}

function wildcardToRegExp(wildcard: string, ignoreCase = false): RegExp {
  let source = '';
  for (let i = 0; i < wildcard.length; i++) {
    const ch = wildcard[i]!;
    if (ch === '\\' && i + 1 < wildcard.length) {
      source += wildcard[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    } else if (ch === '*') {
      source += '.*';
    } else {
      source += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
}

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

/** String operators that may wrap `equals-ignore-case` (`{"prefix": {"equals-ignore-case": "x"}}`). */
function stringOperand(operator: string, operand: unknown): { text: string; ignoreCase: boolean } {
  if (typeof operand === 'string') return { text: operand, ignoreCase: false };
  if (isPlainObject(operand) && Object.keys(operand).length === 1 && typeof operand['equals-ignore-case'] === 'string') {
    return { text: operand['equals-ignore-case'], ignoreCase: true };
  }
  throw new InvalidEventPatternError(`${operator} must be a string or {"equals-ignore-case": string}`);
}

const NUMERIC_OPERATORS = new Set(['=', '<', '<=', '>', '>=']);

/** One value matcher from a pattern leaf array, compiled once. Returns whether one leaf value matches. */
type ValueMatcher = (value: Json) => boolean;

/** A compiled leaf: the whole array of alternatives for one field (OR), including `exists`. */
type LeafMatcher = (field: FieldValues) => boolean;

function compileValueMatcher(spec: unknown): { exists?: boolean; match?: ValueMatcher } {
  if (spec === null || typeof spec === 'string' || typeof spec === 'number' || typeof spec === 'boolean') {
    // Exact match is type-strict: the pattern "5" does not match the number 5, and null only null.
    return { match: (value) => value === spec };
  }
  if (!isPlainObject(spec)) throw new InvalidEventPatternError(`unsupported pattern value ${JSON.stringify(spec)}`);
  const keys = Object.keys(spec);
  if (keys.length !== 1) throw new InvalidEventPatternError(`a pattern operator object takes exactly one key: ${JSON.stringify(spec)}`);
  const operator = keys[0]!;
  const operand = spec[operator];
  switch (operator) {
    case 'exists':
      if (typeof operand !== 'boolean') throw new InvalidEventPatternError('exists must be true or false');
      return { exists: operand };
    case 'prefix': {
      const { text, ignoreCase } = stringOperand(operator, operand);
      const lower = text.toLowerCase();
      return { match: (v) => typeof v === 'string' && (ignoreCase ? v.toLowerCase().startsWith(lower) : v.startsWith(text)) };
    }
    case 'suffix': {
      const { text, ignoreCase } = stringOperand(operator, operand);
      const lower = text.toLowerCase();
      return { match: (v) => typeof v === 'string' && (ignoreCase ? v.toLowerCase().endsWith(lower) : v.endsWith(text)) };
    }
    case 'equals-ignore-case': {
      if (typeof operand !== 'string') throw new InvalidEventPatternError('equals-ignore-case must be a string');
      const lower = operand.toLowerCase();
      return { match: (v) => typeof v === 'string' && v.toLowerCase() === lower };
    }
    case 'wildcard': {
      if (typeof operand !== 'string') throw new InvalidEventPatternError('wildcard must be a string');
      const re = wildcardToRegExp(operand);
      return { match: (v) => typeof v === 'string' && re.test(v) };
    }
    case 'numeric': {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4) {
        throw new InvalidEventPatternError('numeric takes one or two [operator, number] pairs');
      }
      const checks: Array<(n: number) => boolean> = [];
      for (let i = 0; i < operand.length; i += 2) {
        const op = operand[i];
        const bound = operand[i + 1];
        if (typeof op !== 'string' || !NUMERIC_OPERATORS.has(op) || typeof bound !== 'number') {
          throw new InvalidEventPatternError(`invalid numeric condition ${JSON.stringify(operand)}`);
        }
        checks.push(
          op === '=' ? (n) => n === bound : op === '<' ? (n) => n < bound : op === '<=' ? (n) => n <= bound : op === '>' ? (n) => n > bound : (n) => n >= bound,
        );
      }
      // Numeric matching applies to JSON numbers only; "5" is a string and never matches.
      return { match: (v) => typeof v === 'number' && checks.every((check) => check(v)) };
    }
    case 'cidr': {
      if (typeof operand !== 'string') throw new InvalidEventPatternError('cidr must be a string');
      const [address, bitsText] = operand.split('/');
      const base = ipv4ToInt(address ?? '');
      const bits = Number(bitsText);
      // IPv6 ranges are valid in EventBridge but not needed here; refuse rather than mismatch silently.
      if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) {
        throw new InvalidEventPatternError(`the local bus supports IPv4 cidr only: ${operand}`);
      }
      const size = 2 ** (32 - bits);
      const start = base - (base % size);
      return {
        match: (v) => {
          const ip = typeof v === 'string' ? ipv4ToInt(v) : undefined;
          return ip !== undefined && ip >= start && ip < start + size;
        },
      };
    }
    case 'anything-but': {
      let excluded: ValueMatcher;
      if (Array.isArray(operand)) {
        if (!operand.every((o) => typeof o === 'string' || typeof o === 'number')) {
          throw new InvalidEventPatternError('anything-but lists hold strings or numbers');
        }
        excluded = (v) => operand.includes(v as never);
      } else if (typeof operand === 'string' || typeof operand === 'number') {
        excluded = (v) => v === operand;
      } else if (isPlainObject(operand) && Object.keys(operand).length === 1) {
        const inner = Object.keys(operand)[0]!;
        const innerOperand = operand[inner];
        if (inner === 'equals-ignore-case') {
          const list = Array.isArray(innerOperand) ? innerOperand : [innerOperand];
          if (!list.every((o) => typeof o === 'string')) throw new InvalidEventPatternError('anything-but equals-ignore-case takes strings');
          const lowered = new Set((list as string[]).map((s) => s.toLowerCase()));
          excluded = (v) => typeof v === 'string' && lowered.has(v.toLowerCase());
        } else if (inner === 'prefix' || inner === 'suffix' || inner === 'wildcard') {
          if (typeof innerOperand !== 'string') throw new InvalidEventPatternError(`anything-but ${inner} takes a string`);
          excluded = compileValueMatcher({ [inner]: innerOperand }).match!;
        } else {
          throw new InvalidEventPatternError(`unsupported anything-but operator ${inner}`);
        }
      } else {
        throw new InvalidEventPatternError(`invalid anything-but ${JSON.stringify(operand)}`);
      }
      return { match: (v) => !excluded(v) };
    }
    default:
      throw new InvalidEventPatternError(`unsupported pattern operator ${operator}`);
  }
}

function compileLeaf(alternatives: unknown[]): LeafMatcher {
  if (alternatives.length === 0) throw new InvalidEventPatternError('a pattern field must list at least one value');
  const compiled = alternatives.map(compileValueMatcher);
  return (field) =>
    compiled.some(({ exists, match }) => {
      if (exists !== undefined) {
        // `exists` looks at leaves only: an object-valued field does not "exist" for it.
        return exists ? field.kind === 'leaves' : field.kind !== 'leaves';
      }
      // Every other operator, anything-but included, needs the field to be present.
      return field.kind === 'leaves' && field.values.some((value) => match!(value));
    });
}

type ObjectMatcher = (value: unknown) => boolean;

function compileObject(pattern: Record<string, unknown>): ObjectMatcher {
  const parts: ObjectMatcher[] = [];
  for (const [key, spec] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(spec) || spec.length < 2 || !spec.every(isPlainObject)) {
        throw new InvalidEventPatternError('$or takes an array of at least two patterns');
      }
      const branches = spec.map((branch) => compileObject(branch));
      parts.push((obj) => branches.some((branch) => branch(obj)));
    } else if (Array.isArray(spec)) {
      const leaf = compileLeaf(spec);
      parts.push((obj) => leaf(fieldValues(isPlainObject(obj) ? obj[key] : undefined)));
    } else if (isPlainObject(spec)) {
      const nested = compileObject(spec);
      parts.push((obj) => {
        const value = isPlainObject(obj) ? obj[key] : undefined;
        // An array of objects matches when one element matches the whole sub-pattern (EventBridge
        // keeps array elements consistent: fields from different elements do not combine).
        if (Array.isArray(value)) return value.some((element) => nested(element)) || (value.length === 0 && nested(undefined));
        return nested(value);
      });
    } else {
      throw new InvalidEventPatternError(`pattern field ${key} must be an array or an object, got ${JSON.stringify(spec)}`);
    }
  }
  return (obj) => parts.every((part) => part(obj));
}

/**
 * Compiles an EventBridge event pattern into a predicate, throwing {@link InvalidEventPatternError}
 * for patterns EventBridge would reject. Supported: exact values (string, number, boolean, null;
 * arrays are OR), nested objects, `$or`, `prefix`/`suffix` (also with `equals-ignore-case`),
 * `equals-ignore-case`, `wildcard`, `anything-but` (value, list, prefix, suffix, wildcard,
 * equals-ignore-case), `exists`, `numeric` and IPv4 `cidr`.
 */
export function compileEventPattern(pattern: object): (event: object) => boolean {
  if (!isPlainObject(pattern)) throw new InvalidEventPatternError('an event pattern is a JSON object');
  if (Object.keys(pattern).length === 0) throw new InvalidEventPatternError('an event pattern needs at least one field');
  return compileObject(pattern);
}

/**
 * Whether an EventBridge event matches an event pattern, with EventBridge's rules: every field of
 * the pattern must match (AND); the values listed for a field are alternatives (OR); a field holding
 * an array matches when any element does; matching is type-strict and case-sensitive unless
 * `equals-ignore-case` says otherwise; every operator except `exists: false` needs the field present.
 *
 * @example
 * matchesEventPattern({ source: ['voltledger.ocpp'], detail: { data: { energyWh: [{ numeric: ['>', 0] }] } } }, event)
 */
export function matchesEventPattern(pattern: object, event: object): boolean {
  return compileEventPattern(pattern)(event);
}

// ---------------------------------------------------------------------------------------------
// The bus
// ---------------------------------------------------------------------------------------------

/** The event a target receives: EventBridge's envelope around the published detail. */
export type BusEvent = EventBridgeEvent<string, unknown>;

/** A consumer: the local stand-in for a rule target (a Lambda function in AWS). Throwing means "retry". */
export type EventTarget = (event: BusEvent) => Promise<void>;

/** A rule as the CDK stack deploys it: a pattern and the ids of the targets it invokes. */
export interface LocalRule {
  name: string;
  eventPattern: object;
  targets: string[];
}

/** An event that exhausted its retries for one target. */
export interface DeadLetter {
  event: BusEvent;
  target: string;
  error: string;
  attempts: number;
  failedAt: string;
}

/** One PutEvents entry, as the EventBridge API takes it. */
export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  /** Epoch seconds (the JSON protocol's timestamp), a Date or an ISO string. */
  Time?: number | string | Date;
  EventBusName?: string;
  TraceHeader?: string;
}

/** One PutEvents result entry, as the EventBridge API answers it. */
export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

export interface LocalEventBusOptions {
  rules: LocalRule[];
  /** Handlers by target id; a rule target without a handler delivers nowhere (logged once per event). */
  targets: Record<string, EventTarget>;
  /** Folder for the journal (`bus/journal.jsonl`) and dead letters; undefined keeps everything in memory. */
  dataDir?: string;
  log?: Log;
  /** Attempts per (event, target) before it is dead-lettered (default 5). */
  maxAttempts?: number;
  /** First retry delay; each further retry doubles it (default 100 ms). */
  baseDelayMs?: number;
  /** Makes at-least-once and unordered delivery visible, for idempotency tests. */
  chaos?: { duplicateEveryDelivery?: boolean; shuffle?: boolean };
  /** `account` of delivered events (default 000000000000). */
  account?: string;
  /** `region` of delivered events when the request's signature names none (default us-east-1). */
  region?: string;
  /** Stamps events sent without `Time` and dead letters (default the system clock); the stack passes its own. */
  clock?: Clock;
}

/** Thrown for a PutEvents request EventBridge would reject whole (HTTP 400); `type` is the error EventBridge names. */
export class PutEventsValidationError extends VoltLedgerError {
  constructor(
    message: string,
    readonly type = 'ValidationException',
  ) {
    super(message);
  }
}

/** EventBridge's limits: 10 entries per call, 256 KB per call measured its way. */
const MAX_ENTRIES = 10;
const MAX_REQUEST_BYTES = 256 * 1024;

/**
 * Size of an entry the way EventBridge counts it (eb-putevent-size): 14 bytes for Time when given,
 * plus the UTF-8 bytes of Source, DetailType, Detail and every Resources element.
 */
function entrySize(entry: PutEventsEntry): number {
  let size = entry.Time !== undefined ? 14 : 0;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (typeof text === 'string') size += Buffer.byteLength(text, 'utf8');
  }
  return size;
}

function validateEntry(entry: PutEventsEntry): { code: string; message: string } | undefined {
  for (const field of ['Source', 'DetailType', 'Detail'] as const) {
    const value = entry[field];
    if (typeof value !== 'string' || value.length === 0) {
      return { code: 'InvalidArgument', message: `Parameter ${field} is not valid. Reason: ${field} is a required argument.` };
    }
  }
  let detail: unknown;
  try {
    detail = JSON.parse(entry.Detail!);
  } catch {
    return { code: 'MalformedDetail', message: 'Detail is malformed.' };
  }
  // EventBridge wants a JSON object: an array, string or number is as malformed as broken JSON.
  if (!isPlainObject(detail)) return { code: 'MalformedDetail', message: 'Detail is malformed.' };
  if (entry.Resources !== undefined && (!Array.isArray(entry.Resources) || !entry.Resources.every((r) => typeof r === 'string'))) {
    return { code: 'InvalidArgument', message: 'Parameter Resources is not valid. Reason: Resources must be a list of strings.' };
  }
  if (entry.Time !== undefined && Number.isNaN(toDate(entry.Time).getTime())) {
    return { code: 'InvalidArgument', message: 'Parameter Time is not valid.' };
  }
  return undefined;
}

function toDate(time: number | string | Date): Date {
  if (time instanceof Date) return time;
  return typeof time === 'number' ? new Date(time * 1000) : new Date(time);
}

/** EventBridge's `time` has second precision: 2026-11-23T09:00:00Z. */
const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The region in a SigV4 Authorization header (Credential=AKID/20260101/eu-west-1/events/aws4_request). */
function regionFromAuthorization(header: string | undefined): string | undefined {
  return header?.match(/Credential=[^/]+\/\d{8}\/([^/]+)\//)?.[1];
}

type JournalRecord =
  | { type: 'accepted'; event: BusEvent; targets: string[] }
  | { type: 'delivered'; id: string; target: string }
  | { type: 'dead'; id: string; target: string };

/**
 * Append-only journal with group commit: records queued while a write is in progress go out in the
 * next single write, and one fsync covers every durable record in it.
 */
class Journal {
  private queue: Array<{ text: string; durable: boolean; resolve: () => void; reject: (error: unknown) => void }> = [];
  private flushing: Promise<void> | undefined;

  constructor(private readonly handle: FileHandle) {}

  static async open(path: string): Promise<Journal> {
    return new Journal(await open(path, 'a'));
  }

  append(records: JournalRecord[], durable: boolean): Promise<void> {
    const text = records.map((r) => JSON.stringify(r) + '\n').join('');
    return new Promise((resolve, reject) => {
      this.queue.push({ text, durable, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        await this.handle.write(batch.map((b) => b.text).join(''));
        if (batch.some((b) => b.durable)) await this.handle.datasync();
        for (const b of batch) b.resolve();
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    }
    this.flushing = undefined;
  }

  async close(): Promise<void> {
    await this.flushing;
    await this.handle.close();
  }
}

/**
 * Reads a journal and returns the (event, target) pairs accepted but neither delivered nor
 * dead-lettered. A torn last line (the process died mid-write) was never acknowledged: skipped.
 */
function pendingFromJournal(path: string): Array<{ event: BusEvent; targets: string[] }> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const pending = new Map<string, { event: BusEvent; targets: Set<string> }>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
    } catch {
      continue;
    }
    if (record.type === 'accepted') {
      const existing = pending.get(record.event.id);
      if (existing) for (const t of record.targets) existing.targets.add(t);
      else pending.set(record.event.id, { event: record.event, targets: new Set(record.targets) });
    } else {
      pending.get(record.id)?.targets.delete(record.target);
    }
  }
  return [...pending.values()].filter((p) => p.targets.size > 0).map((p) => ({ event: p.event, targets: [...p.targets] }));
}

/** Rewrites a journal to hold only what is still pending, atomically (temp file, fsync, rename). */
function compactJournal(dir: string, path: string, pending: Array<{ event: BusEvent; targets: string[] }>): void {
  const temp = `${path}.compact`;
  writeFileSync(temp, pending.map((p) => JSON.stringify({ type: 'accepted', event: p.event, targets: p.targets } satisfies JournalRecord) + '\n').join(''));
  const fd = openSync(temp, 'r');
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, path);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * A local EventBridge bus. It speaks EventBridge's JSON 1.1 protocol for `AWSEvents.PutEvents`, so
 * the real `@aws-sdk/client-eventbridge` client publishes to it through its `endpoint` (or
 * `AWS_ENDPOINT_URL_EVENTBRIDGE`), and it routes with the same rules the CDK stack deploys.
 *
 * Delivery is what EventBridge promises and no more: asynchronous (PutEvents answers before any
 * target runs), at least once, in no guaranteed order, retried with exponential backoff when a
 * target throws, then dead-lettered. With a `dataDir`, an accepted event is fsync'd to a journal
 * before PutEvents answers and every (event, target) pair not yet delivered is redelivered after a
 * restart, so nothing acknowledged is lost, even to SIGKILL.
 */
export class LocalEventBus {
  private readonly rules: Array<{ name: string; matches: (event: object) => boolean; targets: string[] }>;
  private readonly log: Log;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly listeners = new Set<(event: BusEvent) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly deadLetterList: DeadLetter[] = [];
  private readonly busDir: string | undefined;
  private journal: Journal | undefined;
  private starting: Promise<void> | undefined;
  private server: Server | undefined;
  private inFlight = 0;
  private closed = false;
  private deliveredCount = 0;
  private acceptedCount = 0;

  constructor(private readonly options: LocalEventBusOptions) {
    this.log = options.log ?? silentLog;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.baseDelayMs = options.baseDelayMs ?? 100;
    // Compile now: a rule EventBridge would reject must fail at start-up, not match nothing quietly.
    this.rules = options.rules.map((rule) => {
      try {
        return { name: rule.name, matches: compileEventPattern(rule.eventPattern), targets: rule.targets };
      } catch (error) {
        throw new InvalidEventPatternError(`rule ${rule.name}: ${(error as Error).message}`);
      }
    });
    this.busDir = options.dataDir ? join(options.dataDir, 'bus') : undefined;
  }

  /** Successful deliveries so far, one per (event, target) attempt that returned. */
  get delivered(): number {
    return this.deliveredCount;
  }

  /** Events accepted by PutEvents so far. */
  get accepted(): number {
    return this.acceptedCount;
  }

  /** Deliveries that exhausted their attempts, oldest first (this process only; see dead-letters.jsonl). */
  get deadLetters(): readonly DeadLetter[] {
    return this.deadLetterList;
  }

  /** Observes every accepted event (printing, tests); returns a function that stops observing. */
  subscribe(listener: (event: BusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Opens the journal and redelivers what a previous run left undelivered. `listen` calls it;
   * call it yourself to use {@link putEvents} without HTTP.
   */
  start(): Promise<void> {
    this.starting ??= this.recover();
    return this.starting;
  }

  private async recover(): Promise<void> {
    if (!this.busDir) return;
    mkdirSync(this.busDir, { recursive: true });
    const path = join(this.busDir, 'journal.jsonl');
    const pending = pendingFromJournal(path);
    compactJournal(this.busDir, path, pending);
    this.journal = await Journal.open(path);
    for (const { event, targets } of pending) {
      const known = targets.filter((t) => this.options.targets[t]);
      const unknown = targets.filter((t) => !this.options.targets[t]);
      // Kept in the journal: a later run that has the handler will deliver them.
      if (unknown.length) this.log.warn('undelivered events wait for targets this run has no handler for', { eventId: event.id, targets: unknown });
      this.log.info('redelivering an event accepted before the restart', { eventId: event.id, targets: known });
      this.dispatch(event, known);
    }
  }

  /** Starts the HTTP endpoint; point the SDK's `endpoint` at the returned URL. */
  async listen(port = 0, host = '127.0.0.1'): Promise<{ endpoint: string }> {
    await this.start();
    const server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return { endpoint: `http://${hostPart}:${address.port}` };
  }

  /**
   * PutEvents without HTTP: validates like EventBridge (per entry, and the whole request for the 10
   * entry and 256 KB limits, throwing {@link PutEventsValidationError}), makes accepted events
   * durable, then schedules delivery and answers.
   */
  async putEvents(entries: PutEventsEntry[], context: { region?: string } = {}): Promise<{ FailedEntryCount: number; Entries: PutEventsResultEntry[] }> {
    if (this.closed) throw new Error('the local event bus is closed');
    await this.start();
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new PutEventsValidationError("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
    }
    if (entries.length > MAX_ENTRIES) {
      throw new PutEventsValidationError(
        `1 validation error detected: Value '[...]' at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ENTRIES}`,
      );
    }
    if (entries.reduce((sum, entry) => sum + entrySize(entry), 0) > MAX_REQUEST_BYTES) {
      throw new PutEventsValidationError('Total size of the entries in the request is over the limit.');
    }
    const results: PutEventsResultEntry[] = [];
    const accepted: Array<{ event: BusEvent; targets: string[] }> = [];
    for (const entry of entries) {
      const invalid = validateEntry(entry);
      if (invalid) {
        results.push({ ErrorCode: invalid.code, ErrorMessage: invalid.message });
        continue;
      }
      const event: BusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType!,
        source: entry.Source!,
        account: this.options.account ?? '000000000000',
        time: isoSeconds(entry.Time !== undefined ? toDate(entry.Time) : (this.options.clock ?? systemClock).now()),
        region: context.region ?? this.options.region ?? 'us-east-1',
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail!),
      };
      accepted.push({ event, targets: this.route(event) });
      results.push({ EventId: event.id });
    }
    if (this.journal && accepted.length > 0) {
      // Durable before acknowledged: PutEvents only answers once the journal is fsync'd.
      await this.journal.append(
        accepted.map(({ event, targets }) => ({ type: 'accepted', event, targets })),
        true,
      );
    }
    this.acceptedCount += accepted.length;
    for (const { event, targets } of accepted) {
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch (error) {
          this.log.warn('event bus listener threw', { error: String(error) });
        }
      }
      this.dispatch(event, targets);
    }
    const failed = results.filter((r) => r.ErrorCode).length;
    return { FailedEntryCount: failed, Entries: results };
  }

  /** Target ids of every rule the event matches, each once, only those with a handler. */
  private route(event: BusEvent): string[] {
    const targets = new Set<string>();
    for (const rule of this.rules) {
      if (!rule.matches(event)) continue;
      for (const target of rule.targets) {
        if (this.options.targets[target]) targets.add(target);
        else this.log.debug('rule matched but its target has no local handler', { rule: rule.name, target, eventId: event.id });
      }
    }
    return [...targets];
  }

  private dispatch(event: BusEvent, targets: string[]): void {
    const chaos = this.options.chaos ?? {};
    const jobs = targets.flatMap((target) => (chaos.duplicateEveryDelivery ? [target, target] : [target]));
    if (chaos.shuffle) {
      for (let i = jobs.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
      }
    }
    for (const target of jobs) {
      // Shuffle also delays each delivery a little at random, so events of different calls overtake each other.
      this.schedule(() => this.attempt(event, target, 1), chaos.shuffle ? Math.floor(Math.random() * 20) : 0);
    }
  }

  private schedule(run: () => Promise<void>, delayMs: number): void {
    if (this.closed) return;
    this.inFlight++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void run().finally(() => this.settle());
    }, delayMs);
    this.timers.add(timer);
  }

  private settle(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async attempt(event: BusEvent, target: string, attempt: number): Promise<void> {
    const handler = this.options.targets[target];
    try {
      if (!handler) throw new Error(`no handler for target ${target}`);
      // Deliver a copy: a target mutating its event must not change what a retry or another target sees.
      await handler(structuredClone(event));
    } catch (error) {
      if (this.closed) return; // stays pending in the journal; the next run redelivers it
      if (attempt < this.maxAttempts) {
        const delay = this.baseDelayMs * 2 ** (attempt - 1);
        this.log.warn('event delivery failed; retrying', { eventId: event.id, target, attempt, delayMs: delay, error: String(error) });
        this.schedule(() => this.attempt(event, target, attempt + 1), delay);
        return;
      }
      await this.deadLetter(event, target, error, attempt);
      return;
    }
    this.deliveredCount++;
    // Not fsync'd: losing this mark only means one more delivery after a crash, which at-least-once allows.
    await this.journal?.append([{ type: 'delivered', id: event.id, target }], false).catch((error) => {
      this.log.warn('could not journal a delivery', { eventId: event.id, error: String(error) });
    });
  }

  private async deadLetter(event: BusEvent, target: string, error: unknown, attempts: number): Promise<void> {
    const letter: DeadLetter = {
      event,
      target,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      attempts,
      failedAt: (this.options.clock ?? systemClock).now().toISOString(),
    };
    this.deadLetterList.push(letter);
    this.log.error('event dead-lettered after its last attempt', { eventId: event.id, target, attempts, error: letter.error });
    if (!this.busDir) return;
    try {
      await appendFile(join(this.busDir, 'dead-letters.jsonl'), JSON.stringify(letter) + '\n');
      await this.journal?.append([{ type: 'dead', id: event.id, target }], true);
    } catch (writeError) {
      this.log.error('could not record a dead letter', { eventId: event.id, error: String(writeError) });
    }
  }

  /** Resolves once no delivery is running or scheduled (retries included). */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops the endpoint and cancels scheduled deliveries and retries (they stay pending in the
   * journal), waits for running ones, then closes the journal. Call {@link drain} first to deliver
   * everything.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) {
      clearTimeout(timer);
      this.settle();
    }
    this.timers.clear();
    const server = this.server;
    if (server) {
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.starting?.catch(() => undefined);
    await this.drain();
    await this.journal?.close();
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown, errorType?: string) => {
      const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() };
      if (errorType) headers['x-amzn-errortype'] = errorType;
      res.writeHead(status, headers);
      res.end(JSON.stringify(body));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const target = req.headers['x-amz-target'];
      if (req.method !== 'POST' || typeof target !== 'string') {
        reply(400, { __type: 'UnknownOperationException', message: 'The local event bus only answers POST with X-Amz-Target' }, 'UnknownOperationException');
        return;
      }
      if (target !== 'AWSEvents.PutEvents') {
        reply(400, { __type: 'UnknownOperationException', message: `The local event bus implements only PutEvents, not ${target}` }, 'UnknownOperationException');
        return;
      }
      let input: { Entries?: PutEventsEntry[] };
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        reply(400, { __type: 'SerializationException', message: 'Request body is not valid JSON' }, 'SerializationException');
        return;
      }
      const region = regionFromAuthorization(req.headers.authorization);
      const output = await this.putEvents(input.Entries ?? [], { region });
      reply(200, output);
    } catch (error) {
      if (error instanceof PutEventsValidationError) {
        reply(400, { __type: error.type, message: error.message }, error.type);
        return;
      }
      this.log.error('local event bus request failed', { error: String(error) });
      reply(500, { __type: 'InternalException', message: String(error) }, 'InternalException');
    }
  }
}
