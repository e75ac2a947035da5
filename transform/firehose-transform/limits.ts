// Size limits of the Firehose -> transform Lambda exchange (../shared/reference/aws-pipeline-facts.md §1.3).
// The CDK stack configures the processor with PROCESSOR_BUFFER_SIZE_MB; this file is the one place
// that says why that value is safe.

/** Lambda's synchronous response payload limit: 6 MB. */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024;

/**
 * processRecords never returns a response larger than this: beyond it, the Ok records that grew most are
 * returned unchanged as ProcessingFailed (raw line kept by Firehose) instead of failing the invocation.
 * A little below the limit, for the Lambda runtime's own framing.
 */
export const RESPONSE_GUARD_BYTES = 6_000_000;

/**
 * Worst response bytes per input byte: (serialized result record: 56-digit recordId, result, base64 of
 * the JSON document, comma) / (record data bytes before base64, envelope header included).
 * Measured with `npm run bench transform` (`measureExpansion` in scripts/transform-fixtures.ts) over every
 * access-log sample line in ../shared/samples, bare and enveloped with a real AWS key, and adversarial
 * lines: 20-field lines of `-`, every field present with one-character values, long URLs (copied
 * into url.original/path/query/domain), \xHH control bytes (JSON-escaped as \u00XX), 500 trailing
 * fields, and the worst line of a random search over one-character field values (21 fields, 76 bytes).
 * Results (2026-11): realistic samples 2.9x enveloped / 3.6x bare (3.9x / 5.0x with event.original);
 * worst 13.6x, and 15.3x with event.original, both for the searched bare line: the fixed fields
 * (event.kind/category/type/id, cloud.provider, key names) dominate a tiny line. Enveloped lines
 * (the loader) stay under 5.3x because the ~250-byte header dilutes them. Enrichment (on by default)
 * adds up to ~300 bytes of geo, AS and user-agent fields: 16.2x, 17.9x with event.original, for the
 * searched line with a public client and a tool's user agent. Rounded up to 18.
 * test/transform/firehose-transform/limits.test.ts recomputes the ratios and fails if any exceeds this.
 */
export const MEASURED_WORST_CASE_EXPANSION = 18;

/**
 * Firehose Lambda processor BufferSizeInMBs (allowed 0.2-3, AWS default 1; the CDK L2 default of 3 MiB
 * would overflow). 0.25 MB x 18 = 4.5 MB worst case: a quarter below the 6 MB response limit. A realistic
 * 0.25 MB batch (about 300 enveloped lines) answers with about 0.75-1 MB.
 */
export const PROCESSOR_BUFFER_SIZE_MB = 0.25;
