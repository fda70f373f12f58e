import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RPCClient } from 'ocpp-rpc';
import type Stripe from 'stripe';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../lib/local/seed.ts';
import { stripeClientFor } from '../../lib/local/stripe/index.ts';
import { FAULT_POLICY, waitFor } from '../support/faults.ts';
import { freePort, startStackProcess, type StackProcess } from '../support/stack-process.ts';
import { energySample } from '../support/stack.ts';

/**
 * Issue 9, faults: the local stack is killed (SIGKILL) during a busy run and restarted on the same
 * data folder. It runs as a child process (`voltledger local`, dynalite, the bus journal and the
 * Stripe emulator's state under one data folder); six strict OCPP 1.6J charge points (ocpp-rpc)
 * run sessions for every kind of driver at once, each remembering which of its messages were
 * answered. The process is killed mid-run; the charge points reconnect to the restarted stack and
 * send what was not answered again, as charge points do (the same StartTransaction, MeterValues,
 * StopTransaction payloads and timestamps). Then: every answered message is stored, the retries
 * were absorbed (one session per StartTransaction, with the transactionId first answered), and
 * every session reached one financial closure (priced; card sessions captured once at Stripe).
 */

const CHARGE_POINTS = 6;
const SESSIONS_PER_CHARGE_POINT = 4;
/** Kill once this many messages were answered (of 6 x 4 x 6 = 144), a few ms after the next StartTransaction went out, so it and others are in flight. */
const KILL_AFTER_ACKS = 55;
const PASSWORD = 'kill-restart-charger-secret';
const CARD_TAGS = new Set(['DEMO-RETAIL', 'DEMO-MEMBER', 'KILL-CARD-1', 'KILL-CARD-2']);
const TAGS = ['DEMO-RETAIL', 'DEMO-FLEET-1', 'KILL-CARD-1', 'DEMO-ROAMING', 'DEMO-MEMBER', 'DEMO-FREE', 'KILL-CARD-2'];

const at = (minutes: number) => new Date(Date.parse('2026-11-24T07:00:00Z') + minutes * 60_000).toISOString();

interface PlannedSession {
  chargePointId: string;
  connectorId: number;
  idTag: string;
  start: { connectorId: number; idTag: string; meterStart: number; timestamp: string };
  meterValues: Array<{ timestamp: string; wh: number }>;
  stop: { meterStop: number; timestamp: string };
  unpluggedAt: string;
  /** Filled in from the StartTransaction answer(s). */
  transactionIds: number[];
}

