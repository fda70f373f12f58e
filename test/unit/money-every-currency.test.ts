/**
 * One session in every ISO 4217 currency through price -> payment amount -> ledger posting (and
 * the fleet accrual and roaming CDR figures of the same price), with the pure domain functions:
 * the amounts must agree everywhere, in the one representation functions/shared/money.ts defines
 * (integer ISO 4217 minor units), and every amount sent to Stripe must be one it takes.
 */
import { describe, expect, it } from 'vitest';
import { buildEvent, type EventData } from '../../events/contract.ts';
import { PaymentCaptured, SessionPaymentSettled } from '../../events/payment-events.ts';
import { SessionPriced } from '../../events/pricing-events.ts';
import { balances, type JournalEntry } from '../../functions/accounting/domain/journal.ts';
import { parseLedgerEvent, planPostings } from '../../functions/accounting/domain/posting-rules.ts';
import { accrualFromPricedSession } from '../../functions/fleet/domain/accrual.ts';
import { holdAmount } from '../../functions/payments/domain/amounts.ts';
import { planSettlement } from '../../functions/payments/domain/settlement.ts';
import { priceSession, type PricedSession, type Tariff } from '../../functions/pricing/domain/index.ts';
import { cdrAmounts, type OcpiCdrDocument } from '../../functions/roaming/domain/cdr.ts';
import {
  decimalToMinor,
  fromStripeAmount,
  ISO_4217_CURRENCIES,
  isoMinorDigits,
  isStripeAmount,
  minimumChargeMinor,
  stripeAmount,
  stripeStepMinor,
} from '../../functions/shared/money.ts';
import { aSession, aTariff } from './pricing/builders.ts';

const START = '2026-11-23T09:00:00.000Z';

/** 12.345 kWh in an hour at `energy` per kWh plus a `flat` fee, VAT `vat` %. */
function priced(tariff: Tariff): PricedSession {
  return priceSession(
    aSession({
      tariff,
      start: START,
      samples: [
        [30, '6000'],
        [60, '12345'],
      ],
      stop: { after: 60, meterStopWh: 12_345 },
      billingProfile: { kind: 'retail' },
    }),
  );
}

function aCurrencyTariff(currency: string, components: Array<{ type: 'ENERGY' | 'FLAT'; price: number; vat: number }>): Tariff {
  return aTariff({ currency, elements: [{ price_components: components.map((c) => ({ ...c, step_size: 1 })) }] });
}

function sessionPriced(sessionId: string, price: PricedSession, billingProfile: Record<string, unknown> = { kind: 'retail' }): EventData<typeof SessionPriced> {
  return {
    sessionId,
    transactionId: 7,
    chargePointId: 'CP-1',
    connectorId: 1,
    idTag: 'TAG-1',
    billingProfile,
    tariff: { tariffId: price.tariffId, version: 1 },
    currency: price.currency,
    totalMinor: price.totalMinor,
    total_cost: price.total_cost,
    total_energy_cost: price.total_energy_cost,
    total_time_cost: price.total_time_cost,
    total_parking_cost: price.total_parking_cost,
    total_fixed_cost: price.total_fixed_cost,
    total_energy: price.total_energy,
    total_time: price.total_time,
    total_parking_time: price.total_parking_time,
    startedAt: price.start_date_time,
    completedAt: price.end_date_time,
    pricedAt: price.end_date_time,
    warnings: [],
  };
}

function ledger<C extends typeof SessionPriced | typeof SessionPaymentSettled | typeof PaymentCaptured>(contract: C, data: EventData<C>, id: string): JournalEntry[] {
  const { detail } = buildEvent(contract, data, { id, occurredAt: new Date('2026-11-23T10:05:00Z') });
  return planPostings(parseLedgerEvent(contract.detailType, detail)).entries;
}

const lineOf = (entries: JournalEntry[], account: string, side: 'debit' | 'credit') =>
  entries.flatMap((e) => e.lines).filter((l) => l.account === account && l.side === side).reduce((sum, l) => sum + l.amountMinor, 0);
const creditsOf = (entries: JournalEntry[], accounts: string[]) => accounts.reduce((sum, account) => sum + lineOf(entries, account, 'credit'), 0);

/**
 * Prices, pays and books one retail session; returns what each step said, after checking that
 * they agree with each other in the currency's ISO minor units.
 */
