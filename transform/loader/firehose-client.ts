// The one place a FirehoseClient is built (Lambda, local pipeline, benchmark, tests), so all of
// them send records the same, fast way. Only public options of the SDK client are used
// (`protocol`, `base64Encoder`/`base64Decoder`, `cacheMiddleware`): requests, signing, retries,
// errors and responses stay the SDK's own.
//
// Why: in this SDK version (@aws-sdk/client-firehose 3.1169, @aws-sdk/core 3.981) the AWS JSON 1.1
// protocol serializes with JsonCodec2, whose writeBase64 encodes every record blob with a
// byte-by-byte JavaScript loop and never consults the client's `base64Encoder`; that loop was ~20 %
// of the loader's CPU (docs/benchmarks.md, "Loader"). The protocol's `jsonCodec` setting takes a
// codec, so the client gets JsonCodec2 with a serializer whose writeBase64 calls `base64Encoder`,
// here Node's native one: a subclass of the SDK's public JsonShapeSerializer2 overriding its
// protected writeBase64, which has to write into the serializer's buffer, typed private (checked
// when the codec creates it). (The SDK's older JsonCodec does call `base64Encoder`, but it builds
// the body as a string with JSON.stringify that is then measured, converted and hashed again: it
// measured no faster than the default.)
import { FirehoseClient, errorTypeRegistries, type FirehoseClientConfig } from '@aws-sdk/client-firehose';
import { AwsJson1_1Protocol, JsonCodec2, JsonShapeSerializer2 } from '@aws-sdk/core/protocols';

/** Standard base64 with Node's native encoder; the same output as the SDK's toBase64. */
export function nativeBase64Encoder(input: Uint8Array | string): string {
  if (typeof input === 'string') return Buffer.from(input, 'utf8').toString('base64');
  const bytes = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return bytes.toString('base64');
}

/** Standard base64 to bytes with Node's native decoder (the SDK's fromBase64 contract). */
export function nativeBase64Decoder(text: string): Uint8Array {
  return Buffer.from(text, 'base64');
}

const QUOTE = 0x22;
const EMPTY: Buffer = Buffer.alloc(0);

/** The serializer's output buffer and write position: private in its type declaration. */
interface SerializerOutput { json: Uint8Array; i: number }

function output(serializer: JsonShapeSerializer2): SerializerOutput {
  return serializer as unknown as SerializerOutput;
}

/**
 * JsonShapeSerializer2 that base64-encodes blobs with the client's `base64Encoder` (native here)
 * and sizes its output buffer like the previous body up front instead of doubling it from 2 KiB
 * (a 5 MiB request would otherwise be grown and copied twelve times).
 */
export class NativeBase64JsonSerializer extends JsonShapeSerializer2 {
  private lastLength = 0;
  /** A Buffer view of the output buffer, for Buffer#write; renewed when `ensure` replaces it. */
  private view: Buffer = EMPTY;

  override write(...args: Parameters<JsonShapeSerializer2['write']>): void {
    this.ensure(this.lastLength); // the position is 0 between requests
    super.write(...args);
  }

  override flush(): Uint8Array {
    const body = super.flush();
    this.lastLength = body instanceof Uint8Array ? body.byteLength : 0; // a passthrough root may be a string
    this.view = EMPTY; // the body belongs to the request now
    return body;
  }

  protected override writeBase64(data: Uint8Array): void {
    // The client's `base64Encoder` (nativeBase64Encoder unless configured otherwise), as JsonCodec does.
    const text = (this.serdeContext?.base64Encoder ?? nativeBase64Encoder)(data);
    this.ensure(text.length + 2);
    const out = output(this);
    const { json } = out;
    if (this.view.buffer !== json.buffer || this.view.byteOffset !== json.byteOffset || this.view.byteLength !== json.byteLength) {
      this.view = Buffer.from(json.buffer, json.byteOffset, json.byteLength);
    }
    let i = out.i;
    json[i++] = QUOTE;
    i += this.view.write(text, i, 'latin1'); // base64 is ASCII: one byte per character
    json[i++] = QUOTE;
    out.i = i;
  }
}

/** JsonCodec2 whose serializer is NativeBase64JsonSerializer. */
export class NativeBase64JsonCodec extends JsonCodec2 {
  override createSerializer(): NativeBase64JsonSerializer {
    const serializer = new NativeBase64JsonSerializer(this.settings);
    const { json, i } = output(serializer);
    // writeBase64 writes into the serializer's (privately typed) buffer: fail at client
    // construction, not with corrupt records, if an SDK update renames those fields.
    if (!(json instanceof Uint8Array) || typeof i !== 'number') {
      throw new Error('JsonShapeSerializer2 no longer keeps its output in `json`/`i`: update transform/loader/firehose-client.ts');
    }
    if (this.serdeContext) serializer.setSerdeContext(this.serdeContext); // set later by the client otherwise
    return serializer;
  }
}

/** Firehose's AWS JSON 1.1 protocol, as the SDK configures it, with NativeBase64JsonCodec. */
export function createFirehoseProtocol(): AwsJson1_1Protocol {
  return new AwsJson1_1Protocol({
    // The SDK's own protocol settings for Firehose (wire names: X-Amz-Target Firehose_20150804.*).
    defaultNamespace: 'com.amazonaws.firehose',
    serviceTarget: 'Firehose_20150804',
    errorTypeRegistries,
    // The settings AwsJsonRpcProtocol gives its default JsonCodec2: epoch-seconds timestamps, no jsonName.
    jsonCodec: new NativeBase64JsonCodec({ timestampFormat: { useTrait: true, default: 7 }, jsonName: false }),
  });
}

/** A FirehoseClient that sends blobs with native base64. `config` is passed through and wins. */
export function createFirehoseClient(config: FirehoseClientConfig = {}): FirehoseClient {
  return new FirehoseClient({
    protocol: createFirehoseProtocol(),
    base64Encoder: nativeBase64Encoder,
    base64Decoder: nativeBase64Decoder,
    // Resolve the middleware stack once per command class, not per request: the loader sends
    // thousands of PutRecordBatch calls through an unchanging stack.
    cacheMiddleware: true,
    ...config,
  });
}
