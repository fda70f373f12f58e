import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER_CONTRACTS, type LedgerEvent } from '../../functions/accounting/domain/posting-rules.ts';
import { balances } from '../../functions/accounting/domain/journal.ts';
import { verifySignature } from '../../functions/accounting/domain/signature.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, startTestStack } from '../support/stack.ts';
import {
  aDisputeClosed,
  aDisputeOpened,
  aFleetStatement,
  aHoldReleased,
  aPaymentCaptured,
  aPayoutFailed,
  aPayoutPaid,
  aRefund,
  aRoamingCdr,
  aSessionPriced,
  aSettlement,
} from '../unit/accounting/builders.ts';

/** Puts ledger events on the local bus, as their producers would, and waits until every consumer is done. */
async function publish(stack: LocalStack, events: LedgerEvent[]) {
  for (let i = 0; i < events.length; i += 10) {
    await stack.bus.putEvents(
      events.slice(i, i + 10).map((e) => ({
        Source: LEDGER_CONTRACTS[e.detailType].source,
        DetailType: e.detailType,
        Detail: JSON.stringify({ metadata: e.metadata, data: e.data }),
        Time: e.metadata.occurredAt,
      })),
    );
  }
  await stack.bus.drain();
}

const retail = aSessionPriced({ sessionId: 'sess-retail', energyMinor: 2000, idleMinor: 300, fixedMinor: 100 });
const member = aSessionPriced({ sessionId: 'sess-member', kind: 'member', energyMinor: 1500 });
const fleet = aSessionPriced({ sessionId: 'sess-fleet', kind: 'fleet', party: 'ACME', energyMinor: 4000 });
const roaming = aSessionPriced({ sessionId: 'sess-roaming', kind: 'roaming', party: 'DE-EMSP', energyMinor: 2500 });
const small = aSessionPriced({ sessionId: 'sess-small', energyMinor: 30, vatPercent: 0 });
const retailCaptured = aPaymentCaptured({ sessionId: 'sess-retail', chargeId: 'ch_retail', capturedMinor: retail.totalMinor, authorizedMinor: 5000, feeMinor: 66 });
const retailSettled = aSettlement({ sessionId: 'sess-retail', sessionTotalMinor: retail.totalMinor, holdPaymentIntentId: 'pi_ch_retail' });

const DAY_EVENTS: LedgerEvent[] = [
  retail.event,
  member.event,
  fleet.event,
  roaming.event,
  small.event,
  retailCaptured,
  retailSettled,
  aPaymentCaptured({ sessionId: 'sess-member', chargeId: 'ch_member', capturedMinor: member.totalMinor, feeMinor: 52 }),
  aSettlement({ sessionId: 'sess-member', sessionTotalMinor: member.totalMinor }),
  aHoldReleased({ sessionId: 'sess-small', paymentIntentId: 'pi_small', amountMinor: 5000 }),
  aSettlement({ sessionId: 'sess-small', sessionTotalMinor: small.totalMinor, outcome: 'waived', capturedMinor: 0, waivedMinor: small.totalMinor }),
  aRefund({ refundId: 're_1', chargeId: 'ch_retail', sessionId: 'sess-retail', amountMinor: 500 }),
  aDisputeOpened({ disputeId: 'dp_1', chargeId: 'ch_member', sessionId: 'sess-member', amountMinor: member.totalMinor }),
  aDisputeClosed({ disputeId: 'dp_1', chargeId: 'ch_member', sessionId: 'sess-member', amountMinor: member.totalMinor, status: 'won' }),
  aFleetStatement({ statementId: 'st-1', accountId: 'ACME', sessionIds: ['sess-fleet'], sessionsExclVatMinor: fleet.exclMinor, fixedFeeMinor: 2500 }),
  aRoamingCdr({ cdrId: 'cdr-1', partnerId: 'DE-EMSP', sessionId: 'sess-roaming', exclVatMinor: roaming.exclMinor }),
  aPayoutPaid({ payoutId: 'po_1', amountMinor: 1000 }),
  aPayoutFailed({ payoutId: 'po_1', amountMinor: 1000 }),
];

const stackOptions = { accounting: { syncConfig: { baseDelayMs: 5, maxAttempts: 3 } } };

