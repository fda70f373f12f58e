import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { OutgoingEvent } from '../../events/contract.ts';
import { EventPublishError } from './errors.ts';

/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES = 10;

/**
 * Publishes domain events to an EventBridge bus. Throws when PutEvents reports any failed entry:
 * the caller must not acknowledge what was not published. Re-publishing is safe because event
 * ids are deterministic where it matters and consumers dedupe on them.
 */
export class EventBridgePublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(events: OutgoingEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_ENTRIES) {
      const entries: PutEventsRequestEntry[] = events.slice(i, i + MAX_ENTRIES).map((event) => ({
        EventBusName: this.eventBusName,
        Source: event.contract.source,
        DetailType: event.contract.detailType,
        Detail: JSON.stringify(event.detail),
        Time: new Date(event.detail.metadata.occurredAt),
      }));
      let result;
      try {
        result = await this.client.send(new PutEventsCommand({ Entries: entries }));
      } catch (cause) {
        throw new EventPublishError(`PutEvents failed for ${entries.length} event(s)`, { cause });
      }
      if (result.FailedEntryCount) {
        const failures = (result.Entries ?? [])
          .map((entry, index) => (entry.ErrorCode ? `${entries[index]?.DetailType}: ${entry.ErrorCode} ${entry.ErrorMessage ?? ''}` : null))
          .filter(Boolean);
        throw new EventPublishError(`PutEvents rejected ${result.FailedEntryCount} event(s): ${failures.join('; ')}`);
      }
    }
  }
}
