/**
 * Names of the custom CloudWatch metrics, shared by the handlers that emit them (Powertools
 * Metrics, EMF in the function's log) and the stack's alarms and dashboard (lib/infra/monitoring.ts).
 * One module, so that renaming a metric renames what its alarm watches; test/infra/monitoring.test.ts
 * checks the alarms against these constants. Pure data: the CDK app imports it without Powertools.
 */

/** The namespace of every VoltLedger metric. */
export const METRICS_NAMESPACE = 'VoltLedger';

/** Powertools Metrics' default dimension, whose value is the emitting service's name. */
export const SERVICE_DIMENSION = 'service';

/** The OCPP functions' service (Powertools service name and the metrics' `service` dimension). */
export const OCPP_METRICS = {
  service: 'voltledger-ocpp',
  /** Milliseconds from the `$default` invocation's start to the Authorize answer (result or CALLERROR). */
  authorizeLatency: 'AuthorizeLatency',
  /** CALLERRORs answered to charge points (any action, malformed frames included). */
  callErrors: 'CallErrors',
} as const;

/** The accounting functions' service; the daily reconciliation run emits these once per run. */
export const RECONCILIATION_METRICS = {
  service: 'voltledger-accounting',
  /** Completed sessions (older than 48 h) that reached no financial closure: revenue assurance. */
  sessionsWithoutClosure: 'SessionsWithoutClosure',
  /** Items of yesterday's reconciliation in a class that needs a person (missing, mismatch, unknown). */
  unexplainedDifferences: 'UnexplainedDifferences',
} as const;
