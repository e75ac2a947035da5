// The one place a FirehoseClient is built (Lambda, local pipeline, benchmark, tests), so all of
// them send records the same, fast way. Only public options of the SDK client are used
// (`protocol` with its `jsonCodec`, `base64Encoder`/`base64Decoder`, `cacheMiddleware`): requests,
// signing, retries, errors and the HTTP path stay the SDK's own.
//
// Why: in this SDK version (@aws-sdk/client-firehose 3.1169, @aws-sdk/core 3.981) the AWS JSON 1.1
// protocol serializes with JsonCodec2, which walks the operation's schema for every value: for a
// PutRecordBatch of 500 records that is 500 struct walks, 500 schema lookups and a byte-by-byte
// JavaScript base64 loop that never consults the client's `base64Encoder`; parsing the response
// walks the 500 RequestResponses the same way. At ~1,700 records per MB of ALB log those walks were
// most of the loader's CPU (docs/benchmarks.md, "Loader"). The protocol's `jsonCodec` setting takes
// a codec, so the client gets JsonCodec2 subclasses (the SDK's public JsonShapeSerializer2 /
// JsonShapeDeserializer2) with fast paths for exactly two shapes, PutRecordBatchInput and
// PutRecordBatchOutput, which write and read what the generic walk would, byte for byte and value
// for value; any other operation, and any input or output of an unexpected form, takes the SDK's
// generic path unchanged. A self-check at codec construction runs a probe through both paths and
// turns a fast path off if they ever disagree (an SDK update changing the wire form).
import { isDeepStrictEqual } from 'node:util';
import {
  FirehoseClient, PutRecordBatchInput$, PutRecordBatchOutput$, errorTypeRegistries, type FirehoseClientConfig,
} from '@aws-sdk/client-firehose';
import {
  AwsJson1_1Protocol, JsonCodec2, JsonShapeDeserializer2, JsonShapeSerializer2, type JsonSettings,
} from '@aws-sdk/core/protocols';

/** Standard base64 with Node's native encoder; the same output as the SDK's toBase64. */
export function nativeBase64Encoder(input: Uint8Array | string): string {
  if (typeof input === 'string') return Buffer.from(input, 'utf8').toString('base64');
  return asBuffer(input).toString('base64');
}

