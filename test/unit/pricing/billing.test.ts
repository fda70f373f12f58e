import { describe, expect, it } from 'vitest';
import { type BillingProfile, priceCdr, priceSession } from '../../../functions/pricing/domain/index.ts';
import { aCdr, aSession, aTariff, anElement } from './builders.ts';

const T0 = '2024-01-16T10:00:00Z';

/** 0.40 EUR/kWh + 1.00 EUR flat, 19 % VAT, idle fee 6 EUR/h after 10 min, capped at 3 EUR; tiers and fleet accounts. */
const tariff = aTariff({
  elements: [anElement([{ type: 'FLAT', price: 1, vat: 19 }, { type: 'ENERGY', price: 0.4, vat: 19 }])],
  voltledger: {
    idle_fee: { price: 6, vat: 19, grace_period: 600, step_size: 60, max_price: 3 },
    member_tiers: {
      plus: { description: 'Plus subscription', discount_percent: 25 },
      pro: { elements: [anElement([{ type: 'ENERGY', price: 0.29, vat: 19 }])] },
    },
    fleet_accounts: { ACME: { discount_percent: 10 } },
  },
});

/** 10 kWh in 60 min, stop, then plugged in for `parkedMinutes` more. */
const session = (billingProfile: BillingProfile | undefined, parkedMinutes = 0) =>
  aSession({
    tariff,
    start: T0,
    samples: [[30, '5000']],
    statuses: [[0, 'Charging'], [60, 'Finishing'], [60 + parkedMinutes, 'Available']],
    stop: { after: 60, meterStopWh: 10_000, reason: 'Local' },
    ...(billingProfile ? { billingProfile } : {}),
  });

