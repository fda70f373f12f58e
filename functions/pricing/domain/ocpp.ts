/**
 * The OCPP 1.6 JSON request shapes pricing reads (StartTransaction.req, MeterValues.req,
 * StopTransaction.req, StatusNotification.req). The OCPP gateway validates them against the
 * official schemas on receipt; pricing still treats their contents as untrusted meter data.
 */

/** OCPP 1.6 SampledValue. `value` is a decimal string; `measurand` defaults to Energy.Active.Import.Register, `unit` to Wh. */
export interface SampledValue {
  value: string;
  context?: string;
  format?: 'Raw' | 'SignedData';
  measurand?: string;
  phase?: string;
  location?: string;
  unit?: string;
}

/** OCPP 1.6 MeterValue: one timestamp, several sampled values. */
export interface MeterValue {
  timestamp: string;
  sampledValue: SampledValue[];
}

export interface StartTransactionReq {
  connectorId: number;
  idTag: string;
  /** Energy register at the start, in Wh. */
  meterStart: number;
  reservationId?: number;
  timestamp: string;
}

export interface MeterValuesReq {
  connectorId: number;
  transactionId?: number;
  meterValue: MeterValue[];
}

export interface StopTransactionReq {
  idTag?: string;
  /** Energy register at the stop, in Wh. */
  meterStop: number;
  timestamp: string;
  transactionId: number;
  reason?: string;
  transactionData?: MeterValue[];
}

export interface StatusNotificationReq {
  connectorId: number;
  errorCode: string;
  info?: string;
  status: string;
  timestamp?: string;
  vendorId?: string;
  vendorErrorCode?: string;
}
