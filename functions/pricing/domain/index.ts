/**
 * VoltLedger pricing: OCPI 2.2.1 tariffs (plus VoltLedger extensions) applied to OCPP sessions
 * and OCPI CDRs, exactly, with an explanation. Pure domain code: no I/O, no clock, no env.
 * The model, the period derivation and the rounding point are described in docs/pricing.md.
 */
export { parseTariff, TariffSchema } from './tariff.ts';
export { formatPath } from '../../shared/errors.ts';
export type { Tariff, TariffElement, TariffRestrictions, PriceComponent, Price, IdleFee, PricingOverride, VoltLedgerExtension, TariffDimension, DayOfWeek } from './tariff.ts';
export { parseBillingProfile, BillingProfileSchema } from './billing-profile.ts';
export type { BillingProfile } from './billing-profile.ts';
export { exportTariffToOcpi } from './export-ocpi.ts';
export type { OcpiExport, OcpiTariff } from './export-ocpi.ts';
export { sessionToChargingPeriods } from './session-periods.ts';
export type { SessionPricingInput, SessionPeriods, ChargingPeriod, PeriodState } from './session-periods.ts';
export { priceSession, priceCdr, priceExpiredReservation } from './priced-session.ts';
export { tariffNotActiveReason, TariffNotActiveError, TARIFF_NOT_ACTIVE } from './tariff-validity.ts';
export type { PricedSession, PeriodExplanation } from './priced-session.ts';
export { CdrSchema } from './cdr.ts';
export type { OcpiCdr } from './cdr.ts';
export type { PriceLine, LineKind, CdrPrice, PricingWarning, ElementChoice, PricingPeriod, Ratio } from './engine.ts';
export type { StartTransactionReq, MeterValuesReq, StopTransactionReq, StatusNotificationReq, MeterValue, SampledValue } from './ocpp.ts';