describe('priceSession', () => {
  describe('billing models from the snapshotted billing profile', () => {
    it.each([
      ['retail', { kind: 'retail', channel: 'card' }, '5.00', '5.95', /retail \(card\)/],
      ['no profile is retail', undefined, '5.00', '5.95', /retail/],
      ['member tier with a discount: 25 % off every OCPI component', { kind: 'member', tier: 'plus' }, '3.75', '4.46', /member tier plus.*25% off.*Plus subscription/],
      ['member tier with its own elements', { kind: 'member', tier: 'pro' }, '2.90', '3.45', /member tier pro.*elements/],
      ['fleet account with a discount', { kind: 'fleet', accountId: 'ACME' }, '4.50', '5.36', /fleet account ACME.*10% off/],
      ['fleet account the tariff does not name: the tariff itself', { kind: 'fleet', accountId: 'OTHER' }, '5.00', '5.95', /fleet account OTHER/],
      ['roaming: the OCPI tariff', { kind: 'roaming', partnerId: 'NL*TNM' }, '5.00', '5.95', /roaming partner NL\*TNM.*exported to OCPI/],
    ] as const)('%s', (_name, profile, excl, incl, basis) => {
      const priced = priceSession(session(profile as BillingProfile | undefined));

      expect(priced.total_cost).toEqual({ excl_vat: excl, incl_vat: incl });
      expect(priced.billing.basis).toMatch(basis);
      expect(priced.billing.profile).toEqual(profile ?? null);
    });

    it('shows the list price and the discount on each line', () => {
      const line = priceSession(session({ kind: 'member', tier: 'plus' })).lines.find((l) => l.kind === 'ENERGY')!;

      expect(line).toMatchObject({ source: 'member tier plus', unitPrice: '0.3', quantity: '10' });
      expect(line.description).toMatch(/list price 0\.4 less 25%/);
    });

    it('prices an unknown member tier at the tariff and warns', () => {
      const priced = priceSession(session({ kind: 'member', tier: 'platinum' }));

      expect(priced.total_cost.excl_vat).toBe('5.00');
      expect(priced.warnings.map((w) => w.code)).toContain('MEMBER_TIER_NOT_IN_TARIFF');
    });

    it('charges nothing to a free profile, with a line saying why, and still reports what was used', () => {
      const priced = priceSession(session({ kind: 'free', reason: 'staff charging' }, 40));

      expect(priced.total_cost).toEqual({ excl_vat: '0.00', incl_vat: '0.00' });
      expect(priced.totalMinor).toBe(0);
      expect(priced.lines).toEqual([expect.objectContaining({ kind: 'FREE', description: 'no charge: free: staff charging' })]);
      expect(priced.total_energy).toBe('10');
      expect(priced.total_parking_time).toBe('0.666667');
    });

    it('does not apply VoltLedger extensions to roaming sessions, and says which', () => {
      const priced = priceSession(session({ kind: 'roaming', partnerId: 'NL*TNM' }, 40));

      expect(priced.lines.map((l) => l.kind)).not.toContain('IDLE_FEE');
      expect(priced.billing.notes).toEqual([
        expect.stringMatching(/^not applied to roaming: voltledger.idle_fee/),
        expect.stringMatching(/^not applied to roaming: voltledger.member_tiers/),
        expect.stringMatching(/^not applied to roaming: voltledger.fleet_accounts/),
      ]);
    });
  });

  describe('idle fee (voltledger.idle_fee)', () => {
    it.each([
      ['within the grace period', 10, null, '5.00'],
      ['one minute past the grace period', 11, '60', '5.10'],
      ['30 minutes past the grace period', 40, '1800', '8.00'],
      ['capped at max_price', 100, '5400', '8.00'],
    ])('%s', (_name, parkedMinutes, idleSeconds, totalExcl) => {
      const priced = priceSession(session({ kind: 'retail' }, parkedMinutes));
      const idle = priced.lines.find((l) => l.kind === 'IDLE_FEE');

      expect(idle?.quantity ?? null).toBe(idleSeconds);
      expect(priced.total_cost.excl_vat).toBe(totalExcl);
    });

    it('states the grace period and the cap on its line, and counts as parking cost', () => {
      const priced = priceSession(session({ kind: 'retail' }, 100));
      const idle = priced.lines.find((l) => l.kind === 'IDLE_FEE')!;

      expect(idle.description).toBe('idle fee: 1 h 30 min plugged in without drawing power beyond the 10 min grace period (1 idle stop), capped at 3 EUR excl. VAT');
      expect(idle.cost).toEqual({ excl_vat: '3.00', incl_vat: '3.57' });
      expect(priced.total_parking_cost).toEqual({ excl_vat: '3.00', incl_vat: '3.57' });
    });

    it('starts a grace period each time the car stops drawing power', () => {
      // 0-20 charging, 20-45 suspended (25 min: 15 beyond grace), 45-60 charging, 60-72 finishing (12 min: 2 beyond).
      const input = aSession({
        tariff,
        start: T0,
        samples: [[20, '4000'], [45, '4000'], [60, '10000']],
        statuses: [[0, 'Charging'], [20, 'SuspendedEV'], [45, 'Charging'], [60, 'Finishing'], [72, 'Available']],
        stop: { after: 60, meterStopWh: 10_000, reason: 'Local' },
      });

      const idle = priceSession(input).lines.find((l) => l.kind === 'IDLE_FEE')!;

      expect(idle.quantity).toBe('1020');
      expect(idle.description).toMatch(/\(2 idle stops\)/);
    });

    it('rounds the idle total up to its step_size once', () => {
      const stepped = aTariff({ elements: tariff.elements, voltledger: { idle_fee: { price: 6, grace_period: 0, step_size: 900 } } });
      const input = aSession({ tariff: stepped, start: T0, samples: [[30, '5000']], statuses: [[0, 'Charging'], [60, 'Finishing'], [61, 'Available']], stop: { after: 60, meterStopWh: 10_000, reason: 'Local' } });

      const idle = priceSession(input).lines.find((l) => l.kind === 'IDLE_FEE')!;

      expect([idle.quantity, idle.billedQuantity, idle.cost.excl_vat]).toEqual(['60', '900', '1.50']);
    });

    it('applies in priceCdr too, from the CDR parking periods', () => {
      const cdr = aCdr(T0, [[0, [['ENERGY', 10], ['TIME', 1]]], [60, [['PARKING_TIME', 0.5]]]], 90);

      expect(priceCdr(tariff, cdr, 'Europe/Berlin').lines.find((l) => l.kind === 'IDLE_FEE')?.quantity).toBe('1200');
    });
  });

  describe('time-based mode (voltledger.pricing_mode TIME_BASED)', () => {
    const perMinute = aTariff({
      elements: [anElement([{ type: 'TIME', price: 12, step_size: 60, vat: 19 }], { max_power: 50 }), anElement([{ type: 'TIME', price: 24, step_size: 60, vat: 19 }])],
      voltledger: { pricing_mode: 'TIME_BASED' },
    });

    it('bills charging minutes and no energy, and says so', () => {
      const priced = priceSession(aSession({ tariff: perMinute, start: T0, samples: [[30, '5000']], stop: { after: 60, meterStopWh: 10_000 } }));

      expect(priced.total_cost).toEqual({ excl_vat: '12.00', incl_vat: '14.28' });
      expect(priced.total_energy_cost.excl_vat).toBe('0.00');
      expect(priced.total_energy).toBe('10');
      expect(priced.lines.map((l) => l.kind)).toEqual(['TIME']);
      expect(priced.billing.notes).toContain('time-based pricing (voltledger.pricing_mode TIME_BASED): 10 kWh measured, energy not billed');
    });

    it('bills only charging minutes: time plugged in without drawing power is not TIME', () => {
      const priced = priceSession(aSession({ tariff: perMinute, start: T0, samples: [[30, '5000'], [45, '5000']], stop: { after: 60, meterStopWh: 5000 } }));

      expect(priced.lines.map((l) => [l.kind, l.quantity])).toEqual([['TIME', '1800']]);
    });

    it('can still price by power level (a minute above 50 kW costs more)', () => {
      const priced = priceSession(aSession({ tariff: perMinute, start: T0, samples: [[30, '30000']], stop: { after: 60, meterStopWh: 35_000 } }));

      expect(priced.lines.map((l) => [l.elementIndex, l.quantity])).toEqual([
        [0, '1800'],
        [1, '1800'],
      ]);
    });
  });
});
