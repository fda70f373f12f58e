import { decimalToMinor } from '../../shared/money.ts';
import { divRoundHalfUp, formatScaledTrimmed, numberToDecimalString, parseScaled } from '../../shared/decimal.ts';
import type { ConnectorSpec, OcpiToken, SiteLocation } from './model.ts';

/**
 * An OCPI 2.2.1 Tariff object as exported to the partner (functions/pricing's OCPI export); the CDR
 * carries it whole, and the CDR schema checks it.
 */
export interface OcpiTariffDocument {
  id: string;
  country_code: string;
  party_id: string;
  currency: string;
  [field: string]: unknown;
}

/** An amount excl. and incl. VAT as exact decimal texts. */
export interface DecimalPrice {
  excl_vat: string;
  incl_vat: string;
}

/**
 * What a CDR is built from of the priced session (pricing's PricedSession JSON, as stored): its
 * times, totals and the periods of its explanation.
 */
export interface CdrPricedSession {
  currency: string;
  /** IANA zone the session was priced in. */
  timeZone: string;
  start_date_time: string;
  end_date_time: string;
  total_cost: DecimalPrice;
  total_fixed_cost: DecimalPrice;
  total_energy_cost: DecimalPrice;
  total_time_cost: DecimalPrice;
  total_parking_cost: DecimalPrice;
  /** kWh, exact. */
  total_energy: string;
  /** Hours, to 6 decimals. */
  total_time: string;
  total_parking_time: string;
  periods: Array<{ start_date_time: string; state: 'CHARGING' | 'PARKING'; energy_kwh: string; duration_s: string }>;
}

/** An OCPI 2.2.1 CDR as VoltLedger writes it (validated against functions/roaming/schema/cdr-2.2.1.schema.json). */
export interface OcpiCdrDocument {
  country_code: string;
  party_id: string;
  id: string;
  start_date_time: string;
  end_date_time: string;
  session_id: string;
  cdr_token: { country_code: string; party_id: string; uid: string; type: OcpiToken['type']; contract_id: string };
  auth_method: 'AUTH_REQUEST' | 'COMMAND' | 'WHITELIST';
  cdr_location: {
    id: string;
    name?: string;
    address: string;
    city: string;
    postal_code?: string;
    state?: string;
    country: string;
    coordinates: { latitude: string; longitude: string };
    evse_uid: string;
    evse_id: string;
    connector_id: string;
    connector_standard: ConnectorSpec['standard'];
    connector_format: ConnectorSpec['format'];
    connector_power_type: ConnectorSpec['power_type'];
  };
  currency: string;
  tariffs: OcpiTariffDocument[];
  charging_periods: Array<{ start_date_time: string; dimensions: Array<{ type: 'ENERGY' | 'TIME' | 'PARKING_TIME'; volume: number }>; tariff_id: string }>;
  total_cost: { excl_vat: number; incl_vat: number };
  total_fixed_cost?: { excl_vat: number; incl_vat: number };
  total_energy: number;
  total_energy_cost?: { excl_vat: number; incl_vat: number };
  total_time: number;
  total_time_cost?: { excl_vat: number; incl_vat: number };
  total_parking_time?: number;
  total_parking_cost?: { excl_vat: number; incl_vat: number };
  remark?: string;
  credit?: boolean;
  credit_reference_id?: string;
  last_updated: string;
}

/** Everything a CDR is made of, as it was at the start of the session (OCPI: a CDR is sealed). */
export interface CdrInput {
  cdrId: string;
  /** The CPO's OCPI party (the tariff's `country_code` / `party_id`). */
  cpo: { countryCode: string; partyId: string };
  session: { sessionId: string; chargePointId: string; connectorId: number };
  token: OcpiToken;
  location: SiteLocation;
  /** The session priced under the OCPI export of its tariff (billing profile `roaming`). */
  priced: CdrPricedSession;
  /** The tariff exactly as exported to the partner. */
  tariff: OcpiTariffDocument;
  lastUpdated: string;
}

/** OCPI numbers carry 4 decimals unless the spec says otherwise (types: number). */
const SCALE = 4;

/** A decimal text to an OCPI number of at most 4 decimals (half up, once). */
function ocpiNumber(text: string): number {
  return Number(formatScaledTrimmed(parseScaled(text, SCALE)!, SCALE));
}

const price = (p: { excl_vat: string; incl_vat: string }) => ({ excl_vat: Number(p.excl_vat), incl_vat: Number(p.incl_vat) });
const isZero = (p: { excl_vat: string; incl_vat: string }) => Number(p.excl_vat) === 0 && Number(p.incl_vat) === 0;

/**
 * Spreads exact amounts (scaled by 10^6) over periods rounded to 4 decimals so that the running sum
 * is rounded, not each part: the periods add up to the rounded total and none is off by more than
 * half a unit of the 4th decimal.
 */
function cumulativeRound(exactE6: bigint[]): number[] {
  let before = 0n;
  let cumulative = 0n;
  return exactE6.map((value) => {
    cumulative += value;
    const rounded = divRoundHalfUp(cumulative, 100n); // 1e-6 -> 1e-4
    const part = rounded - before;
    before = rounded;
    return Number(formatScaledTrimmed(part, SCALE));
  });
}

/** `<country>*<party>*E<charge point><connector>`, the eMI3 EVSE ID shape, from what OCPP knows. */
export function evseIdFor(cpo: CdrInput['cpo'], chargePointId: string, connectorId: number): string {
  const clean = (s: string) => s.toUpperCase().replace(/[^A-Z0-9*]/g, '');
  return `${cpo.countryCode}*${cpo.partyId}*E${clean(chargePointId)}*${connectorId}`.slice(0, 48);
}

