import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextPeriod, periodBounds, periodOf } from '../../../functions/fleet/domain/period.ts';
import type { FleetBillingSettings } from '../../../functions/fleet/domain/plan.ts';
import { computeStatement, FleetBillingError, planInvoiceItems, type FleetAccrual } from '../../../functions/fleet/domain/statement.ts';
import { formatScaled } from '../../../functions/shared/decimal.ts';

/** A priced fleet session; amounts in cents, energy in kWh text. */
function anAccrual(overrides: Partial<FleetAccrual> = {}): FleetAccrual {
  return {
    accountId: 'ACME',
    sessionId: 'sess_1',
    transactionId: 1,
    chargePointId: 'CP-001',
    connectorId: 1,
    siteId: 'berlin-mitte',
    idTag: 'FLEET-1',
    startedAt: '2026-11-03T08:00:00.000Z',
    completedAt: '2026-11-03T09:30:00.000Z',
    currency: 'EUR',
    energyKwh: '22.5',
    durationSeconds: 5400,
    amountExclVatMinor: 1103,
    amountInclVatMinor: 1312,
    tariff: { tariffId: 'DEMO-TOU', version: 1 },
    naturalPeriod: '2026-11',
    accruedAt: '2026-11-03T09:31:00.000Z',
    ...overrides,
  };
}

function settings(overrides: Partial<FleetBillingSettings> = {}): FleetBillingSettings {
  return {
    accountId: 'ACME',
    name: 'ACME Logistics',
    currency: 'EUR',
    plan: { kind: 'per_session' },
    tax: { vatPercent: '19', treatment: 'standard' },
    timeZone: 'Europe/Berlin',
    collection: { method: 'send_invoice', daysUntilDue: 30 },
    ...overrides,
  };
}