function plan(): PlannedSession[] {
  const sessions: PlannedSession[] = [];
  for (let i = 0; i < CHARGE_POINTS; i++) {
    for (let k = 0; k < SESSIONS_PER_CHARGE_POINT; k++) {
      const connectorId = 1 + (k % 2);
      const idTag = TAGS[(i * SESSIONS_PER_CHARGE_POINT + k) % TAGS.length]!;
      const t0 = k * 60 + i;
      const meterStart = 100_000 * k;
      sessions.push({
        chargePointId: `KILL-CP-${i + 1}`,
        connectorId,
        idTag,
        start: { connectorId, idTag, meterStart, timestamp: at(t0) },
        meterValues: [1, 2, 3].map((n) => ({ timestamp: at(t0 + 10 * n), wh: meterStart + 3_000 * n })),
        stop: { meterStop: meterStart + 10_000, timestamp: at(t0 + 40) },
        unpluggedAt: at(t0 + 45),
        transactionIds: [],
      });
    }
  }
  return sessions;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults: the local stack is killed (SIGKILL) mid-run and restarted on the same data folder', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'voltledger-kill-'));
  const adminToken = `kill-restart-${process.pid}-admin-token`;
  let proc: StackProcess | undefined;
  let port = 0;
  const clients = new Set<RPCClient>();

  afterAll(async () => {
    for (const client of clients) await client.close({ force: true }).catch(() => undefined);
    await proc?.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`http://127.0.0.1:${port}/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  }

  const stripeOf = (p: StackProcess): Stripe => {
    const url = new URL(p.stripeUrl);
    return stripeClientFor({ host: url.hostname, port: Number(url.port) });
  };

  it('every answered message is stored, retries are absorbed, every session reaches one financial closure', async () => {
    port = await freePort();
    proc = await startStackProcess({ port, dataDir, adminToken });
    const first = proc;

    // Set-up through the admin API and the emulator, as an operator would.
    expect((await admin('PUT', '/payment-policies/default', FAULT_POLICY)).status).toBe(200);
    for (let i = 1; i <= CHARGE_POINTS; i++) {
      const put = await admin('PUT', `/charge-points/KILL-CP-${i}`, { password: PASSWORD, timeZone: 'Europe/Berlin', tariffId: DEMO.tariffId, siteId: 'berlin-mitte', maxPowerKw: 22 });
      expect(put.status).toBeLessThan(300);
    }
    const stripe = stripeOf(first);
    for (const n of [1, 2]) {
      const customer = await stripe.customers.create({ email: `kill-${n}@example.com`, payment_method: 'pm_card_visa', invoice_settings: { default_payment_method: 'pm_card_visa' } });
      const put = await admin('PUT', `/drivers/kill-driver-${n}`, { stripeCustomerId: customer.id, defaultPaymentMethodId: customer.invoice_settings.default_payment_method, idTags: [`KILL-CARD-${n}`] });
      expect(put.status).toBe(201);
    }

    const sessions = plan();
    /** Every answered call: what was sent and what came back. */
    const acks: Array<{ chargePointId: string; action: string; payload: any; result: any }> = [];
    let failedAttempts = 0;
    /** Calls answered only on a later attempt (cut off by the kill, or refused while the stack was down). */
    const retried: string[] = [];
    let killed = false;
    let restarted: Promise<StackProcess> | undefined;

    const killAndRestart = async () => {
      await first.kill();
      killed = true;
      // The charge points keep trying meanwhile: refused connections until the stack is back.
      await sleep(300);
      proc = await startStackProcess({ port, dataDir, adminToken });
      return proc;
    };

    /** A charge point: its messages one after another, each sent until it is answered (reconnecting as needed). */
    async function chargePoint(chargePointId: string, own: PlannedSession[]) {
      let client: RPCClient | undefined;
      const connect = async () => {
        const c = new RPCClient({
          endpoint: `ws://127.0.0.1:${port}/ocpp`,
          identity: chargePointId,
          password: PASSWORD,
          protocols: ['ocpp1.6'],
          strictMode: true,
          reconnect: false,
          callTimeoutMs: 4000,
        } as never);
        clients.add(c);
        c.on('close', () => {
          if (client === c) client = undefined;
          clients.delete(c);
        });
        await c.connect();
        return c;
      };
      const send = async (action: string, payload: Record<string, unknown>): Promise<any> => {
        for (let attempt = 1; ; attempt++) {
          try {
            client ??= await connect();
            const call = client.call(action, payload);
            if (!restarted && action === 'StartTransaction' && acks.length >= KILL_AFTER_ACKS) {
              restarted = sleep(Math.floor(Math.random() * 10)).then(killAndRestart);
            }
            const result = await call;
            acks.push({ chargePointId, action, payload, result });
            if (attempt > 1) retried.push(action);
            return result;
          } catch (error) {
            failedAttempts += 1;
            if (attempt > 400) throw new Error(`${chargePointId} ${action} never answered: ${String(error)}`);
            await client?.close({ force: true }).catch(() => undefined);
            client = undefined;
            await sleep(100);
          }
        }
      };
      for (const s of own) {
        const started = await send('StartTransaction', s.start);
        expect(started.idTagInfo.status).toBe('Accepted');
        const transactionId = started.transactionId as number;
        s.transactionIds.push(transactionId);
        for (const mv of s.meterValues) {
          await send('MeterValues', { connectorId: s.connectorId, transactionId, meterValue: [energySample(mv.timestamp, mv.wh)] });
        }
        await send('StopTransaction', { transactionId, idTag: s.idTag, meterStop: s.stop.meterStop, timestamp: s.stop.timestamp });
        await send('StatusNotification', { connectorId: s.connectorId, errorCode: 'NoError', status: 'Available', timestamp: s.unpluggedAt });
      }
      await client?.close().catch(() => undefined);
    }

    const byChargePoint = new Map<string, PlannedSession[]>();
    for (const s of sessions) byChargePoint.set(s.chargePointId, [...(byChargePoint.get(s.chargePointId) ?? []), s]);
    await Promise.all([...byChargePoint].map(([id, own]) => chargePoint(id, own)));
    await restarted;
    expect(killed).toBe(true);
    // Some calls were cut off by the kill and sent again after the restart.
    expect(failedAttempts).toBeGreaterThan(0);
    expect(retried).toContain('StartTransaction');
    console.info(`kill-restart: ${acks.length} calls answered, ${retried.length} only after a retry (${[...new Set(retried)].join(', ')}), ${failedAttempts} failed attempts`);
    expect(acks).toHaveLength(CHARGE_POINTS * SESSIONS_PER_CHARGE_POINT * 6);

    // Retries were absorbed: every StartTransaction was answered with one transactionId, and each
    // charge point has exactly its planned sessions (none doubled by a retry).
    for (const s of sessions) expect(new Set(s.transactionIds).size).toBe(1);
    expect(new Set(sessions.map((s) => s.transactionIds[0])).size).toBe(sessions.length);
    for (const [chargePointId, own] of byChargePoint) {
      const listed = (await admin('GET', `/sessions?chargePointId=${chargePointId}`)).body.sessions as any[];
      expect(listed.map((l) => l.transactionId).sort((a, b) => a - b)).toEqual(own.map((s) => s.transactionIds[0]!).sort((a, b) => a - b));
    }

    // Every session reaches its closure: completed, priced, and the billing its driver's profile asks for.
    const views = new Map<PlannedSession, any>();
    for (const s of sessions) {
      const sessionId = `sess_${s.transactionIds[0]}`;
      const view = await waitFor(
        `the closure of ${sessionId} (${s.idTag})`,
        async () => {
          const { body } = await admin('GET', `/sessions/${sessionId}`);
          if (body.lifecycle !== 'completed' || !body.price) return undefined;
          if (CARD_TAGS.has(s.idTag) && !body.payment?.outcome) return undefined;
          return body;
        },
        30_000,
      );
      views.set(s, view);
    }

    // Every answered message is stored, once.
    for (const s of sessions) {
      const view = views.get(s)!;
      expect(view).toMatchObject({
        chargePointId: s.chargePointId,
        connectorId: s.connectorId,
        idTag: s.idTag,
        startedAt: s.start.timestamp,
        meterStartWh: s.start.meterStart,
        stoppedAt: s.stop.timestamp,
        meterStopWh: s.stop.meterStop,
        energyWh: 10_000,
        completedAt: s.unpluggedAt,
      });
      expect(view.meterSamples.map((m: any) => m.timestamp)).toEqual(s.meterValues.map((mv) => mv.timestamp));
    }

    // One financial closure per session.
    const stripeNow = stripeOf(proc!);
    const intents: Stripe.PaymentIntent[] = [];
    for await (const pi of stripeNow.paymentIntents.list({ limit: 100 })) intents.push(pi);
    for (const s of sessions) {
      const view = views.get(s)!;
      const sessionId = view.sessionId as string;
      const own = intents.filter((pi) => pi.metadata?.sessionId === sessionId);
      if (CARD_TAGS.has(s.idTag)) {
        expect(view.payment.outcome).toMatchObject({ outcome: 'captured', dueMinor: view.payment.outcome.sessionTotalMinor + view.payment.outcome.carriedInMinor });
        // One hold at Stripe, captured once for the recorded amount.
        expect(own.map((pi) => [pi.metadata.purpose, pi.status, pi.amount_received])).toEqual([['hold', 'succeeded', view.payment.outcome.capturedMinor]]);
        const charges = (await stripeNow.charges.list({ payment_intent: own[0]!.id })).data;
        expect(charges.map((c) => [c.captured, c.amount_captured])).toEqual([[true, view.payment.outcome.capturedMinor]]);
      } else {
        expect(view.payment).toBeNull();
        expect(own).toEqual([]);
      }
      if (s.idTag === 'DEMO-FLEET-1') expect(view.price.billing.profile).toMatchObject({ kind: 'fleet', accountId: 'ACME' });
      if (s.idTag === 'DEMO-ROAMING') {
        const cdr = await waitFor(`the CDR of ${sessionId}`, async () => {
          const { status, body } = await admin('GET', `/roaming/cdrs/CDR-${sessionId}`);
          return status === 200 && body.status === 'accepted' ? body : undefined;
        });
        expect(cdr.cdr.total_cost).toEqual({ excl_vat: Number(view.price.total_cost.excl_vat), incl_vat: Number(view.price.total_cost.incl_vat) });
      }
    }

    if (process.env.KILL_DEBUG) console.info(proc!.output());
    // Nothing the bus accepted was given up on.
    const deadLetters = join(dataDir, 'bus', 'dead-letters.jsonl');
    expect(existsSync(deadLetters) ? readFileSync(deadLetters, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).event['detail-type']) : []).toEqual([]);
  }, 90_000);
});
