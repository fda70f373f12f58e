import { createAuthorizer, type Authorizer } from './authorize.ts';
import { createChargePointReports } from './charge-point.ts';
import { createCommands } from './commands.ts';
import { createCompletion } from './completion.ts';
import { concurrencyPolicyOf, lockoutPolicyOf, type CentralSystemConfig } from './config.ts';
import { createConnections } from './connections.ts';
import type { Ocpp16ChargePointAction, Ocpp16ChargePointMessages } from './ocpp16-messages.generated.ts';
import type { OcppPorts } from './ports.ts';
import { createOpenSessions } from './open-sessions.ts';
import { createTransactions } from './transactions.ts';

/** Answers one action's CALL (its payload already valid under the action's schema) with the action's CALLRESULT payload. */
export type ActionHandler<A extends Ocpp16ChargePointAction> = (
  chargePointId: string,
  request: Ocpp16ChargePointMessages[A]['request'],
  messageId: string,
) => Promise<Ocpp16ChargePointMessages[A]['response']>;

function actionHandlers(
  reports: ReturnType<typeof createChargePointReports>,
  authorizer: Authorizer,
  transactions: ReturnType<typeof createTransactions>,
) {
  return {
    BootNotification: reports.BootNotification,
    Heartbeat: reports.Heartbeat,
    StatusNotification: reports.StatusNotification,
    Authorize: authorizer.Authorize,
    StartTransaction: transactions.StartTransaction,
    MeterValues: transactions.MeterValues,
    StopTransaction: transactions.StopTransaction,
    DataTransfer: reports.DataTransfer,
    FirmwareStatusNotification: reports.FirmwareStatusNotification,
    DiagnosticsStatusNotification: reports.DiagnosticsStatusNotification,
  } satisfies { [A in Ocpp16ChargePointAction]?: ActionHandler<A> };
}

/**
 * The charge point actions VoltLedger answers: those with a handler above (OCPP 1.6 core and
 * firmware management; the security extension's actions are answered NotSupported).
 */
export type HandledAction = keyof ReturnType<typeof actionHandlers>;
export type ActionHandlers = { [A in HandledAction]: ActionHandler<A> };

/**
 * The OCPP central system's rules, built from its ports: the handler of every action a charge
 * point sends, `$connect` authentication, commands to charge points and their answers, and the
 * idle-session sweep. Protocol framing and schema validation stay with the caller.
 */
export function createChargePointService(ports: OcppPorts, config: CentralSystemConfig) {
  const concurrency = concurrencyPolicyOf(config);
  const authorizer = createAuthorizer(ports, concurrency);
  const completion = createCompletion(ports, config);
  const reports = createChargePointReports(ports, config, completion);
  const openSessions = createOpenSessions(ports, config);
  const transactions = createTransactions(ports, concurrency, authorizer, completion, openSessions);
  const connections = createConnections(ports, lockoutPolicyOf(config));
  const commands = createCommands(ports);
  const handlers: ActionHandlers = actionHandlers(reports, authorizer, transactions);
  return {
    handlers,
    authenticate: connections.authenticate,
    disconnect: connections.disconnect,
    chargePointFor: connections.chargePointFor,
    sendCommand: commands.sendCommand,
    settleAnswer: commands.settleAnswer,
    completeIdleSessions: completion.completeIdleSessions,
    /** The sweep's other half: sessions open past SESSION_MAX_OPEN_HOURS are closed from their last reading. */
    closeStaleSessions: openSessions.closeStaleSessions,
  };
}

export type ChargePointService = ReturnType<typeof createChargePointService>;
