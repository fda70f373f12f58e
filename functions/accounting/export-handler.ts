import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { lambdaPlatform } from '../shared/lambda-platform.ts';
import { requireEnv } from '../shared/env.ts';
import { logger } from '../shared/logger.ts';
import type { PlatformSource } from '../shared/platform.ts';
import { DynamoLedgerStore } from './adapters/dynamo-ledger.ts';
import { S3ObjectSink } from './adapters/s3-sink.ts';
import { createNightlyExport } from './nightly-export.ts';

/** The nightly export over a platform: the Ledger table and the bucket named by EXPORT_BUCKET_NAME. */
export function createHandler(platform: PlatformSource) {
  let nightly: ReturnType<typeof createNightlyExport> | undefined;
  return middy(async (event: { date?: string } | undefined) => {
    const p = platform();
    nightly ??= createNightlyExport({ store: new DynamoLedgerStore(p.dynamo, p.tables.Ledger), sink: new S3ObjectSink(requireEnv('EXPORT_BUCKET_NAME', p.env)), clock: p.clock, log: p.log });
    return nightly.run(typeof event?.date === 'string' ? { date: event.date } : {});
  }).use(injectLambdaContext(logger));
}

/**
 * The nightly export (EventBridge Scheduler): yesterday's revenue CSV and JSON into the export
 * bucket. `{"date": "YYYY-MM-DD"}` as the input re-exports a given day.
 */
export const handler = createHandler(lambdaPlatform());