describe('fleet statement', () => {
  describe('per-session plan', () => {
    it('bills every session at its priced amount and adds VAT once on the subtotal', () => {
      const statement = computeStatement(settings(), '2026-11', [
        anAccrual({ sessionId: 'sess_2', startedAt: '2026-11-05T10:00:00.000Z', amountExclVatMinor: 333 }),
        anAccrual({ sessionId: 'sess_1', amountExclVatMinor: 333 }),
        anAccrual({ sessionId: 'sess_3', startedAt: '2026-11-30T23:30:00.000Z', amountExclVatMinor: 334, siteId: undefined }),
      ]);
      expect(statement.lines.map((l) => l.sessionId)).toEqual(['sess_1', 'sess_2', 'sess_3']);
      // 23:30 UTC on the 30th is 00:30 on 1 December in Berlin: the line shows the local date.
      expect(statement.lines[2]!.date).toBe('2026-12-01');
      expect(statement.sessionsExclVatMinor).toBe(1000);
      expect(statement.subtotalMinor).toBe(1000);
      expect(statement.taxMinor).toBe(190);
      expect(statement.totalMinor).toBe(1190);
      expect(statement.energyKwh).toBe('67.5');
      expect(statement.statementId).toBe('FS-ACME-2026-11');
    });

    it('rounds the tax once, half up, from the exact subtotal', () => {
      const statement = computeStatement(settings({ tax: { vatPercent: '7.7', treatment: 'standard' } }), '2026-11', [anAccrual({ amountExclVatMinor: 1050 })]);
      // 10.50 x 7.7 % = 0.8085 -> 0.81
      expect(statement.taxMinor).toBe(81);
    });

    it.each([
      ['reverse_charge', /reverse charge/],
      ['exempt', /exempt/],
    ] as const)('charges no VAT under %s and says why', (treatment, note) => {
      const statement = computeStatement(settings({ tax: { vatPercent: '19', treatment, taxId: 'FR12345678901' } }), '2026-11', [anAccrual()]);
      expect(statement.taxMinor).toBe(0);
      expect(statement.totalMinor).toBe(statement.subtotalMinor);
      expect(statement.tax.note).toMatch(note);
    });

    it('leaves out sessions priced in another currency, naming them', () => {
      const statement = computeStatement(settings(), '2026-11', [anAccrual(), anAccrual({ sessionId: 'sess_9', currency: 'CHF' })]);
      expect(statement.sessionCount).toBe(1);
      expect(statement.excluded).toEqual([{ sessionId: 'sess_9', reason: 'priced in CHF, the account bills in EUR: not claimed, left for review' }]);
    });

    it('marks a session from an earlier period as late', () => {
      const statement = computeStatement(settings(), '2026-12', [anAccrual({ naturalPeriod: '2026-11' })]);
      expect(statement.lines[0]!.late).toBe(true);
    });

    it('refuses to compute without tax details', () => {
      expect(() => computeStatement(settings({ tax: undefined }), '2026-11', [])).toThrow(FleetBillingError);
    });
  });

  describe('monthly plan', () => {
    const monthly = settings({ plan: { kind: 'monthly', fixedFee: '199.00', includedEnergyKwh: '50', overagePerKwh: '0.333333' } });

    it('bills the fee and the energy above the included energy, not the sessions', () => {
      const statement = computeStatement(monthly, '2026-11', [anAccrual({ energyKwh: '30.0005' }), anAccrual({ sessionId: 'sess_2', energyKwh: '30' })]);
      expect(statement.lines.every((l) => l.billedExclVatMinor === 0)).toBe(true);
      expect(statement.sessionsExclVatMinor).toBe(0);
      expect(statement.fixedFeeMinor).toBe(19900);
      expect(statement.overageEnergyKwh).toBe('10.0005');
      // 10.0005 kWh x 0.333333 = 3.33349... -> 3.33
      expect(statement.overageMinor).toBe(333);
      expect(statement.subtotalMinor).toBe(20233);
      expect(statement.taxMinor).toBe(3844); // 202.33 x 19 % = 38.4427
    });

    it('bills no overage while the energy stays within the included energy', () => {
      const statement = computeStatement(monthly, '2026-11', [anAccrual({ energyKwh: '49.999' })]);
      expect(statement.overageMinor).toBe(0);
      expect(statement.overageEnergyKwh).toBe('0');
    });
  });

  describe('invoice items', () => {
    it('groups sessions by site and adds up to the statement total', () => {
      const statement = computeStatement(settings(), '2026-11', [anAccrual(), anAccrual({ sessionId: 'sess_2', siteId: 'munich-ost' }), anAccrual({ sessionId: 'sess_3' })]);
      const items = planInvoiceItems(statement);
      expect(items.map((i) => i.key)).toEqual(['sessions:berlin-mitte', 'sessions:munich-ost', 'tax']);
      expect(items.reduce((sum, i) => sum + i.amountMinor, 0)).toBe(statement.totalMinor);
    });
  });

  describe('invariants', () => {
    const accrual = fc.record({
      minute: fc.integer({ min: 0, max: 29 * 24 * 60 }),
      amount: fc.integer({ min: 0, max: 50_000 }),
      milliWh: fc.integer({ min: 0, max: 200_000_000 }),
    });
    const plan = fc.oneof(
      fc.constant({ kind: 'per_session' as const }),
      fc.record({
        kind: fc.constant('monthly' as const),
        fixedFee: fc.integer({ min: 0, max: 100_000 }).map((c) => formatScaled(BigInt(c), 2)),
        includedEnergyKwh: fc.integer({ min: 0, max: 2000 }).map(String),
        overagePerKwh: fc.integer({ min: 0, max: 999_999 }).map((n) => `0.${String(n).padStart(6, '0')}`),
      }),
    );
    const tax = fc.record({ vatPercent: fc.integer({ min: 0, max: 2500 }).map((n) => formatScaled(BigInt(n), 2)), treatment: fc.constantFrom('standard' as const, 'reverse_charge' as const) });

    it('totals add up: subtotal = sessions + fee + overage, total = subtotal + tax, items = total', () => {
      fc.assert(
        fc.property(fc.array(accrual, { maxLength: 40 }), plan, tax, (specs, chosenPlan, chosenTax) => {
          const accruals = specs.map((s, i) =>
            anAccrual({
              sessionId: `sess_${i + 1}`,
              startedAt: new Date(Date.parse('2026-11-01T00:00:00Z') + s.minute * 60_000).toISOString(),
              amountExclVatMinor: s.amount,
              energyKwh: formatScaled(BigInt(s.milliWh), 6),
            }),
          );
          const statement = computeStatement(settings({ plan: chosenPlan, tax: chosenTax }), '2026-11', accruals);
          const billed = statement.lines.reduce((sum, l) => sum + l.billedExclVatMinor, 0);
          expect(statement.sessionsExclVatMinor).toBe(billed);
          expect(statement.subtotalMinor).toBe(statement.sessionsExclVatMinor + statement.fixedFeeMinor + statement.overageMinor);
          expect(statement.totalMinor).toBe(statement.subtotalMinor + statement.taxMinor);
          expect(planInvoiceItems(statement).reduce((sum, i) => sum + i.amountMinor, 0)).toBe(statement.totalMinor);
          expect(statement.lines).toHaveLength(accruals.length);
        }),
      );
    });

    it('the overage never falls when energy rises', () => {
      const monthly = settings({ plan: { kind: 'monthly', fixedFee: '10', includedEnergyKwh: '100', overagePerKwh: '0.41' } });
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 500_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), (milliWh, more) => {
          const at = (mwh: number) => computeStatement(monthly, '2026-11', [anAccrual({ energyKwh: formatScaled(BigInt(mwh), 6) })]).overageMinor;
          expect(at(milliWh + more)).toBeGreaterThanOrEqual(at(milliWh));
        }),
      );
    });
  });
});

describe('billing periods', () => {
  it.each([
    ['2026-10-31T23:30:00Z', 'Europe/Berlin', '2026-11'],
    ['2026-10-31T23:30:00Z', 'UTC', '2026-10'],
    ['2026-12-31T23:00:00Z', 'Europe/Berlin', '2027-01'],
  ])('%s in %s falls in %s', (instant, zone, period) => {
    expect(periodOf(instant, zone)).toBe(period);
  });

  it('bounds a month at local midnight, across a DST change', () => {
    expect(periodBounds('2026-10', 'Europe/Berlin')).toEqual({ start: '2026-09-30T22:00:00.000Z', end: '2026-10-31T23:00:00.000Z' });
    expect(nextPeriod('2026-12')).toBe('2027-01');
  });
});
