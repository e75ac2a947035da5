// The one place a FirehoseClient is built (Lambda, local pipeline, benchmark, tests), so all of
// them send records the same, fast way. Everything here is a public option of the SDK client;
// requests, signing and responses stay the SDK's own.
//
// Why: in this SDK version the default AWS JSON codec (JsonCodec2) base64-encodes every record blob
// with a byte-by-byte JavaScript loop and ignores the `base64Encoder` option; that loop was about
// a fifth of the loader's CPU time (docs/benchmarks.md, "Loader"). The protocol's documented
// `jsonCodec` setting also takes the SDK's JsonCodec, which encodes blobs with `base64Encoder` and
// builds the body with JSON.stringify; given Node's native base64 that path costs a fraction.
import { FirehoseClient, errorTypeRegistries, type FirehoseClientConfig } from '@aws-sdk/client-firehose';
import { AwsJson1_1Protocol, JsonCodec } from '@aws-sdk/core/protocols';

/** Standard base64 through Node's native encoder (same output as the SDK's toBase64). */
export function nativeBase64Encoder(bytes: Uint8Array | string): string {
  return typeof bytes === 'string'
    ? Buffer.from(bytes, 'utf8').toString('base64')
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes standard base64 into bytes (the SDK's fromBase64 contract). */
export function nativeBase64Decoder(text: string): Uint8Array {
  return Buffer.from(text, 'base64');
}

/** Firehose's AWS JSON 1.1 protocol with the JSON codec that honours `base64Encoder`. */
export function createFirehoseProtocol(): AwsJson1_1Protocol {
  return new AwsJson1_1Protocol({
    // The service's own wire identifiers (the SDK's defaults for Firehose, X-Amz-Target prefix).
    defaultNamespace: 'com.amazonaws.firehose',
    serviceTarget: 'Firehose_20150804',
    errorTypeRegistries,
    // The settings the protocol gives its default codec: epoch-seconds timestamps, member names as is.
    jsonCodec: new JsonCodec({ timestampFormat: { useTrait: true, default: 7 }, jsonName: false }),
  });
}

/**
 * A FirehoseClient with native base64 and the codec that uses it. `config` wins over the defaults
 * here, except that no caller can bring back the slow encoder by accident: pass `protocol`
 * or `base64Encoder` explicitly to do so.
 */
export function createFirehoseClient(config: FirehoseClientConfig = {}): FirehoseClient {
  return new FirehoseClient({
    protocol: createFirehoseProtocol(),
    base64Encoder: nativeBase64Encoder,
    base64Decoder: nativeBase64Decoder,
    // Resolve the middleware stack once per command class instead of once per request: the loader
    // sends thousands of identical PutRecordBatch calls and never changes the stack.
    cacheMiddleware: true,
    ...config,
  });
}
