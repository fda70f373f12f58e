import type { EventData } from '../../../../events/contract.ts';
import type { SessionPriced } from '../../../../events/pricing-events.ts';
import type { SessionMeterValues, SessionStarted } from '../../../../events/session-events.ts';
import type { PaymentTariff } from '../../../../functions/payments/domain/amounts.ts';
import { createPayments } from '../../../../functions/payments/domain/card-payments.ts';
import type { SessionPayment } from '../../../../functions/payments/domain/model.ts';
import { DEFAULT_PAYMENT_POLICY, type PaymentPolicy } from '../../../../functions/payments/domain/policy.ts';
import { createReaders } from '../../../../functions/payments/domain/readers.ts';
import { createRefunds } from '../../../../functions/payments/domain/refunds.ts';
import { silentLog } from '../../../../functions/shared/log.ts';
import {
  FakeGateway,
  InMemoryDrivers,
  InMemoryEntitlements,
  InMemoryPaymentStore,
  InMemoryRegistry,
  InMemorySessions,
  InMemoryTariffs,
  PerKwhCostEstimator,
  plainTariffParser,
  RecordingPublisher,
  RecordingStopper,
  testClock,
} from './in-memory-ports.ts';

/** 0.40 EUR per kWh excl. 19% VAT. */
export const TARIFF: PaymentTariff = { currency: 'EUR', elements: [{ price_components: [{ type: 'ENERGY', price: 0.4, vat: 19 }] }] };

/** A fixed hold of 50.00 EUR; the default policy's increment rules (at 80%, +50%, at least +10.00, at most 300.00). */
export const FIXED_HOLD: PaymentPolicy = { ...DEFAULT_PAYMENT_POLICY, hold: { mode: 'fixed', amountMinor: 5_000 } };

/**
 * Card payments, readers and refunds over in-memory ports: charge point CP-1 (tariff T1 v1,
 * 22 kW), driver D-1 with a saved card behind idTag TAG-1, a running cost of 1.00 EUR per kWh,
 * the clock at 2026-11-23T12:00:00Z.
 */
export function paymentsHarness(options: { policy?: PaymentPolicy } = {}) {
  const store = new InMemoryPaymentStore();
  const gateway = new FakeGateway();
  const stopper = new RecordingStopper();
  const sessions = new InMemorySessions();
  const registry = new InMemoryRegistry();
  const tariffs = new InMemoryTariffs();
  const costs = new PerKwhCostEstimator(100);
  const entitlements = new InMemoryEntitlements();
  const drivers = new InMemoryDrivers();
  const events = new RecordingPublisher();
  const clock = testClock();
  const settledCalls: SessionPayment[] = [];

  store.setPolicy('default', 'default', options.policy ?? FIXED_HOLD);
  tariffs.put('T1', 1, TARIFF);
  registry.chargePoints.set('CP-1', { tariffId: 'T1', maxPowerKw: 22 });
  entitlements.drivers.set('TAG-1', 'D-1');
  drivers.drivers.set('D-1', { stripeCustomerId: 'cus_1', defaultPaymentMethodId: 'pm_1' });

  const payments = createPayments({
    store,
    gateway,
    stopper,
    sessions,
    registry,
    tariffs,
    tariffParser: plainTariffParser,
    costs,
    entitlements,
    drivers,
    events,
    clock,
    log: silentLog,
    afterSettled: async (payment) => {
      settledCalls.push(payment);
    },
  });
  const readers = createReaders({ store, gateway, stopper, payments, registry, tariffs, tariffParser: plainTariffParser, entitlements, clock, log: silentLog });
  const refunds = createRefunds({ store, gateway, clock, log: silentLog });

  /** SessionStarted of transaction `n` (session S-n), recorded as a started session too. */
  function started(n: number, over: Partial<EventData<typeof SessionStarted>> = {}): EventData<typeof SessionStarted> {
    const data: EventData<typeof SessionStarted> = {
      sessionId: `S-${n}`,
      transactionId: n,
      chargePointId: 'CP-1',
      connectorId: 1,
      idTag: 'TAG-1',
      authorizationStatus: 'Accepted',
      startedAt: '2026-11-23T11:00:00.000Z',
      meterStartWh: 1_000,
      timeZone: 'Europe/Berlin',
      tariff: { tariffId: 'T1', version: 1 },
      billingProfile: null,
      ...over,
    };
    sessions.sessions.set(n, {
      sessionId: data.sessionId,
      transactionId: n,
      chargePointId: data.chargePointId,
      connectorId: data.connectorId,
      idTag: data.idTag,
      state: 'started',
      startedAt: data.startedAt,
      meterStartWh: data.meterStartWh,
      tariff: data.tariff,
      billingProfile: data.billingProfile,
    });
    return data;
  }

  /** SessionMeterValues of transaction `n` after an energy register reading of `wh` (absolute) at `at`. */
  function meterValues(n: number, wh: number, at: string): EventData<typeof SessionMeterValues> {
    sessions.meter(n, at, wh);
    return { sessionId: `S-${n}`, transactionId: n, chargePointId: 'CP-1', connectorId: 1, sampledAt: at, samples: 1 };
  }

  /** SessionPriced of transaction `n` at `totalMinor` EUR minor units; the session is completed. */
  function priced(n: number, totalMinor: number, over: Partial<EventData<typeof SessionPriced>> = {}): EventData<typeof SessionPriced> {
    const session = sessions.sessions.get(n);
    if (session) session.state = 'completed';
    const money = { excl_vat: '0.00', incl_vat: '0.00' };
    return {
      sessionId: `S-${n}`,
      transactionId: n,
      chargePointId: 'CP-1',
      connectorId: 1,
      idTag: session?.idTag ?? 'TAG-1',
      billingProfile: session?.billingProfile ?? null,
      tariff: { tariffId: 'T1', version: 1 },
      currency: 'EUR',
      totalMinor,
      total_cost: money,
      total_energy_cost: money,
      total_time_cost: money,
      total_parking_cost: money,
      total_fixed_cost: money,
      total_energy: '0',
      total_time: '0',
      total_parking_time: '0',
      startedAt: '2026-11-23T11:00:00.000Z',
      completedAt: '2026-11-23T11:55:00.000Z',
      pricedAt: '2026-11-23T11:56:00.000Z',
      warnings: [],
      ...over,
    };
  }

  return { store, gateway, stopper, sessions, registry, tariffs, costs, entitlements, drivers, events, clock, settledCalls, payments, readers, refunds, started, meterValues, priced };
}

export type PaymentsHarness = ReturnType<typeof paymentsHarness>;
