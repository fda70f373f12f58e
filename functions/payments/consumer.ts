import type { EventBridgeEvent } from 'aws-lambda';
import { SessionPriced } from '../../events/pricing-events.ts';
import { SessionMeterValues, SessionStarted } from '../../events/session-events.ts';
import type { Payments } from './domain/card-payments.ts';

/**
 * The payments function's EventBridge entry: SessionStarted places the hold, SessionMeterValues
 * keeps the running cost, SessionPriced settles. Each event is validated against its contract; a
 * failure throws so EventBridge retries (every step is idempotent).
 */
export function createPaymentsConsumer(payments: Payments) {
  return async function onEvent(event: EventBridgeEvent<string, unknown>): Promise<void> {
    switch (event['detail-type']) {
      case SessionStarted.detailType:
        return payments.onSessionStarted(SessionStarted.envelope.parse(event.detail).data);
      case SessionMeterValues.detailType:
        return payments.onMeterValues(SessionMeterValues.envelope.parse(event.detail).data);
      case SessionPriced.detailType:
        return payments.onSessionPriced(SessionPriced.envelope.parse(event.detail).data);
      default:
        throw new Error(`the payments function does not handle ${event['detail-type']}`);
    }
  };
}
