/**
 * The environment the CDK stack gives every function, with fake names: handler tests set it
 * before importing a Lambda entry module, which reads it once at load (as on AWS).
 */
export function setLambdaEnvironment(extra: Record<string, string> = {}): void {
  Object.assign(process.env, {
    REGISTRY_TABLE: 'registry',
    ENTITLEMENTS_TABLE: 'entitlements',
    TARIFFS_TABLE: 'tariffs',
    SESSIONS_TABLE: 'sessions',
    PAYMENTS_TABLE: 'payments',
    FLEET_TABLE: 'fleet',
    ROAMING_TABLE: 'roaming',
    LEDGER_TABLE: 'ledger',
    EVENT_BUS_NAME: 'voltledger',
    OCPP_CONNECTIONS_ENDPOINT: 'https://abc123.execute-api.eu-central-1.amazonaws.com/prod',
    AWS_REGION: 'eu-central-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...extra,
  });
}
