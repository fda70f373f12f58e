import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * Every domain event travels as an EventBridge event whose `detail` is this envelope:
 * `{ metadata: { id, version, occurredAt, correlationId }, data }`. `metadata.id` is deterministic
 * for events that could be published twice (a retried StartTransaction publishes SessionStarted with
 * the same id), so consumers dedupe on it: EventBridge delivers at least once, in no guaranteed order.
 */
export const EventMetadata = z.strictObject({
  id: z.string().min(1),
  version: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: true }),
  correlationId: z.string().min(1),
});
export type EventMetadata = z.infer<typeof EventMetadata>;

/** One event type: where it comes from, its name on the bus, and the schema of its data. */
export interface EventContract<Name extends string = string, Data extends z.ZodType = z.ZodType> {
  readonly source: string;
  readonly detailType: Name;
  readonly version: number;
  readonly data: Data;
  readonly envelope: z.ZodType<{ metadata: EventMetadata; data: z.infer<Data> }>;
}

/** Declares an event contract; the CDK rules, the local bus, producers and consumers all use it. */
export function defineEvent<Name extends string, Data extends z.ZodType>(spec: {
  source: string;
  detailType: Name;
  version: number;
  data: Data;
}): EventContract<Name, Data> {
  return {
    ...spec,
    envelope: z.strictObject({ metadata: EventMetadata, data: spec.data }) as unknown as z.ZodType<{
      metadata: EventMetadata;
      data: z.infer<Data>;
    }>,
  };
}

export type EventData<C extends EventContract> = z.infer<C['data']>;

/** An event ready to publish: its contract, its envelope, and the bus it goes to. */
export interface OutgoingEvent<C extends EventContract = EventContract> {
  contract: C;
  detail: { metadata: EventMetadata; data: EventData<C> };
}

/**
 * Builds an event, validating its data against the contract (a producer never publishes what a
 * consumer would reject). Pass `id` when a retry must produce the same event id.
 */
export function buildEvent<C extends EventContract>(
  contract: C,
  data: EventData<C>,
  opts: { id?: string; occurredAt: Date; correlationId?: string },
): OutgoingEvent<C> {
  const id = opts.id ?? randomUUID();
  const detail = contract.envelope.parse({
    metadata: {
      id,
      version: contract.version,
      occurredAt: opts.occurredAt.toISOString(),
      correlationId: opts.correlationId ?? id,
    },
    data,
  }) as OutgoingEvent<C>['detail'];
  return { contract, detail };
}
