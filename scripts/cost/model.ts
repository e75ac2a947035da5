// The monthly AWS cost of each delivery mode for a volume of ALB logs: public list prices
// (PRICES, with their source) times the per-line figures `npm run bench` measures (MEASURED).
// Pure: `albatross cost` prints it, docs/cost.md shows the same table (a test keeps them equal),
// and the demo uses firehoseBilledBytes for the lines it processed.

/** Firehose bills every record rounded up to the next 5 KB (5,120 bytes). */
export const FIREHOSE_BILLING_UNIT = 5120;

export function firehoseBilledBytes(recordBytes: number): number {
  return Math.max(1, Math.ceil(recordBytes / FIREHOSE_BILLING_UNIT)) * FIREHOSE_BILLING_UNIT;
}

/** us-east-1 list prices in USD; `source` says where each comes from (docs/cost.md lists them with their date). */
export const PRICES = {
  firehosePerGB: { usd: 0.029, source: 'https://aws.amazon.com/firehose/pricing/ (Direct PUT, first 500 TB/month)' },
  lambdaPerGBSecondArm: { usd: 0.0000133334, source: 'https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-s/month)' },
  lambdaPerMillionRequests: { usd: 0.2, source: 'https://aws.amazon.com/lambda/pricing/' },
  s3PerThousandGets: { usd: 0.0004, source: 'https://aws.amazon.com/s3/pricing/ (S3 Standard GET)' },
  s3PerThousandPuts: { usd: 0.005, source: 'https://aws.amazon.com/s3/pricing/ (S3 Standard PUT)' },
  sqsPerMillionRequests: { usd: 0.4, source: 'https://aws.amazon.com/sqs/pricing/ (standard queue)' },
  dynamoPerMillionWrites: { usd: 0.625, source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (write request units)' },
  dynamoPerMillionReads: { usd: 0.125, source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (read request units)' },
  openSearchGp3PerGBMonth: { usd: 0.122, source: 'https://aws.amazon.com/opensearch-service/pricing/ (EBS gp3 storage)' },
} as const;

/**
 * Per-line figures measured by `npm run bench` (loader, transform, indexing; each bench prints its figure
 * next to the value used here: update these from its output). CPU milliseconds per million lines, single-threaded.
 */
export const MEASURED = {
  /** Mean raw ALB line, bytes (with its LF). */
  lineBytes: 619,
  /** Loader in Firehose mode: gunzip, split, envelope, PutRecordBatch. */
  loaderFirehoseCpuMsPerMillion: 13_200,
  /** Transform Lambda: base64, envelope, parse, typed JSON. */
  transformCpuMsPerMillion: 13_900,
  /** Loader in direct mode: gunzip, split, parse, `_bulk` body and its HTTP round trips (engine excluded). */
  loaderDirectCpuMsPerMillion: 36_000,
  /** Bytes on disk per document after a force merge (primary copy). */
  bytesOnDiskPerDocument: 306,
  /** Envelope header per Firehose record (bucket, key, offset) in front of the line. */
  envelopeBytes: 200,
  /** Lines per transform invocation (the 0.25 MB processor buffer of enveloped records). */
  linesPerTransformInvocation: 320,
};

/** Lambda's CPU share grows with memory: one full vCPU at 1,769 MB (AWS Lambda developer guide). */
export const MB_PER_VCPU = 1769;

export interface CostInputs {
  gbPerDay: number;
  /** Mean raw line, bytes. */
  lineBytes?: number;
  /** Uncompressed MB per S3 log object (ALB writes one per node every 5 minutes). */
  objectMB?: number;
  retentionDays?: number;
  replicas?: number;
  loaderMemoryMB?: number;
  transformMemoryMB?: number;
  measured?: typeof MEASURED;
}

export interface CostLine { item: string; firehose: number; direct: number }
export interface CostTable {
  inputs: Required<Omit<CostInputs, 'measured'>>;
  linesPerDay: number;
  lines: CostLine[];
  total: { firehose: number; direct: number };
}

const DAYS_PER_MONTH = 30;

/** Lambda milliseconds for `cpuMs` of single-threaded work at `memoryMB` (under 1,769 MB it gets a fraction of a vCPU). */
export function lambdaMs(cpuMs: number, memoryMB: number): number {
  return cpuMs / Math.min(1, memoryMB / MB_PER_VCPU);
}

export function costTable(inputs: CostInputs): CostTable {
  const m = inputs.measured ?? MEASURED;
  const resolved = {
    gbPerDay: inputs.gbPerDay,
    lineBytes: inputs.lineBytes ?? m.lineBytes,
    objectMB: inputs.objectMB ?? 20,
    retentionDays: inputs.retentionDays ?? 30,
    replicas: inputs.replicas ?? 1,
    loaderMemoryMB: inputs.loaderMemoryMB ?? 1024,
    transformMemoryMB: inputs.transformMemoryMB ?? 512,
  };
  const bytesPerDay = resolved.gbPerDay * 1e9;
  const linesPerDay = bytesPerDay / resolved.lineBytes;
  const linesPerMonth = linesPerDay * DAYS_PER_MONTH;
  const objectsPerMonth = Math.ceil(bytesPerDay / (resolved.objectMB * 1e6)) * DAYS_PER_MONTH;
  const millions = linesPerMonth / 1e6;

  const gbSeconds = (cpuMsPerMillion: number, memoryMB: number) => (lambdaMs(cpuMsPerMillion, memoryMB) * millions / 1000) * (memoryMB / 1024);
  const lambda = (gbs: number, requests: number) => gbs * PRICES.lambdaPerGBSecondArm.usd + (requests / 1e6) * PRICES.lambdaPerMillionRequests.usd;

  const record = resolved.lineBytes - 1 + m.envelopeBytes;
  const firehoseIngest = (linesPerMonth * firehoseBilledBytes(record) / 1e9) * PRICES.firehosePerGB.usd;
  const loaderFirehose = lambda(gbSeconds(m.loaderFirehoseCpuMsPerMillion, resolved.loaderMemoryMB), objectsPerMonth);
  const transform = lambda(gbSeconds(m.transformCpuMsPerMillion, resolved.transformMemoryMB), linesPerMonth / m.linesPerTransformInvocation);
  const loaderDirect = lambda(gbSeconds(m.loaderDirectCpuMsPerMillion, resolved.loaderMemoryMB), objectsPerMonth);
  // One GetObject per log object in both modes; failure records are too rare to count.
  const s3 = (objectsPerMonth / 1000) * PRICES.s3PerThousandGets.usd;
  // Receive and delete per message (plus the event source's empty polls, not counted: they do not grow with volume).
  const sqs = (objectsPerMonth * 2 / 1e6) * PRICES.sqsPerMillionRequests.usd;
  // Checkpoints: one read per object; writes: claim and release, plus (Firehose mode) one per PutRecordBatch of 500 records.
  const reads = objectsPerMonth;
  const dynamo = (directMode: boolean) => {
    const writes = objectsPerMonth * 2 + (directMode ? 0 : linesPerMonth / 500);
    return (writes / 1e6) * PRICES.dynamoPerMillionWrites.usd + (reads / 1e6) * PRICES.dynamoPerMillionReads.usd;
  };
  // Steady state: retentionDays of documents, each copy (primary + replicas) on gp3.
  const storageGB = linesPerDay * m.bytesOnDiskPerDocument * resolved.retentionDays * (1 + resolved.replicas) / 1e9;
  const storage = storageGB * PRICES.openSearchGp3PerGBMonth.usd;

  const lines: CostLine[] = [
    { item: 'Firehose ingestion (5 KB per record)', firehose: firehoseIngest, direct: 0 },
    { item: 'Lambda: loader', firehose: loaderFirehose, direct: loaderDirect },
    { item: 'Lambda: transform', firehose: transform, direct: 0 },
    { item: 'S3 GET (log objects)', firehose: s3, direct: s3 },
    { item: 'SQS requests', firehose: sqs, direct: sqs },
    { item: 'DynamoDB checkpoints', firehose: dynamo(false), direct: dynamo(true) },
    { item: `OpenSearch gp3 storage (${resolved.retentionDays} d, ${1 + resolved.replicas} copies)`, firehose: storage, direct: storage },
  ];
  const total = {
    firehose: lines.reduce((sum, l) => sum + l.firehose, 0),
    direct: lines.reduce((sum, l) => sum + l.direct, 0),
  };
  return { inputs: resolved, linesPerDay, lines, total };
}

function usd(value: number): string {
  if (value === 0) return '—';
  if (value < 0.01) return '< $0.01';
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** The table as Markdown (docs/cost.md) or aligned text (the command) — same numbers either way. */
export function formatCostTable(table: CostTable): string[] {
  const { inputs } = table;
  const title = `${inputs.gbPerDay.toLocaleString('en-US')} GB of raw ALB logs a day (${Math.round(table.linesPerDay).toLocaleString('en-US')} lines of ${inputs.lineBytes} bytes), USD per month`;
  const rows = [
    ['', 'firehose', 'direct'],
    ['---', '---:', '---:'],
    ...table.lines.map((l) => [l.item, usd(l.firehose), usd(l.direct)]),
    ['**Total**', `**${usd(table.total.firehose)}**`, `**${usd(table.total.direct)}**`],
  ];
  return [title, '', ...rows.map((r) => `| ${r.join(' | ')} |`)];
}