/**
 * Builds the OCPI 2.2.1 CDR of a priced roaming session: a charging period at every change of
 * state or price (the priced session's periods, already merged only where nothing changed), with
 * ENERGY + TIME while charging and PARKING_TIME while parked; totals excl./incl. VAT as priced;
 * the tariff as the partner has it; `auth_method` WHITELIST (authorized from the token cache).
 * Pure: the same input gives the same bytes.
 */
export function buildCdr(input: CdrInput): OcpiCdrDocument {
  const { priced, location, session, token, cpo, tariff } = input;
  const connector = location.connectors[`${session.chargePointId}/${session.connectorId}`] ?? location.defaultConnector;
  const energies = cumulativeRound(priced.periods.map((p) => parseScaled(p.energy_kwh, 6)!));
  // Hours (1e-6) from milliseconds; charging and parking time each add up to their own total.
  const hoursE6 = (p: (typeof priced.periods)[number]) => divRoundHalfUp(parseScaled(p.duration_s, 3)! * 1_000_000n, 3_600_000n);
  const chargingHours = cumulativeRound(priced.periods.map((p) => (p.state === 'CHARGING' ? hoursE6(p) : 0n)));
  const parkingHours = cumulativeRound(priced.periods.map((p) => (p.state === 'PARKING' ? hoursE6(p) : 0n)));
  const hours = priced.periods.map((p, index) => (p.state === 'CHARGING' ? chargingHours[index]! : parkingHours[index]!));
  const periods = priced.periods.map((period, index) => ({
    start_date_time: period.start_date_time,
    dimensions:
      period.state === 'CHARGING'
        ? [
            { type: 'ENERGY' as const, volume: energies[index]! },
            { type: 'TIME' as const, volume: hours[index]! },
          ]
        : [{ type: 'PARKING_TIME' as const, volume: hours[index]! }],
    tariff_id: tariff.id,
  }));
  const cdr: OcpiCdrDocument = {
    country_code: cpo.countryCode,
    party_id: cpo.partyId,
    id: input.cdrId,
    start_date_time: priced.start_date_time,
    end_date_time: priced.end_date_time,
    session_id: session.sessionId,
    cdr_token: { country_code: token.country_code, party_id: token.party_id, uid: token.uid, type: token.type, contract_id: token.contract_id },
    auth_method: 'WHITELIST',
    cdr_location: {
      id: location.siteId,
      ...(location.name ? { name: location.name } : {}),
      address: location.address,
      city: location.city,
      ...(location.postal_code ? { postal_code: location.postal_code } : {}),
      ...(location.state ? { state: location.state } : {}),
      country: location.country,
      coordinates: location.coordinates,
      evse_uid: `${session.chargePointId}-${session.connectorId}`.slice(0, 36),
      evse_id: evseIdFor(cpo, session.chargePointId, session.connectorId),
      connector_id: String(session.connectorId),
      connector_standard: connector.standard,
      connector_format: connector.format,
      connector_power_type: connector.power_type,
    },
    currency: priced.currency,
    tariffs: [tariff],
    charging_periods: periods,
    total_cost: price(priced.total_cost),
    ...(isZero(priced.total_fixed_cost) ? {} : { total_fixed_cost: price(priced.total_fixed_cost) }),
    total_energy: ocpiNumber(priced.total_energy),
    ...(isZero(priced.total_energy_cost) ? {} : { total_energy_cost: price(priced.total_energy_cost) }),
    total_time: ocpiNumber(priced.total_time),
    ...(isZero(priced.total_time_cost) ? {} : { total_time_cost: price(priced.total_time_cost) }),
    total_parking_time: ocpiNumber(priced.total_parking_time),
    ...(isZero(priced.total_parking_cost) ? {} : { total_parking_cost: price(priced.total_parking_cost) }),
    last_updated: input.lastUpdated,
  };
  return cdr;
}

/**
 * The credit CDR of a CDR (OCPI 2.2.1 "Credit CDRs"): all the data of the original, a new id
 * (`<id>-C`), `credit: true`, `credit_reference_id` = the original's id, and only `total_cost`
 * negated. The original is never changed.
 */
export function buildCreditCdr(original: OcpiCdrDocument, lastUpdated: string, remark?: string): OcpiCdrDocument {
  const { credit: _c, credit_reference_id: _r, remark: _m, ...rest } = original;
  const negate = (n: number) => (n === 0 ? 0 : -n);
  return {
    ...rest,
    id: `${original.id}-C`,
    total_cost: { excl_vat: negate(original.total_cost.excl_vat), incl_vat: negate(original.total_cost.incl_vat) },
    ...(remark ? { remark: remark.slice(0, 255) } : {}),
    credit: true,
    credit_reference_id: original.id,
    last_updated: lastUpdated,
  };
}

/** A CDR's amounts in minor units, positive whichever way it goes (RoamingCdrAccepted's figures). */
export function cdrAmounts(cdr: OcpiCdrDocument): { exclVatMinor: number; vatMinor: number; inclVatMinor: number } {
  // OCPI amounts are JSON numbers: read back as the decimal they were written as, never as binary floats.
  const minor = (n: number) => decimalToMinor(numberToDecimalString(Math.abs(n)), cdr.currency);
  const exclVatMinor = minor(cdr.total_cost.excl_vat);
  const inclVatMinor = minor(cdr.total_cost.incl_vat);
  return { exclVatMinor, vatMinor: inclVatMinor - exclVatMinor, inclVatMinor };
}
