import {
  type MeterValuesReq,
  parseTariff,
  type SessionPricingInput,
  type StatusNotificationReq,
  type Tariff,
  type TariffElement,
} from '../../../functions/pricing/domain/index.ts';

type TariffJson = Record<string, unknown>;

/** A valid OCPI 2.2.1 tariff JSON (0.30 EUR/kWh, no VAT), with `overrides` on top; not parsed. */
export function aTariffJson(overrides: TariffJson = {}): TariffJson {
  return {
    country_code: 'DE',
    party_id: 'VLT',
    id: 'T-1',
    currency: 'EUR',
    elements: [{ price_components: [{ type: 'ENERGY', price: 0.3, step_size: 1 }] }],
    last_updated: '2024-01-01T00:00:00Z',
    ...overrides,
  };
}

/** A parsed tariff (see {@link aTariffJson}). */
export function aTariff(overrides: TariffJson = {}): Tariff {
  return parseTariff(aTariffJson(overrides));
}

type Component = { type: 'ENERGY' | 'TIME' | 'PARKING_TIME' | 'FLAT'; price: number; step_size?: number; vat?: number };

/** A tariff element from components (step_size defaults to 1) and optional restrictions. */
export function anElement(components: Component[], restrictions?: TariffElement['restrictions']): TariffElement {
  return {
    price_components: components.map((c) => ({ step_size: 1, ...c })),
    ...(restrictions ? { restrictions } : {}),
  } as TariffElement;
}

/** ISO timestamp `minutes` after `base`. */
export function plus(base: string, minutes: number): string {
  return new Date(Date.parse(base) + minutes * 60_000).toISOString();
}

export interface SessionSpec {
  tariff?: Tariff;
  timeZone?: string;
  start: string;
  meterStartWh?: number;
  /** [minutes after start, register value as OCPP sends it, unit] */
  samples?: Array<[number, string, ('Wh' | 'kWh')?]>;
  /** [minutes after start, status]; omitted: Charging at start. */
  statuses?: Array<[number, string]>;
  /** Minutes after start and the final register in Wh; null: no StopTransaction. */
  stop?: { after: number; meterStopWh: number; reason?: string } | null;
  billingProfile?: SessionPricingInput['billingProfile'];
  extraMeterValues?: MeterValuesReq[];
  extraStatuses?: StatusNotificationReq[];
}

/** An OCPP session on connector 1, transaction 7, as the pricing engine receives it. */
export function aSession(spec: SessionSpec): SessionPricingInput {
  const meterStart = spec.meterStartWh ?? 0;
  const meterValues: MeterValuesReq[] = [
    {
      connectorId: 1,
      transactionId: 7,
      meterValue: (spec.samples ?? []).map(([minutes, value, unit]) => ({
        timestamp: plus(spec.start, minutes),
        sampledValue: [{ value, ...(unit ? { unit } : {}), context: 'Sample.Periodic' }],
      })),
    },
    ...(spec.extraMeterValues ?? []),
  ];
  const statuses = spec.statuses ?? [[0, 'Charging']];
  return {
    tariff: spec.tariff ?? aTariff(),
    timeZone: spec.timeZone ?? 'Europe/Berlin',
    ...(spec.billingProfile ? { billingProfile: spec.billingProfile } : {}),
    startTransaction: { connectorId: 1, idTag: 'TAG-1', meterStart, timestamp: spec.start },
    meterValues,
    statusNotifications: [
      ...statuses.map(([minutes, status]) => ({ connectorId: 1, errorCode: 'NoError', status, timestamp: plus(spec.start, minutes) })),
      ...(spec.extraStatuses ?? []),
    ],
    ...(spec.stop === null
      ? {}
      : {
          stopTransaction: {
            meterStop: spec.stop?.meterStopWh ?? meterStart,
            timestamp: plus(spec.start, spec.stop?.after ?? 60),
            transactionId: 7,
            reason: spec.stop?.reason ?? 'EVDisconnected',
          },
        }),
  };
}

/** An OCPI CDR with one period per entry: [minutes after start, dimensions]. */
export function aCdr(start: string, periods: Array<[number, Array<[string, number]>]>, endAfterMinutes: number) {
  return {
    start_date_time: start,
    end_date_time: plus(start, endAfterMinutes),
    charging_periods: periods.map(([minutes, dimensions]) => ({
      start_date_time: plus(start, minutes),
      dimensions: dimensions.map(([type, volume]) => ({ type, volume })),
    })),
  };
}
