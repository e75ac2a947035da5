// Records as Firehose writes them to its S3 backup (one JSON object per line), for the tests of
// everything that reads them back (unwrapErrorRecord, `albatross parse --firehose-errors`, backfill).
export interface ErrorRecordFields {
  attemptsMade?: number;
  errorCode?: string;
  errorMessage?: string;
  esIndexName?: string;
  esDocumentId?: string;
  [field: string]: unknown;
}

/**
 * One backup record holding `data` (the record Firehose received: an enveloped line, a bare line or a
 * document) as base64 rawData. The defaults are a transform failure (processing-failed/); pass
 * esIndexName/esDocumentId and an HTTP errorCode for a document OpenSearch refused.
 */
export function firehoseErrorRecord(data: Buffer | string, fields: ErrorRecordFields = {}): string {
  return JSON.stringify({
    attemptsMade: 1,
    arrivalTimestamp: 0,
    errorCode: 'Lambda.ProcessingFailedStatus',
    errorMessage: 'transform failed',
    lambdaArn: 'arn:aws:lambda:us-east-2:123456789012:function:albatross-transform',
    ...fields,
    rawData: Buffer.from(data).toString('base64'),
  });
}