/** Standard base64 to bytes with Node's native decoder (the SDK's fromBase64 contract). */
export function nativeBase64Decoder(text: string): Uint8Array {
  return Buffer.from(text, 'base64');
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

type Schema = Parameters<JsonShapeSerializer2['write']>[0];

const QUOTE = 0x22;
const COMMA = 0x2c;
const EMPTY: Buffer = Buffer.alloc(0);
// PutRecordBatchInput as JsonShapeSerializer2 writes it (members in schema order, no whitespace).
const INPUT_HEAD = Buffer.from('{"DeliveryStreamName":', 'latin1');
const RECORDS_OPEN = Buffer.from(',"Records":[', 'latin1');
const DATA_OPEN = Buffer.from('{"Data":"', 'latin1');
const CLOSE_BRACE = 0x7d;
/** Bytes around each record's base64: `{"Data":"`, `"}` and a comma. */
const RECORD_FRAME = DATA_OPEN.length + 3;
const INPUT_TAIL = Buffer.from(']}', 'latin1');

/** The serializer's output buffer and write position: private in its type declaration. */
interface SerializerOutput { json: Uint8Array; i: number }

function output(serializer: JsonShapeSerializer2): SerializerOutput {
  return serializer as unknown as SerializerOutput;
}

interface WireRecord { Data?: unknown; __type?: unknown }

/**
 * JsonShapeSerializer2 with a direct writer for PutRecordBatchInput, blobs base64-encoded by the
 * client's `base64Encoder` (native here, also on the generic path), and an output buffer sized like
 * the previous body up front instead of doubled from 2 KiB (a 5 MiB request would otherwise be grown
 * and copied twelve times).
 */
export class FirehoseJsonSerializer extends JsonShapeSerializer2 {
  /** Whether PutRecordBatchInput takes the direct writer; FirehoseJsonCodec turns it off if its self-check fails. */
  putRecordBatchFastPath = true;
  /** Request bodies the direct writer wrote (the rest went through the generic walk). */
  directWrites = 0;
  private lastLength = 0;
  /** A Buffer view of the output buffer, for Buffer#write; renewed when `ensure` replaces it. */
  private view: Buffer = EMPTY;

  override write(schema: Schema, value: unknown): void {
    if (schema === PutRecordBatchInput$ && this.putRecordBatchFastPath && this.writePutRecordBatchInput(value)) {
      this.directWrites += 1;
      return;
    }
    this.ensure(this.lastLength); // the position is 0 between requests
    super.write(schema, value);
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
    const json = this.outputView();
    let i = out.i;
    json[i++] = QUOTE;
    i += json.write(text, i, 'latin1'); // base64 is ASCII: one byte per character
    json[i++] = QUOTE;
    out.i = i;
  }

  /**
   * Writes `{"DeliveryStreamName":…,"Records":[{"Data":"<base64>"},…]}` as the generic struct walk
   * would. Returns false, having written nothing, for any value the walk would treat differently
   * (a missing or non-string name, a record that is not an object with a binary Data, a `__type` key).
   */
  private writePutRecordBatchInput(value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const input = value as { DeliveryStreamName?: unknown; Records?: unknown; __type?: unknown };
    const name = input.DeliveryStreamName;
    const records = input.Records;
    if (typeof name !== 'string' || !Array.isArray(records) || typeof input.__type === 'string') return false;
    const blobs: Uint8Array[] = new Array(records.length);
    let base64Length = 0;
    for (let r = 0; r < records.length; r += 1) {
      const record: unknown = records[r];
      if (typeof record !== 'object' || record === null) return false;
      const { Data: data, __type: type } = record as WireRecord;
      if (!(data instanceof Uint8Array) || typeof type === 'string') return false;
      blobs[r] = data;
      base64Length += Math.ceil(data.byteLength / 3) * 4;
    }
    const recordsSize = RECORDS_OPEN.length + base64Length + blobs.length * RECORD_FRAME + INPUT_TAIL.length;
    const out = output(this);
    out.i = 0;
    this.ensure(INPUT_HEAD.length + name.length + 2 + recordsSize); // exact for ASCII names
    this.outputView().set(INPUT_HEAD, 0);
    out.i = INPUT_HEAD.length;
    this.writeJsonString(name);
    this.ensure(recordsSize);
    const json = this.outputView();
    let i = out.i;
    json.set(RECORDS_OPEN, i);
    i += RECORDS_OPEN.length;
    i = this.writeBlobs(this.serdeContext?.base64Encoder ?? nativeBase64Encoder, blobs, i);
    out.i = i;
    this.ensure(INPUT_TAIL.length);
    this.outputView().set(INPUT_TAIL, i);
    out.i = i + INPUT_TAIL.length;
    return true;
  }

  /**
   * The records' `{"Data":"<base64>"}` list, the client's `base64Encoder` called once per record.
   * The buffer has room for standard base64 of every blob; after a longer output (a configured
   * encoder's) each record makes room for itself.
   */
  private writeBlobs(encode: (input: Uint8Array) => string, blobs: Uint8Array[], at: number): number {
    let json = this.outputView();
    let i = at;
    let sized = true; // whether the room reserved for standard base64 still holds
    for (let r = 0; r < blobs.length; r += 1) {
      const blob = blobs[r]!;
      const text = encode(blob);
      if (!sized || text.length !== Math.ceil(blob.byteLength / 3) * 4) {
        sized = false;
        output(this).i = i;
        this.ensure(text.length + RECORD_FRAME + INPUT_TAIL.length);
        json = this.outputView();
      }
      if (r > 0) json[i++] = COMMA;
      json.set(DATA_OPEN, i);
      i += DATA_OPEN.length;
      i += json.write(text, i, 'latin1'); // base64 is ASCII: one byte per character
      json[i++] = QUOTE;
      json[i++] = CLOSE_BRACE;
    }
    return i;
  }

  /** The output buffer as a Buffer (same memory), for Buffer#write. */
  private outputView(): Buffer {
    const { json } = output(this);
    const view = this.view;
    if (view.buffer !== json.buffer || view.byteOffset !== json.byteOffset || view.byteLength !== json.byteLength) {
      this.view = Buffer.from(json.buffer, json.byteOffset, json.byteLength);
    }
    return this.view;
  }
}

interface ResponseEntry { RecordId?: unknown; ErrorCode?: unknown; ErrorMessage?: unknown; __type?: unknown }
interface PutRecordBatchWireOutput { FailedPutCount?: unknown; RequestResponses?: unknown; Encrypted?: unknown; __type?: unknown }

/**
 * PutRecordBatchOutput exactly as JsonShapeDeserializer2's struct walk reads it (members in schema
 * order, null and unknown members dropped, values as parsed), or undefined when `parsed` has a form
 * the walk treats specially (numbers as strings, a `__type` key, entries that are not objects...).
 */
export function readPutRecordBatchOutput(parsed: unknown): Record<string, unknown> | undefined {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const wire = parsed as PutRecordBatchWireOutput;
  if (typeof wire.__type === 'string' || typeof wire.FailedPutCount === 'string') return undefined;
  const result: Record<string, unknown> = {};
  if (wire.FailedPutCount != null) result['FailedPutCount'] = wire.FailedPutCount;
  const entries = wire.RequestResponses;
  if (entries != null) {
    if (!Array.isArray(entries)) return undefined;
    const read: Array<Record<string, unknown>> = new Array(entries.length);
    for (let j = 0; j < entries.length; j += 1) {
      const entry = entries[j] as ResponseEntry | null;
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || typeof entry.__type === 'string') return undefined;
      const { RecordId: id, ErrorCode: code, ErrorMessage: message } = entry;
      // Object literals of one shape for the common case keep V8's hidden classes stable.
      if (code == null && message == null) read[j] = id == null ? {} : { RecordId: id };
      else {
        const out: Record<string, unknown> = {};
        if (id != null) out['RecordId'] = id;
        if (code != null) out['ErrorCode'] = code;
        if (message != null) out['ErrorMessage'] = message;
        read[j] = out;
      }
    }
    result['RequestResponses'] = read;
  }
  if (wire.Encrypted != null) result['Encrypted'] = wire.Encrypted;
  return result;
}

