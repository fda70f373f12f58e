import type { OutgoingEvent } from '../../../events/contract.ts';

/**
 * What pricing reads and writes outside its domain, declared as pricing needs it. The session,
 * its samples and the connector's statuses are recorded by the OCPP gateway and the tariffs by the
 * admin API; pricing reads them through these ports (functions/pricing/adapters, over the shared
 * tables) and owns only the price.
 */

/** A session as pricing reads it: what it was started and stopped with, and its billing snapshot. */
export interface SessionToPrice {
  sessionId: string;
  transactionId: number;
  chargePointId: string;
  connectorId: number;
  idTag: string;
  startedAt: string;
  meterStartWh: number;
  reservationId?: number;
  /** IANA zone of the charge point (tariff restrictions are local time). */
  timeZone: string;
  siteId?: string;
  /** The tariff version in force at the start; null when none was. */
  tariff: { tariffId: string; version: number } | null;
  billingProfile: Record<string, unknown> | null;
  stoppedAt?: string;
  meterStopWh?: number;
  stopReason?: string;
  stopIdTag?: string;
  /** The OCPP gateway's clock record (docs/clocks.md); `review` set means: do not price, report it. */
  clock?: { review?: string };
}

/** One stored meter reading of a session (OCPP MeterValues' sampledValue, as received). */
export interface SessionSample {
  timestamp: string;
  sampledValue: Array<Record<string, string>>;
}

/** One status a connector reported (OCPP StatusNotification). */
export interface ConnectorStatusReport {
  connectorId: number;
  status: string;
  errorCode: string;
  timestamp: string;
}

/** The sessions the OCPP gateway stored (the Sessions table). */
export interface SessionSource {
  getSession(transactionId: number): Promise<SessionToPrice | undefined>;
  /** The session's meter samples, in timestamp order. */
  samples(transactionId: number): Promise<SessionSample[]>;
}

/** The connector status timeline the OCPP gateway stored (the Registry table). */
export interface StatusTimelineSource {
  /** Statuses of the connector at or after `since`, oldest first. */
  statusTimeline(chargePointId: string, connectorId: number, since: string): Promise<ConnectorStatusReport[]>;
  /** The charge point's rated power (registry `maxPowerKw`), when configured: the meter plausibility bound (docs/meters.md). */
  maxPowerKw?(chargePointId: string): Promise<number | undefined>;
}

/** Stored tariff versions (the Tariffs table): the tariff JSON exactly as accepted. */
export interface TariffVersionSource {
  get(tariffId: string, version: number): Promise<{ tariffId: string; version: number; tariffJson: string } | undefined>;
}

/** A session's price as stored: the priced session's JSON and its summary. */
export interface StoredPrice {
  priceJson: string;
  totalMinor: number;
  currency: string;
  pricedAt: string;
}

/** Reads a session's stored price (what other contexts' composition roots hand out for reading it). */
export interface PriceReader {
  getPrice(transactionId: number): Promise<StoredPrice | undefined>;
}

/** Pricing's own records beside the session: the price (once) and why a session could not be priced. */
export interface PriceStore extends PriceReader {
  /**
   * Stores a session's price unless one is stored and copies its summary onto the session. Returns
   * the stored price: this one (`stored` true) or the one a previous delivery stored, whose summary
   * is (re)written too, so a retry after a half-finished attempt completes it. Never creates a session.
   */
  recordPrice(transactionId: number, price: StoredPrice): Promise<StoredPrice & { stored: boolean }>;
  /** Copies a stored price's summary onto its session; the same values every time. */
  writePriceSummary(transactionId: number, price: StoredPrice): Promise<void>;
  /** Records once why a session could not be priced; returns the failure on record (the first). */
  recordPricingFailure(transactionId: number, reason: string, failedAt: string): Promise<{ reason: string; failedAt: string }>;
}

/** Publishes pricing's events; throws when any is not accepted. */
export interface PricingEventPort {
  publish(events: OutgoingEvent[]): Promise<void>;
}