function throughEverything(sessionId: string, tariff: Tariff) {
  const price = priced(tariff);
  const currency = price.currency;
  const digits = isoMinorDigits(currency);

  // 1. Pricing: the decimals it writes have the currency's ISO digits, and totalMinor is the incl. total in them.
  expect(price.minorUnitDigits).toBe(digits);
  for (const text of [price.total_cost.excl_vat, price.total_cost.incl_vat]) expect(text.split('.')[1]?.length ?? 0).toBe(digits);
  const inclMinor = decimalToMinor(price.total_cost.incl_vat, currency);
  const exclMinor = decimalToMinor(price.total_cost.excl_vat, currency);
  expect(price.totalMinor).toBe(inclMinor);

  // 2. Ledger: the session's receivable is what pricing said, and equals revenue + VAT in the same units.
  const data = sessionPriced(sessionId, price);
  const revenue = ledger(SessionPriced, data, `SessionPriced:${sessionId}`);
  expect(revenue).toHaveLength(price.totalMinor > 0 ? 1 : 0); // a zero price books nothing
  for (const entry of revenue) expect(entry.currency).toBe(currency);
  const receivable = lineOf(revenue, 'driver_receivable', 'debit');
  const net = creditsOf(revenue, ['revenue_retail_energy', 'revenue_retail_time', 'revenue_idle_fees', 'revenue_session_fees', 'price_rounding']);
  const vat = lineOf(revenue, 'vat_payable', 'credit');
  expect(receivable).toBe(price.totalMinor);
  expect(net).toBe(exclMinor);
  expect(receivable).toBe(net + vat);
  expect(lineOf(revenue, 'vat_payable', 'debit')).toBe(0);

  // 3. Fleet and roaming read the same price into the same minor units.
  const accrual = accrualFromPricedSession(sessionPriced(sessionId, price, { kind: 'fleet', accountId: 'ACME' }), 'ACME', 'Europe/Berlin', START);
  expect(accrual).toMatchObject({ amountInclVatMinor: inclMinor, amountExclVatMinor: exclMinor, currency });
  const cdr = { currency, total_cost: { excl_vat: Number(price.total_cost.excl_vat), incl_vat: Number(price.total_cost.incl_vat) } } as OcpiCdrDocument;
  expect(cdrAmounts(cdr)).toEqual({ exclVatMinor: exclMinor, vatMinor: inclMinor - exclMinor, inclVatMinor: inclMinor });

  // 4. Payments: a hold in amounts Stripe takes, a settlement that adds up, and no amount Stripe would refuse.
  const hold = holdAmount({ policy: { hold: { mode: 'fixed', amountMinor: price.totalMinor * 2 + 1 } }, tariff, currency });
  expect(isStripeAmount(hold.amountMinor, currency)).toBe(true);
  expect(hold.amountMinor).toBeGreaterThanOrEqual(minimumChargeMinor(currency));
  const plan = planSettlement({
    currency,
    sessionTotalMinor: price.totalMinor,
    hold: { paymentIntentId: `pi_${sessionId}`, status: 'usable', capturableMinor: hold.amountMinor, capturedMinor: 0, incrementable: false },
    canChargeOffSession: true,
    smallAmount: 'waive',
    canCarry: false,
  });
  expect(plan.dueMinor).toBe(price.totalMinor);
  expect(plan.captureMinor + plan.chargeMinor + plan.waiveMinor + plan.carryMinor + plan.uncollectableMinor).toBe(price.totalMinor);
  expect(plan.chargeMinor).toBe(0);
  for (const amount of [hold.amountMinor, plan.captureMinor]) {
    // What the Stripe adapter sends, and what Stripe's answer converts back to.
    expect(fromStripeAmount(stripeAmount(amount, currency), currency)).toBe(amount);
  }
  if (plan.captureMinor > 0) expect(plan.captureMinor).toBeGreaterThanOrEqual(minimumChargeMinor(currency));

  // 5. The money as the ledger books it: the capture (as Stripe reports it, converted back) and the
  // waived remainder leave nothing owed by the driver.
  const capturedMinor = plan.captureMinor > 0 ? fromStripeAmount(stripeAmount(plan.captureMinor, currency), currency) : 0;
  const settled = ledger(
    SessionPaymentSettled,
    {
      sessionId,
      transactionId: 7,
      chargePointId: 'CP-1',
      connectorId: 1,
      idTag: 'TAG-1',
      channel: 'app',
      outcome: plan.outcome,
      currency,
      sessionTotalMinor: price.totalMinor,
      carriedInMinor: 0,
      carriedInSessionIds: [],
      dueMinor: plan.dueMinor,
      holdMinor: hold.amountMinor,
      capturedMinor,
      topUpMinor: 0,
      waivedMinor: plan.waiveMinor,
      carriedOutMinor: plan.carryMinor,
      outstandingMinor: 0,
      holdPaymentIntentId: `pi_${sessionId}`,
      settledAt: '2026-11-23T10:02:00.000Z',
    },
    `SessionPaymentSettled:${sessionId}`,
  );
  const captured =
    capturedMinor > 0
      ? ledger(
          PaymentCaptured,
          {
            sessionId,
            purpose: 'hold',
            paymentIntentId: `pi_${sessionId}`,
            chargeId: `ch_${sessionId}`,
            currency,
            authorizedMinor: hold.amountMinor,
            capturedMinor,
            releasedMinor: hold.amountMinor - capturedMinor,
            capturedAt: '2026-11-23T10:01:00.000Z',
          },
          `PaymentCaptured:ch_${sessionId}`,
        )
      : [];
  const all = [...revenue, ...settled, ...captured];
  for (const entry of all) expect(entry.currency).toBe(currency);
  expect(balances(all).get(`${currency}|driver_receivable`) ?? 0n).toBe(0n);
  expect(balances(all).get(`${currency}|stripe_clearing`) ?? 0n).toBe(BigInt(capturedMinor));
  return { price, revenue, plan, hold, capturedMinor };
}

