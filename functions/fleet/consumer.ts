import type { EventBridgeEvent } from 'aws-lambda';
import { SessionPriced } from '../../events/pricing-events.ts';
import type { FleetBilling } from './fleet-billing.ts';

/**
 * SessionPriced -> the session's accrual on its fleet account (sessions of other billing profiles
 * are ignored). Idempotent: a re-delivered event finds the accrual written and changes nothing.
 */
export function createFleetConsumer(billing: Pick<FleetBilling, 'accrue'>) {
  return async function onSessionPriced(event: EventBridgeEvent<string, unknown>): Promise<void> {
    const { data } = SessionPriced.envelope.parse(event.detail);
    await billing.accrue(data);
  };
}
