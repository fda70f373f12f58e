import type { EventBridgeEvent } from 'aws-lambda';
import { SessionPriced } from '../../events/pricing-events.ts';
import type { Roaming } from './roaming-service.ts';

/**
 * SessionPriced -> the session's OCPI CDR, stored and pushed to its partner (other billing profiles
 * are ignored). A CDR not accepted after this run's attempts throws, so the event is delivered
 * again later (the rule's retry policy, then its dead-letter queue); the CDR itself is stored once.
 */
export function createRoamingConsumer(roaming: Pick<Roaming, 'onSessionPriced'>) {
  return async function onSessionPriced(event: EventBridgeEvent<string, unknown>): Promise<void> {
    const { data } = SessionPriced.envelope.parse(event.detail);
    await roaming.onSessionPriced(data);
  };
}
