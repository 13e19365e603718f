import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ReportSink } from '../../domain/ports.js';
import { AWS_CALL_TIMEOUTS } from '../awsClients.js';

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
};

/** Where monthly reports go: `reports/<YYYY-MM>/<name>.<ext>`. Writing the same month again replaces it (versioned bucket). */
export class ReportBucket implements ReportSink {
  private readonly client: S3Client;

  constructor(
    private readonly bucketName: string,
    client?: S3Client,
  ) {
    this.client = client ?? new S3Client({ ...AWS_CALL_TIMEOUTS });
  }

  async put(month: string, name: string, extension: 'html' | 'csv' | 'json', body: string): Promise<string> {
    const key = `reports/${month}/${name}.${extension}`;
    await this.client.send(new PutObjectCommand({ Bucket: this.bucketName, Key: key, Body: body, ContentType: CONTENT_TYPES[extension] }));
    return `s3://${this.bucketName}/${key}`;
  }
}