describe('ledger and accounting sync on the local stack', () => {
  /** The day's events, and nothing else: the tests that use it only read, so they hold in any order. */
  let stack: LocalStack;
  const ownStacks: LocalStack[] = [];

  /** A stack for one test that publishes more events, arms receiver failures or sends forged deliveries. */
  async function ownStack(): Promise<LocalStack> {
    const own = await startTestStack(stackOptions);
    ownStacks.push(own);
    return own;
  }

  beforeAll(async () => {
    stack = await startTestStack(stackOptions);
    // Every event twice, the second time in reverse: at-least-once, in any order.
    await publish(stack, [...DAY_EVENTS, ...[...DAY_EVENTS].reverse()]);
  });

  afterEach(async () => {
    await Promise.all(ownStacks.splice(0).map((own) => own.close()));
  });

  afterAll(async () => {
    await stack?.close();
  });

  async function allEntries() {
    const days = ['2026-11-23', '2026-11-26', '2026-11-27', '2026-11-30'];
    return (await Promise.all(days.map((d) => stack.accounting.store.entriesByDay(d)))).flat();
  }

  describe('the journal', () => {
    it('holds one entry per money movement, each balanced, summing to zero over all accounts', async () => {
      const entries = await allEntries();
      const ids = entries.map((p) => p.entry.entryId).sort();
      expect(ids).toEqual(
        [
          'DisputeClosed:dp_1',
          'DisputeOpened:dp_1',
          'FleetStatementIssued:st-1',
          'PaymentCaptured:ch_member',
          'PaymentCaptured:ch_retail',
          'PaymentRefunded:re_1:succeeded',
          'PayoutFailed:po_1',
          'PayoutPaid:po_1',
          'RoamingCdrAccepted:cdr-1',
          'SessionPaymentSettled:sess-small',
          'SessionPriced:sess-fleet',
          'SessionPriced:sess-member',
          'SessionPriced:sess-retail',
          'SessionPriced:sess-roaming',
          'SessionPriced:sess-small',
          'StripeFee:txn_ch_member',
          'StripeFee:txn_ch_retail',
        ].sort(),
      );
      let total = 0n;
      for (const amount of balances(entries.map((p) => p.entry)).values()) total += amount;
      expect(total).toBe(0n);
      const b = balances(entries.map((p) => p.entry));
      // Collected sessions leave nothing in driver receivables; the waived one is written off.
      expect(b.get('EUR|driver_receivable')).toBe(0n);
      expect(b.get('EUR|small_amount_write_offs')).toBe(BigInt(small.totalMinor));
      // A payout that failed after being paid is reversed: nothing at the bank.
      expect(b.get('EUR|bank') ?? 0n).toBe(0n);
    });

    it('answers by session, by day and by account through the admin API, with the chart codes', async () => {
      const bySession = await admin(stack, 'GET', '/ledger/entries?sessionId=sess-retail');
      expect(bySession.status).toBe(200);
      expect(bySession.body.entries.map((e: { entryId: string }) => e.entryId).sort()).toEqual(['PaymentCaptured:ch_retail', 'PaymentRefunded:re_1:succeeded', 'SessionPriced:sess-retail', 'StripeFee:txn_ch_retail']);
      const priced = bySession.body.entries.find((e: { entryId: string }) => e.entryId === 'SessionPriced:sess-retail');
      expect(priced.lines).toContainEqual(expect.objectContaining({ account: 'revenue_idle_fees', code: '4020', side: 'credit', amountMinor: 300, amount: '3.00' }));

      const byAccount = await admin(stack, 'GET', '/ledger/entries?account=stripe_fees&from=2026-11-23&to=2026-11-23');
      expect(byAccount.body.debitBalanceMinor).toBe(66 + 52);

      const bad = await admin(stack, 'GET', '/ledger/entries?date=2026-13-01');
      expect(bad.status).toBe(400);
      expect(bad.body.field).toBe('(body)');
    });

    it('exports the day’s revenue by site, billing model and account as CSV and JSON', async () => {
      const json = await admin(stack, 'GET', '/ledger/export?date=2026-11-23');
      const row = json.body.rows.find((r: { billingModel: string; accountCode: string }) => r.billingModel === 'retail' && r.accountCode === '4000');
      expect(row).toMatchObject({ siteId: 'berlin-mitte', amountMinor: 2000 + 30, currency: 'EUR' });
      const csv = await fetch(`${stack.adminUrl}/ledger/export?date=2026-11-23&format=csv`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
      expect(csv.headers.get('content-type')).toContain('text/csv');
      const text = await csv.text();
      expect(text.split('\r\n')[0]).toBe('date,currency,siteId,billingModel,accountCode,accountName,amount,amountMinor,entries');
      expect(text).toContain('2026-11-23,EUR,berlin-mitte,member,4100,Charging revenue - members,15.00,1500,1');
    });
  });

  describe('the accounting receiver', () => {
    it('holds every entry of the ledger once, signed, with the same lines', async () => {
      const entries = await allEntries();
      const received = new Map(stack.accounting.receiver.received().map((r) => [r.idempotencyKey, r]));
      expect(stack.accounting.receiver.rejected()).toBe(0);
      expect([...received.keys()].sort()).toEqual(entries.map((p) => p.entry.entryId).sort());
      for (const { entry } of entries) {
        const sent = received.get(entry.entryId)!.body;
        expect(sent.type).toBe('journal_entry.posted');
        expect(sent.entry.lines.map((l: { account: string; side: string; amountMinor: number }) => [l.account, l.side, l.amountMinor])).toEqual(entry.lines.map((l) => [l.account, l.side, l.amountMinor]));
      }
    });

    it('refuses a delivery whose signature does not match the body', async () => {
      const stack = await ownStack(); // a refused delivery counts as rejected on its receiver
      const body = JSON.stringify({ type: 'journal_entry.posted', entryId: 'forged' });
      const response = await fetch(stack.accounting.webhookUrl, {
        method: 'POST',
        headers: { 'idempotency-key': 'forged', 'voltledger-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` },
        body,
      });
      expect(response.status).toBe(401);
      expect(verifySignature(stack.accounting.webhookSecret, undefined, body, 0)).toBe(false);
      expect(stack.accounting.receiver.received().some((r) => r.idempotencyKey === 'forged')).toBe(false);
    });

    it('retries a failing receiver with backoff, and delivers once it answers', async () => {
      const stack = await ownStack();
      stack.accounting.receiver.failNext(2);
      await publish(stack, [aSessionPriced({ sessionId: 'sess-retry', energyMinor: 700 }).event]);
      const sync = await stack.accounting.store.getSync('SessionPriced:sess-retry');
      expect(sync).toMatchObject({ status: 'delivered', attempts: 3 });
      expect(stack.accounting.receiver.received().some((r) => r.idempotencyKey === 'SessionPriced:sess-retry')).toBe(true);
    });

    it('dead-letters an entry after the last attempt, and the replay command delivers it', async () => {
      const stack = await ownStack();
      stack.accounting.receiver.failNext(3);
      await publish(stack, [aSessionPriced({ sessionId: 'sess-dead', energyMinor: 900 }).event]);
      const dead = await admin(stack, 'GET', '/accounting/dead-letters');
      expect(dead.body.deadLetters).toEqual([expect.objectContaining({ entryId: 'SessionPriced:sess-dead', status: 'dead', attempts: 3 })]);
      expect(stack.accounting.receiver.received().some((r) => r.idempotencyKey === 'SessionPriced:sess-dead')).toBe(false);

      const replay = await admin(stack, 'POST', '/accounting/replay', { deadLetters: true });
      expect(replay.body).toMatchObject({ replayed: 1, delivered: 1 });
      expect(stack.accounting.receiver.received().some((r) => r.idempotencyKey === 'SessionPriced:sess-dead')).toBe(true);
      expect((await admin(stack, 'GET', '/accounting/dead-letters')).body.deadLetters).toEqual([]);
    });
  });

  describe('write-offs and closures', () => {
    it('writes off what a session still owes, once, and refuses a second closure of another kind', async () => {
      const stack = await ownStack();
      const owing = aSessionPriced({ sessionId: 'sess-owing', energyMinor: 1000 });
      await publish(stack, [
        // sess-retail: priced, captured and settled, so it is closed already.
        retail.event,
        retailCaptured,
        retailSettled,
        owing.event,
        aPaymentCaptured({ sessionId: 'sess-owing', chargeId: 'ch_owing', capturedMinor: 600 }),
        aSettlement({ sessionId: 'sess-owing', sessionTotalMinor: owing.totalMinor, outcome: 'collection_failed', capturedMinor: 600, outstandingMinor: owing.totalMinor - 600 }),
      ]);
      const response = await admin(stack, 'POST', '/ledger/write-offs', { sessionId: 'sess-owing', reason: 'card declined twice, driver unreachable' });
      expect(response.status).toBe(201);
      expect(response.body.closure).toMatchObject({ kind: 'written_off', reason: 'card declined twice, driver unreachable' });
      expect(response.body.entries[0].lines).toEqual([
        expect.objectContaining({ account: 'bad_debts', side: 'debit', amountMinor: owing.totalMinor - 600 }),
        expect.objectContaining({ account: 'driver_receivable', side: 'credit', amountMinor: owing.totalMinor - 600 }),
      ]);
      const again = await admin(stack, 'POST', '/ledger/write-offs', { sessionId: 'sess-retail', reason: 'mistake' });
      expect(again.status).toBe(409);
      const missingReason = await admin(stack, 'POST', '/ledger/write-offs', { sessionId: 'sess-x' });
      expect(missingReason.status).toBe(400);
      expect(missingReason.body.field).toBe('reason');
    });
  });
});
