import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeNag } from './nag.ts';

export interface ExportBucketProps {
  /** Days an export file (and a replaced version of it) is kept. */
  readonly expireAfterDays: number;
  /** Days the bucket's server access logs are kept (default 90). */
  readonly accessLogDays?: number;
}

/**
 * Where the nightly export writes yesterday's revenue files: encrypted (SSE-S3), TLS only, no
 * public access, versioned (a re-export never loses the file it replaces), files expiring after a
 * configurable number of days, every request logged to a second bucket (server access logs).
 * Both buckets are retained when the stack is deleted: the files are financial records.
 */
export class ExportBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: ExportBucketProps) {
    super(scope, id);
    if (!Number.isInteger(props.expireAfterDays) || props.expireAfterDays < 1) throw new Error(`${id}: expireAfterDays must be a positive integer`);
    const common = {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
    };
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      ...common,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(props.accessLogDays ?? 90) }],
    });
    acknowledgeNag(this.accessLogs, 'AwsSolutions-S1', 'This bucket receives the export bucket\'s server access logs; logging it into itself (or a third bucket) would add nothing.');
    this.bucket = new Bucket(this, 'Bucket', {
      ...common,
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'export-bucket/',
      lifecycleRules: [
        {
          id: 'expire-exports',
          expiration: Duration.days(props.expireAfterDays),
          noncurrentVersionExpiration: Duration.days(props.expireAfterDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }
}
