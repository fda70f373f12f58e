import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { run as idTags } from '../../bin/commands/id-tags.ts';
import type { LocalStack } from '../../lib/local/stack.ts';
import { admin, connectChargePoint, startTestStack } from '../support/stack.ts';
import { InMemorySubscriptions, WEBHOOK_SECRET } from '../support/stripe.ts';

describe('memberships admin API and voltledger id-tags', () => {
  let stack: LocalStack;
  let dir: string;
  const stripe = new InMemorySubscriptions();

  beforeAll(async () => {
    stack = await startTestStack({ stripe: { subscriptions: stripe, webhookSecret: WEBHOOK_SECRET } });
    dir = mkdtempSync(join(tmpdir(), 'voltledger-idtags-'));
  });
  afterAll(async () => {
    await stack?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ownStacks: LocalStack[] = [];
  /** A stack of one test's own, with its own subscriptions, for a test that needs names another test creates. */
  async function ownStack(): Promise<{ stack: LocalStack; stripe: InMemorySubscriptions }> {
    const subscriptions = new InMemorySubscriptions();
    const own = await startTestStack({ stripe: { subscriptions, webhookSecret: WEBHOOK_SECRET } });
    ownStacks.push(own);
    return { stack: own, stripe: subscriptions };
  }
  afterEach(async () => {
    await Promise.all(ownStacks.splice(0).map((own) => own.close()));
  });

  describe('validation names the field and changes nothing', () => {
    it.each([
      ['a driver with a malformed customer id', '/drivers/d1', { stripeCustomerId: 'alice', idTags: [] }, 'stripeCustomerId'],
      ['a driver with an idTag over 20 characters', '/drivers/d1', { idTags: ['OK', 'X'.repeat(21)] }, 'idTags[1]'],
      ['a driver with an unknown field', '/drivers/d1', { idTags: [], tier: 'plus' }, 'tier'],
      ['a tier without prices', '/membership-tiers/gold', { name: 'Gold', stripePriceIds: [] }, 'stripePriceIds'],
      ['a tier with a product id for a price', '/membership-tiers/gold', { name: 'Gold', stripePriceIds: ['prod_1'] }, 'stripePriceIds[0]'],
      ['a tier name with a space', '/membership-tiers/gold%20plus', { name: 'Gold', stripePriceIds: ['price_1'] }, 'tier'],
      ['a fleet with a bad currency', '/fleet-accounts/ACME2', { name: 'Acme', currency: 'euro', billingContact: { email: 'ap@acme.example' } }, 'currency'],
      ['a fleet without a contact email', '/fleet-accounts/ACME2', { name: 'Acme', currency: 'EUR', billingContact: { name: 'AP' } }, 'billingContact.email'],
    ])('%s', async (_name, path, body, field) => {
      const response = await admin(stack, 'PUT', path, body);
      expect(response.status).toBe(400);
      expect(response.body.field).toBe(field);
      expect((await admin(stack, 'GET', path)).status).toBe(404);
    });
  });

  it('stores and returns tiers and fleet accounts', async () => {
    expect((await admin(stack, 'PUT', '/membership-tiers/pro', { name: 'Pro', stripePriceIds: ['price_pro_m', 'price_pro_y'], tariffId: 'T-PRO' })).status).toBe(201);
    expect((await admin(stack, 'GET', '/membership-tiers/pro')).body).toMatchObject({ tier: 'pro', stripePriceIds: ['price_pro_m', 'price_pro_y'], tariffId: 'T-PRO' });
    const fleet = { name: 'Acme Logistics', currency: 'EUR', billingContact: { name: 'Accounts payable', email: 'ap@acme.example' }, taxId: 'DE123456789' };
    // ACME is the demo account the stack seeds; a new account is a 201.
    expect((await admin(stack, 'PUT', '/fleet-accounts/GLOBEX', fleet)).status).toBe(201);
    expect((await admin(stack, 'GET', '/fleet-accounts/GLOBEX')).body).toMatchObject({ accountId: 'GLOBEX', ...fleet });
  });

  it("a member of a tier with its own tariff gets that tariff on every idTag; a card can't be linked to two drivers", async () => {
    // Its own stack: the tier `pro` is the one the test above creates (and expects to be new).
    const { stack, stripe } = await ownStack();
    expect((await admin(stack, 'PUT', '/membership-tiers/pro', { name: 'Pro', stripePriceIds: ['price_pro_m', 'price_pro_y'], tariffId: 'T-PRO' })).status).toBe(201);
    stripe.set({ id: 'sub_dora', customerId: 'cus_dora', priceIds: ['price_pro_y'] });
    const saved = await admin(stack, 'PUT', '/drivers/dora', { stripeCustomerId: 'cus_dora', idTags: ['DORA-1'] });
    expect(saved.status).toBe(201);
    expect((await admin(stack, 'GET', '/id-tags/DORA-1')).body).toMatchObject({ driverId: 'dora', tariffId: 'T-PRO', billing: { kind: 'member', tier: 'pro' } });
    const clash = await admin(stack, 'PUT', '/drivers/eve', { idTags: ['dora-1'] });
    expect(clash).toMatchObject({ status: 400, body: { field: 'idTags[0]' } });
    // The operator may still change the status of a driver's card, not its billing.
    expect((await admin(stack, 'PUT', '/id-tags/DORA-1', { status: 'Accepted', billing: { kind: 'free' } })).body.field).toBe('billing');
  });

  describe('voltledger id-tags', () => {
    const cli = async (...args: string[]) => {
      const out: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
      const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void out.push(line));
      try {
        return { code: await idTags([...args, '--admin-url', stack.adminUrl, '--admin-token', stack.adminToken]), out };
      } finally {
        log.mockRestore();
        error.mockRestore();
      }
    };

    it('imports a CSV idempotently, and refuses a bad file naming row and column without writing', async () => {
      const good = join(dir, 'cards.csv');
      writeFileSync(good, 'idTag,status,expiryDate,billingKind,accountId\nCSV-1,Accepted,2027-12-31T23:59:59Z,fleet,ACME\ncsv-2,Accepted,,retail,\n');
      expect((await cli('import', good)).code).toBe(0);
      expect((await cli('import', good)).out).toContain('2 of 2 idTag(s) imported');
      expect((await admin(stack, 'GET', '/id-tags/CSV-1')).body).toMatchObject({ status: 'Accepted', billing: { kind: 'fleet', accountId: 'ACME' } });

      const bad = join(dir, 'bad.csv');
      writeFileSync(bad, 'idTag,status,billingKind\nCSV-3,Accepted,retail\nCSV-4,Accepted,fleet\n');
      const result = await cli('import', bad);
      expect(result.code).toBe(1);
      expect(result.out[0]).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: accountId: `));
      expect(result.out.at(-1)).toBe('voltledger id-tags import: 1 error(s); nothing imported');
      expect((await admin(stack, 'GET', '/id-tags/CSV-3')).status).toBe(404);
    });

    it('blocks a card: Authorize answers Blocked', async () => {
      expect((await cli('block', 'demo-retail', '--reason', 'reported stolen')).code).toBe(0);
      const cp = await connectChargePoint(stack, 'CP-002');
      try {
        expect((await cp.call('Authorize', { idTag: 'DEMO-RETAIL' })).idTagInfo.status).toBe('Blocked');
      } finally {
        await cp.close({ force: true });
      }
      expect((await cli('block', 'NO-SUCH-CARD')).code).toBe(1);
    });
  });
});
