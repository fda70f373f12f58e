import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TABLES } from '../../lib/tables.ts';
import { systemClock } from '../shared/clock.ts';
import { requireEnv } from '../shared/env.ts';
import { log, logger } from '../shared/logger.ts';
import { DynamoLedgerStore } from './adapters/dynamo-ledger.ts';
import { S3ObjectSink } from './adapters/s3-sink.ts';
import { createNightlyExport } from './nightly-export.ts';

const nightly = createNightlyExport({
  store: new DynamoLedgerStore(new DynamoDBClient({}), requireEnv(TABLES.Ledger.envVar)),
  sink: new S3ObjectSink(requireEnv('EXPORT_BUCKET_NAME')),
  clock: systemClock,
  log,
});

/**
 * The nightly export (EventBridge Scheduler): yesterday's revenue CSV and JSON into the export
 * bucket. `{"date": "YYYY-MM-DD"}` as the input re-exports a given day.
 */
export const handler = middy(async (event: { date?: string } | undefined) =>
  nightly.run(typeof event?.date === 'string' ? { date: event.date } : {}),
).use(injectLambdaContext(logger));