describe('one session in every ISO 4217 currency: price, payment and ledger agree', () => {
  it.each(ISO_4217_CURRENCIES.map((code) => [code]))('%s', (currency) => {
    // 12.345 kWh x 123.4567 + 7.5 flat, 19 % VAT: large enough in every currency to be captured.
    const tariff = aCurrencyTariff(currency, [
      { type: 'ENERGY', price: 123.4567, vat: 19 },
      { type: 'FLAT', price: 7.5, vat: 19 },
    ]);
    const { price, plan } = throughEverything(`S-${currency}`, tariff);
    // 12.345 x 123.4567 = 1524.0729615; + 7.5 = 1531.5729615 excl. VAT, rounded half up in the currency's digits.
    expect(decimalToMinor(price.total_cost.excl_vat, currency)).toBe(decimalToMinor('1531.5729615', currency));
    expect(price.totalMinor).toBeGreaterThan(0);
    expect(plan.captureMinor).toBeGreaterThan(0);
    // only what Stripe cannot take (less than one step) is waived
    expect(plan.waiveMinor).toBeLessThan(stripeStepMinor(currency));
  });

  it('a small session in every currency is waived or captured, never sent below what Stripe takes', () => {
    for (const currency of ISO_4217_CURRENCIES) {
      const tariff = aCurrencyTariff(currency, [{ type: 'ENERGY', price: 0.0123, vat: 7 }]);
      const { plan } = throughEverything(`SMALL-${currency}`, tariff);
      if (plan.captureMinor > 0) expect(isStripeAmount(plan.captureMinor, currency)).toBe(true);
    }
  });
});

describe('issue 14: 1,905 Ft (HUF)', () => {
  it('is priced, paid and booked as 1,905.00 Ft everywhere: receivable = revenue + VAT', () => {
    // 1,500 Ft per session + 27 % VAT (Hungary) = 1,905 Ft.
    const tariff = aCurrencyTariff('HUF', [{ type: 'FLAT', price: 1500, vat: 27 }]);
    const { price, revenue, plan, capturedMinor } = throughEverything('S-HUF-1905', tariff);
    expect(price.total_cost).toEqual({ excl_vat: '1500.00', incl_vat: '1905.00' });
    expect(price.totalMinor).toBe(190_500);
    expect(lineOf(revenue, 'driver_receivable', 'debit')).toBe(190_500);
    expect(lineOf(revenue, 'revenue_session_fees', 'credit')).toBe(150_000);
    expect(lineOf(revenue, 'vat_payable', 'credit')).toBe(40_500);
    expect(lineOf(revenue, 'vat_payable', 'debit')).toBe(0);
    // Stripe's HUF integers are two-decimal for charges: 1,905.00 Ft is 190500 there too.
    expect(plan).toMatchObject({ captureMinor: 190_500, waiveMinor: 0, outcome: 'captured' });
    expect(stripeAmount(plan.captureMinor, 'HUF')).toBe(190_500);
    expect(capturedMinor).toBe(190_500);
    // Stripe's minimum is 175.00 Ft, not 17,500 Ft.
    expect(minimumChargeMinor('HUF')).toBe(17_500);
  });

  it('ISK and UGX, whole units in ISO but hundredths at Stripe, reach Stripe as such', () => {
    const { price, plan } = throughEverything('S-ISK-1905', aCurrencyTariff('ISK', [{ type: 'FLAT', price: 1500, vat: 27 }]));
    expect(price.total_cost).toEqual({ excl_vat: '1500', incl_vat: '1905' });
    expect(plan.captureMinor).toBe(1905);
    expect(stripeAmount(plan.captureMinor, 'ISK')).toBe(190_500);
    const ugx = throughEverything('S-UGX', aCurrencyTariff('UGX', [{ type: 'FLAT', price: 5000, vat: 18 }]));
    expect(stripeAmount(ugx.plan.captureMinor, 'UGX')).toBe(590_000);
  });

  it('BHD: three decimals priced and booked; Stripe is sent tens of fils and the rest is waived and booked', () => {
    // 1.2345 BHD + 10 % VAT = 1.35795 -> 1.358 BHD; Stripe takes 1.350, 8 fils are waived.
    const { price, plan, revenue } = throughEverything('S-BHD', aCurrencyTariff('BHD', [{ type: 'FLAT', price: 1.2345, vat: 10 }]));
    expect(price.total_cost).toEqual({ excl_vat: '1.235', incl_vat: '1.358' });
    expect(lineOf(revenue, 'driver_receivable', 'debit')).toBe(1358);
    expect(plan).toMatchObject({ captureMinor: 1350, waiveMinor: 8, outcome: 'captured' });
  });
});
