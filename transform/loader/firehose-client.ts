// The one place a FirehoseClient is built (Lambda, local pipeline, benchmark, tests), so all of
// them send records the same, fast way. Everything here goes through public options of the SDK
// client; requests, signing, retries and responses stay the SDK's own.
import { FirehoseClient, errorTypeRegistries, type FirehoseClientConfig } from '@aws-sdk/client-firehose';
import { AwsJson1_1Protocol, JsonCodec, JsonCodec2, JsonShapeSerializer2 } from '@aws-sdk/core/protocols';
import { HttpRequest } from '@smithy/core/protocols';

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

const QUOTE = 0x22;
interface SerializerBuffer { json: Uint8Array; i: number }

class NativeBase64JsonSerializer extends JsonShapeSerializer2 {
  protected override writeBase64(data: Uint8Array): void {
    const text = nativeBase64Encoder(data);
    this.ensure(text.length + 2);
    const self = this as unknown as SerializerBuffer;
    const json = self.json;
    let i = self.i;
    json[i++] = QUOTE;
    i += Buffer.prototype.latin1Write.call(json, text, i);
    json[i++] = QUOTE;
    self.i = i;
  }
}

class NativeBase64JsonCodec extends JsonCodec2 {
  override createSerializer(): NativeBase64JsonSerializer {
    const serializer = new NativeBase64JsonSerializer(this.settings);
    serializer.setSerdeContext(this.serdeContext);
    return serializer;
  }
}

const CODEC_SETTINGS = { timestampFormat: { useTrait: true, default: 7 as const }, jsonName: false };

/** Firehose's AWS JSON 1.1 protocol with the JSON codec that honours `base64Encoder`. */
export function createFirehoseProtocol(): AwsJson1_1Protocol {
  const variant = process.env['ALBATROSS_TMP_VARIANT'] ?? 'codec2fast';
  return new AwsJson1_1Protocol({
    defaultNamespace: 'com.amazonaws.firehose',
    serviceTarget: 'Firehose_20150804',
    errorTypeRegistries,
    jsonCodec: variant === 'codec2fast' ? new NativeBase64JsonCodec(CODEC_SETTINGS) : new JsonCodec(CODEC_SETTINGS),
  });
}

export function createFirehoseClient(config: FirehoseClientConfig = {}): FirehoseClient {
  const variant = process.env['ALBATROSS_TMP_VARIANT'] ?? 'codec2fast';
  const client = new FirehoseClient({
    protocol: createFirehoseProtocol(),
    base64Encoder: nativeBase64Encoder,
    base64Decoder: nativeBase64Decoder,
    cacheMiddleware: true,
    ...config,
  });
  if (variant === 'codec1bytes') {
    client.middlewareStack.add((next) => async (args) => {
      const request = args.request;
      if (HttpRequest.isInstance(request) && typeof request.body === 'string') request.body = Buffer.from(request.body, 'utf8');
      return next(args);
    }, { step: 'build', priority: 'high', name: 'bodyToBytes' });
  }
  return client;
}
