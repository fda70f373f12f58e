import type { EventBridgeEvent } from 'aws-lambda';
import type { Ledger } from './ledger.ts';
import { parseLedgerEvent } from './domain/posting-rules.ts';

/**
 * EventBridge target of the money events: parses the event against its contract and books it.
 * A contract violation throws (the event goes to the rule's dead-letter queue after retries,
 * never into the ledger half-understood).
 */
export function createLedgerConsumer(ledger: Ledger) {
  return async function onMoneyEvent(event: EventBridgeEvent<string, unknown>): Promise<void> {
    await ledger.book(parseLedgerEvent(event['detail-type'], event.detail));
  };
}
