import { setTimeout as sleep } from 'node:timers/promises';
import { mapWithConcurrency } from './stats.ts';
import type { LedgerSession } from './load-simulation.ts';

/** A session as the admin API returns it (the fields the checks read). */
export interface StoredSession {
  transactionId: number;
  chargePointId: string;
  connectorId: number;
  startedAt: string;
  meterStartWh: number;
  state: 'started' | 'stopped' | 'completed';
  authorizationStatus?: string;
  stoppedAt?: string;
  meterStopWh?: number;
  energyWh?: number;
  completedAt?: string;
  completedBy?: string;
  createdAt: string;
  pricedAt?: string;
  totalMinor?: number;
  pricingError?: { reason: string };
}

/** `GET /admin/sessions?transactionId=`: the session with its samples and price. */
export interface StoredSessionView extends StoredSession {
  meterSamples: Array<{ timestamp: string; source: string; sampledValue: Array<{ value: string; measurand?: string }> }>;
  price: unknown;
}

/** Where the checks read the central system's records: the admin API (any stack) or a test double. */
export interface SessionSource {
  /** A charge point's latest sessions (the admin API gives at most 100). */
  listSessions(chargePointId: string): Promise<StoredSession[]>;
  session(chargePointId: string, transactionId: number): Promise<StoredSessionView | undefined>;
}

/** Event ids the bus carried per session and type (in-process runs only): each type once per session. */
export type EventTally = Map<string, Map<string, { ids: Set<string>; deliveries: number; totals: Set<string> }>>;

export interface InvariantCheck {
  /** What is counted. */
  name: string;
  value: number;
  /** For a count that must be zero (or match `expected`). */
  expected?: number;
  ok?: boolean;
  /** A few offending sessions, for the report. */
  examples: string[];
}

export interface InvariantReport {
  ok: boolean;
  checks: InvariantCheck[];
  /** Seconds spent reading back (including waiting for prices). */
  readBackS: number;
  sessionsRead: number;
}

export interface InvariantOptions {
  /** Server-side records created before this (epoch ms) belong to earlier runs and are not checked. */
  runStartedAtMs: number;
  /** How long to wait for completed sessions to be priced (pricing is asynchronous; default 60 s). */
  settleTimeoutS?: number;
  /** Admin reads in flight (default 16). */
  concurrency?: number;
  events?: EventTally;
}

const EXAMPLES = 5;
const same = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && Date.parse(a) === Date.parse(b);
const label = (s: Pick<LedgerSession, 'chargePointId' | 'connectorId' | 'transactionId' | 'startedAt'>) => `${s.chargePointId}/${s.connectorId} tx ${s.transactionId ?? '-'} started ${s.startedAt}`;

/**
 * Checks the store against what the charge points had acknowledged: nothing lost, nothing
 * duplicated, every stop recorded once, every unplugged session completed once and priced once.
 *
 * - lost session: a StartTransaction.conf was received, but the store has no session with that
 *   transactionId on that charge point, connector, start time and meter start;
 * - duplicated session: one start answered with two transactionIds, two starts with one, or a
 *   session of this run in the store that no charge point started;
 * - samples: every acknowledged MeterValues reading stored once with its value; none extra;
 * - stop: every acknowledged StopTransaction recorded (time, meter, energy = stop - start) with
 *   one Transaction.End sample;
 * - completion and price: every session whose stop and unplug were acknowledged is completed by the
 *   unplug at the unplug's time and has a price (waiting up to `settleTimeoutS` for pricing).
 */