function rawSchema(schema: unknown): unknown {
  return typeof schema === 'object' && schema !== null && 'getSchema' in schema
    ? (schema as { getSchema(): unknown }).getSchema()
    : schema;
}

/** JsonShapeDeserializer2 with a direct reader for PutRecordBatchOutput. */
export class FirehoseJsonDeserializer extends JsonShapeDeserializer2 {
  /** Whether PutRecordBatchOutput takes the direct reader; FirehoseJsonCodec turns it off if its self-check fails. */
  putRecordBatchFastPath = true;
  /** Responses the direct reader read (the rest went through the generic walk). */
  directReads = 0;

  /** The direct reader (readPutRecordBatchOutput); the codec's self-check calls it too. */
  readDirect(parsed: unknown): Record<string, unknown> | undefined {
    return readPutRecordBatchOutput(parsed);
  }

  // `any`: the SDK's own signature.
  override async read(schema: Parameters<JsonShapeDeserializer2['read']>[0], data: unknown): Promise<any> {
    if (!this.putRecordBatchFastPath || !(data instanceof Uint8Array) || data.byteLength === 0 || rawSchema(schema) !== PutRecordBatchOutput$) {
      return super.read(schema, data);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(asBuffer(data).toString('utf8'));
    } catch {
      return super.read(schema, data); // the SDK's own error for a malformed body
    }
    const result = this.readDirect(parsed);
    if (result === undefined) return this.readObject(schema, parsed as never);
    this.directReads += 1;
    return result;
  }
}

// Self-check probes: every padding length, a non-ASCII stream name, failures, the encrypted flag.
const PROBE_INPUT = {
  DeliveryStreamName: 'probe-ü"\\',
  Records: [Buffer.from('\x1e'), Buffer.from([0xff, 0, 0x7f, 0x80]), Buffer.from('abcdef'), Buffer.alloc(0)].map((Data) => ({ Data })),
};
const PROBE_OUTPUT = Buffer.from(JSON.stringify({
  FailedPutCount: 1, Encrypted: true, Extra: 1,
  RequestResponses: [{ RecordId: 'a' }, { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }, {}, { RecordId: null, Other: 2 }],
}));

/** The two fast paths FirehoseJsonCodec checks against the SDK's generic path. */
export type FirehoseFastPath = 'PutRecordBatch request' | 'PutRecordBatch response';

export interface FirehoseCodecOptions {
  /**
   * Called when a fast path disagrees with the SDK's generic path at its self-check and is turned
   * off: requests stay correct but take the SDK's slower path (an SDK update changed the wire form).
   */
  onFastPathOff?: (path: FirehoseFastPath) => void;
}

