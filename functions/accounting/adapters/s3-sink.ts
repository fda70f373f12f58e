import type { ObjectSink } from '../nightly-export.ts';

/** The part of `@aws-sdk/client-s3` the sink uses. */
export interface S3Module {
  S3Client: new (config: Record<string, unknown>) => { send(command: unknown): Promise<unknown> };
  PutObjectCommand: new (input: { Bucket: string; Key: string; Body: string; ContentType: string }) => unknown;
}

/**
 * Writes export files to an S3 bucket (encrypted at rest by the bucket's default encryption).
 *
 * `@aws-sdk/client-s3` is a dependency (types, local runs) and, like every `@aws-sdk/*` module,
 * external to the bundles: the nodejs22.x runtime ships it. It is `require`d on the first write so
 * loading the export function costs nothing until it writes; tests hand in a stand-in module.
 */
export class S3ObjectSink implements ObjectSink {
  private client: { send(command: unknown): Promise<unknown> } | undefined;
  private sdk: S3Module | undefined;

  constructor(
    private readonly bucket: string,
    private readonly loadSdk: () => S3Module = () => require('@aws-sdk/client-s3') as S3Module,
  ) {}

  async put(key: string, body: string, contentType: string): Promise<void> {
    this.sdk ??= this.loadSdk();
    this.client ??= new this.sdk.S3Client({});
    await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }
}