export async function checkLoadInvariants(ledger: LedgerSession[], source: SessionSource, options: InvariantOptions): Promise<InvariantReport> {
  const started = performance.now();
  const concurrency = options.concurrency ?? 16;
  const check = (name: string, expected?: number): InvariantCheck => ({ name, value: 0, ...(expected !== undefined ? { expected } : {}), examples: [] });
  const add = (c: InvariantCheck, example?: string) => {
    c.value += 1;
    if (example && c.examples.length < EXAMPLES) c.examples.push(example);
  };

  const acknowledged = ledger.filter((s) => s.transactionId !== undefined);
  const starts = check('sessions started (StartTransaction acknowledged)');
  starts.value = acknowledged.length;
  const startsUnacknowledged = check('StartTransaction sent, never acknowledged (run ended first)');
  for (const s of ledger) if (s.startedAt && s.transactionId === undefined) add(startsUnacknowledged, label(s));
  const rejected = check('StartTransaction answered other than Accepted', 0);
  const lost = check('lost sessions (acknowledged, not in the store as started)', 0);
  const duplicated = check('duplicated sessions (one start, two transactionIds; or a stored session no charge point started)', 0);
  const samplesLost = check('MeterValues samples lost (acknowledged, not stored with their value)', 0);
  const samplesDuplicated = check('MeterValues samples duplicated or unexpected', 0);
  const stopsAcknowledged = check('stops acknowledged (StopTransaction)');
  const stopsLost = check('stops lost or wrong (acknowledged, not recorded with its time, meter and energy)', 0);
  const stopSamples = check('sessions without exactly one Transaction.End sample', 0);
  const toComplete = check('sessions stopped and unplugged (both acknowledged)');
  const notCompleted = check('not completed once by the unplug', 0);
  const priced = check('sessions priced');
  const notPriced = check('completed, not priced', 0);
  const pricingFailed = check('pricing failed', 0);

  // One start, one transactionId; one transactionId, one start.
  const byTransaction = new Map<number, LedgerSession>();
  for (const s of acknowledged) {
    if (s.startStatus !== 'Accepted') add(rejected, `${label(s)}: ${s.startStatus}`);
    for (const other of s.conflictingTransactionIds) add(duplicated, `${label(s)}: a retry got transactionId ${other}`);
    const seen = byTransaction.get(s.transactionId!);
    if (seen) add(duplicated, `transactionId ${s.transactionId} answered to two starts: ${label(seen)} and ${label(s)}`);
    else byTransaction.set(s.transactionId!, s);
  }

  // Sessions of this run in the store that no charge point started (a replay creating a second session).
  const byChargePoint = new Map<string, LedgerSession[]>();
  for (const s of ledger) byChargePoint.set(s.chargePointId, [...(byChargePoint.get(s.chargePointId) ?? []), s]);
  const truncated: string[] = [];
  await mapWithConcurrency([...byChargePoint.keys()], concurrency, async (chargePointId) => {
    const stored = await source.listSessions(chargePointId);
    if (stored.length >= 100) truncated.push(chargePointId);
    const own = byChargePoint.get(chargePointId)!;
    const mine = new Set(own.filter((s) => s.transactionId !== undefined).map((s) => s.transactionId!));
    const seenStarts = new Set<string>();
    for (const session of stored) {
      if (Date.parse(session.createdAt) < options.runStartedAtMs - 1000) continue;
      const key = `${session.connectorId}#${Date.parse(session.startedAt)}`;
      if (seenStarts.has(key)) add(duplicated, `${chargePointId}: two stored sessions for connector ${session.connectorId} started ${session.startedAt}`);
      seenStarts.add(key);
      if (!mine.has(session.transactionId) && !own.some((s) => s.transactionId === undefined && same(s.startedAt, session.startedAt))) {
        add(duplicated, `${chargePointId}: stored transaction ${session.transactionId} (started ${session.startedAt}) was never acknowledged to the charge point as a new session`);
      }
    }
  });

  // Read every acknowledged session back; wait for prices of completed sessions.
  const views = new Map<number, StoredSessionView | undefined>();
  const read = (sessions: LedgerSession[]) =>
    mapWithConcurrency(sessions, concurrency, async (s) => {
      views.set(s.transactionId!, await source.session(s.chargePointId, s.transactionId!));
    });
  await read(acknowledged);
  const deadline = performance.now() + (options.settleTimeoutS ?? 60) * 1000;
  const waiting = () =>
    acknowledged.filter((s) => {
      const view = views.get(s.transactionId!);
      return view !== undefined && view.state === 'completed' && view.pricedAt === undefined && view.pricingError === undefined;
    });
  for (let pending = waiting(); pending.length > 0 && performance.now() < deadline; pending = waiting()) {
    await sleep(1000);
    await read(pending);
  }

  for (const s of acknowledged) {
    const view = views.get(s.transactionId!);
    if (!view || view.chargePointId !== s.chargePointId || view.connectorId !== s.connectorId || !same(view.startedAt, s.startedAt) || view.meterStartWh !== s.meterStartWh) {
      add(lost, view ? `${label(s)}: stored as ${view.chargePointId}/${view.connectorId} started ${view.startedAt}, meterStart ${view.meterStartWh}` : `${label(s)}: not in the store`);
      continue;
    }
    // Samples: each acknowledged reading once, with its value; nothing the charge point did not send.
    const stored = new Map<number, string[]>();
    for (const sample of view.meterSamples.filter((x) => x.source === 'MeterValues')) {
      const at = Date.parse(sample.timestamp);
      const register = sample.sampledValue.find((v) => v.measurand === 'Energy.Active.Import.Register')?.value ?? '?';
      stored.set(at, [...(stored.get(at) ?? []), register]);
    }
    const sent = new Map(s.meterValues.map((m) => [Date.parse(m.timestamp), m]));
    for (const m of s.meterValues) {
      if (!m.acked) continue;
      const values = stored.get(Date.parse(m.timestamp));
      if (!values?.includes(String(m.registerWh))) add(samplesLost, `${label(s)}: reading ${m.timestamp} (${m.registerWh} Wh)`);
    }
    for (const [at, values] of stored) {
      if (values.length > 1) add(samplesDuplicated, `${label(s)}: ${values.length} samples at ${new Date(at).toISOString()}`);
      if (!sent.has(at)) add(samplesDuplicated, `${label(s)}: a sample at ${new Date(at).toISOString()} the charge point never sent`);
    }

    if (s.stop?.acked) {
      add(stopsAcknowledged);
      const energy = s.stop.meterStopWh - s.meterStartWh;
      if (view.state === 'started' || !same(view.stoppedAt, s.stop.timestamp) || view.meterStopWh !== s.stop.meterStopWh || view.energyWh !== energy) {
        add(stopsLost, `${label(s)}: state ${view.state}, stopped ${view.stoppedAt ?? '-'} (sent ${s.stop.timestamp}), meterStop ${view.meterStopWh ?? '-'} (sent ${s.stop.meterStopWh}), energy ${view.energyWh ?? '-'} Wh`);
      }
      const endSamples = view.meterSamples.filter((x) => x.source === 'StopTransaction').length;
      if (endSamples !== 1) add(stopSamples, `${label(s)}: ${endSamples} Transaction.End samples`);
    }

    if (s.stop?.acked && s.unplug?.acked) {
      add(toComplete);
      if (view.state !== 'completed' || view.completedBy !== 'unplugged' || !same(view.completedAt, s.unplug.timestamp)) {
        add(notCompleted, `${label(s)}: state ${view.state}, completed ${view.completedAt ?? '-'} by ${view.completedBy ?? '-'} (unplugged ${s.unplug.timestamp})`);
        continue;
      }
      if (view.pricingError) add(pricingFailed, `${label(s)}: ${view.pricingError.reason}`);
      else if (view.pricedAt === undefined || view.totalMinor === undefined || !view.price) add(notPriced, label(s));
      else add(priced);
    }
  }

  const checks = [starts, startsUnacknowledged, rejected, lost, duplicated, samplesLost, samplesDuplicated, stopsAcknowledged, stopsLost, stopSamples, toComplete, notCompleted, priced, notPriced, pricingFailed];

  if (options.events) checks.push(...eventInvariantChecks(acknowledged.map(ledgerSummary), options.events, (s) => views.get(s.transactionId!)));

  for (const c of checks) if (c.expected !== undefined) c.ok = c.value === c.expected;
  if (truncated.length) {
    const note = check(`charge points with 100 or more stored sessions (only the latest 100 checked for duplicates)`);
    note.value = truncated.length;
    note.examples = truncated.slice(0, EXAMPLES);
    checks.push(note);
  }
  return { ok: checks.every((c) => c.ok !== false), checks, readBackS: (performance.now() - started) / 1000, sessionsRead: views.size };
}