/**
 * JsonCodec2 whose serializer and deserializer have the PutRecordBatch fast paths, each checked
 * against the SDK's generic path once per codec, when the first one is created (the protocol asks
 * for a new deserializer on every error response: the check's verdict is kept, not redone).
 */
export class FirehoseJsonCodec extends JsonCodec2 {
  private requestFastPath: boolean | undefined;
  private responseFastPath: boolean | undefined;

  constructor(settings: JsonSettings, private readonly options: FirehoseCodecOptions = {}) {
    super(settings);
  }

  /** The serializer and deserializer to check and hand out (seams for the self-check's own test). */
  protected newSerializer(): FirehoseJsonSerializer {
    return new FirehoseJsonSerializer(this.settings);
  }

  protected newDeserializer(): FirehoseJsonDeserializer {
    return new FirehoseJsonDeserializer(this.settings);
  }

  override createSerializer(): FirehoseJsonSerializer {
    const serializer = this.newSerializer();
    const { json, i } = output(serializer);
    // The serializer writes into its (privately typed) buffer: fail at client construction, not
    // with corrupt records, if an SDK update renames those fields.
    if (!(json instanceof Uint8Array) || typeof i !== 'number') {
      throw new Error('JsonShapeSerializer2 no longer keeps its output in `json`/`i`: update transform/loader/firehose-client.ts');
    }
    if (this.requestFastPath === undefined) {
      serializer.setSerdeContext({ base64Encoder: nativeBase64Encoder } as never);
      serializer.write(PutRecordBatchInput$, PROBE_INPUT);
      const fast = asBuffer(serializer.flush());
      const stock = new JsonShapeSerializer2(this.settings);
      stock.write(PutRecordBatchInput$, PROBE_INPUT);
      this.requestFastPath = serializer.directWrites === 1 && fast.equals(asBuffer(stock.flush()));
      serializer.directWrites = 0;
      if (!this.requestFastPath) this.options.onFastPathOff?.('PutRecordBatch request');
    }
    serializer.putRecordBatchFastPath = this.requestFastPath;
    serializer.setSerdeContext(this.serdeContext as never); // set later by the client otherwise
    return serializer;
  }

  override createDeserializer(): FirehoseJsonDeserializer {
    const deserializer = this.newDeserializer();
    if (this.serdeContext) deserializer.setSerdeContext(this.serdeContext);
    if (this.responseFastPath === undefined) {
      // Parsed twice: the generic walk rewrites the parsed lists in place.
      const parse = (): never => JSON.parse(PROBE_OUTPUT.toString('utf8')) as never;
      const stock = new JsonShapeDeserializer2(this.settings).readObject(PutRecordBatchOutput$, parse());
      this.responseFastPath = isDeepStrictEqual(deserializer.readDirect(parse()), stock);
      if (!this.responseFastPath) this.options.onFastPathOff?.('PutRecordBatch response');
    }
    deserializer.putRecordBatchFastPath = this.responseFastPath;
    return deserializer;
  }
}

/** The settings AwsJsonRpcProtocol gives its default JsonCodec2: epoch-seconds timestamps, no jsonName. */
const JSON_RPC_SETTINGS: JsonSettings = { timestampFormat: { useTrait: true, default: 7 }, jsonName: false };

/** Firehose's AWS JSON 1.1 protocol, as the SDK configures it, with FirehoseJsonCodec. */
function createFirehoseProtocol(options: FirehoseCodecOptions = {}): AwsJson1_1Protocol {
  return new AwsJson1_1Protocol({
    // The SDK's own protocol settings for Firehose (wire names: X-Amz-Target Firehose_20150804.*).
    defaultNamespace: 'com.amazonaws.firehose',
    serviceTarget: 'Firehose_20150804',
    errorTypeRegistries,
    jsonCodec: new FirehoseJsonCodec(JSON_RPC_SETTINGS, options),
  });
}

/** A FirehoseClient with the PutRecordBatch fast paths and native base64. `config` is passed through and wins. */
export function createFirehoseClient(config: FirehoseClientConfig = {}, options: FirehoseCodecOptions = {}): FirehoseClient {
  return new FirehoseClient({
    protocol: createFirehoseProtocol(options),
    base64Encoder: nativeBase64Encoder,
    base64Decoder: nativeBase64Decoder,
    // Resolve the middleware stack once per command class, not per request: the loader sends
    // thousands of PutRecordBatch calls through an unchanging stack.
    cacheMiddleware: true,
    ...config,
  });
}