/** What the event checks need of a ledger session; small enough for another process to hand over as JSON. */
export interface LedgerSummary {
  chargePointId: string;
  connectorId: number;
  startedAt: string;
  transactionId?: number;
  startStatus?: string;
  stopAcked: boolean;
  unplugAcked: boolean;
}

export function ledgerSummary(s: LedgerSession): LedgerSummary {
  return {
    chargePointId: s.chargePointId,
    connectorId: s.connectorId,
    startedAt: s.startedAt,
    ...(s.transactionId !== undefined ? { transactionId: s.transactionId } : {}),
    ...(s.startStatus !== undefined ? { startStatus: s.startStatus } : {}),
    stopAcked: s.stop?.acked ?? false,
    unplugAcked: s.unplug?.acked ?? false,
  };
}

/**
 * The bus's events per acknowledged session: each of SessionStarted, SessionStopped (when the stop
 * was acknowledged), SessionCompleted and SessionPriced (when the store says completed or priced)
 * under exactly one event id, and never two different totals. At-least-once delivery may repeat an
 * event, but never with another id or other figures. Only a process that sees the bus can tally the
 * events; `stored` is the store's view of the session (state and pricedAt).
 */
export function eventInvariantChecks(
  sessions: LedgerSummary[],
  events: EventTally,
  stored: (s: LedgerSummary) => Pick<StoredSession, 'state' | 'pricedAt'> | undefined,
): InvariantCheck[] {
  const once = (type: string): InvariantCheck => ({ name: `sessions whose ${type} has not exactly one event id`, value: 0, expected: 0, examples: [] });
  const eventChecks = { SessionStarted: once('SessionStarted'), SessionStopped: once('SessionStopped'), SessionCompleted: once('SessionCompleted'), SessionPriced: once('SessionPriced') };
  const twoTotals: InvariantCheck = { name: 'sessions priced with two different totals', value: 0, expected: 0, examples: [] };
  const add = (c: InvariantCheck, example: string) => {
    c.value += 1;
    if (c.examples.length < EXAMPLES) c.examples.push(example);
  };
  for (const s of sessions) {
    if (s.transactionId === undefined) continue;
    const tally = events.get(`sess_${s.transactionId}`);
    const expect: Array<keyof typeof eventChecks> = ['SessionStarted'];
    if (s.stopAcked) expect.push('SessionStopped');
    const view = stored(s);
    if (view?.state === 'completed') expect.push('SessionCompleted');
    if (view?.pricedAt !== undefined) expect.push('SessionPriced');
    for (const type of expect) {
      const ids = tally?.get(type)?.ids.size ?? 0;
      if (ids !== 1) add(eventChecks[type], `${label(s)}: ${ids} ${type} ids`);
    }
    if ((tally?.get('SessionPriced')?.totals.size ?? 0) > 1) add(twoTotals, `${label(s)}: totals ${[...tally!.get('SessionPriced')!.totals].join(', ')}`);
  }
  const checks = [...Object.values(eventChecks), twoTotals];
  for (const c of checks) c.ok = c.value === c.expected;
  return checks;
}

/**
 * The event checks for sessions another process ran: the store's view of each is read through the
 * admin API (one listing per charge point), the events from this process's bus.
 */
export async function checkEventInvariants(sessions: LedgerSummary[], source: SessionSource, events: EventTally, concurrency = 16): Promise<InvariantReport> {
  const started = performance.now();
  const acknowledged = sessions.filter((s) => s.transactionId !== undefined);
  const stored = new Map<string, StoredSession>();
  const chargePoints = [...new Set(acknowledged.map((s) => s.chargePointId))];
  await mapWithConcurrency(chargePoints, concurrency, async (chargePointId) => {
    for (const session of await source.listSessions(chargePointId)) stored.set(`${chargePointId}#${session.transactionId}`, session);
  });
  const checks = eventInvariantChecks(acknowledged, events, (s) => stored.get(`${s.chargePointId}#${s.transactionId}`));
  return { ok: checks.every((c) => c.ok !== false), checks, readBackS: (performance.now() - started) / 1000, sessionsRead: acknowledged.filter((s) => stored.has(`${s.chargePointId}#${s.transactionId}`)).length };
}

/** Reads sessions through the admin API (`/admin/sessions`), as an operator would. */
export function adminApiSource(adminUrl: string, adminToken: string): SessionSource {
  const base = adminUrl.replace(/\/+$/, '');
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
        const body = await response.json().catch(() => undefined);
        if (response.status >= 500 && attempt < 3) throw new Error(`HTTP ${response.status}`);
        return { status: response.status, body };
      } catch (error) {
        if (attempt >= 3) throw new Error(`admin API GET ${path}: ${(error as Error).message}`, { cause: error });
        await sleep(200 * attempt);
      }
    }
  };
  return {
    async listSessions(chargePointId) {
      const { status, body } = await get(`/sessions?chargePointId=${encodeURIComponent(chargePointId)}`);
      if (status !== 200) throw new Error(`admin API: sessions of ${chargePointId}: HTTP ${status}`);
      return body.sessions as StoredSession[];
    },
    async session(chargePointId, transactionId) {
      const { status, body } = await get(`/sessions?chargePointId=${encodeURIComponent(chargePointId)}&transactionId=${transactionId}`);
      if (status === 404) return undefined;
      if (status !== 200) throw new Error(`admin API: transaction ${transactionId}: HTTP ${status}`);
      return body as StoredSessionView;
    },
  };
}
