// Autonomous-system lookups. The bundled data is the @ip-location-db/asn CSV (RouteViews, NRO and
// DB-IP, CC BY 4.0): inclusive address ranges with an AS number and organisation. AsnTable finds an
// address by binary search over the file's lines. Operators' own MaxMind
// GeoIP2/GeoLite2 ASN databases are read through asFromRecord instead.

export interface AsFields {
  number: number;
  organization_name?: string;
}

/** IPv4 or IPv6 address text -> its value as a decimal string (the `-num` CSV files' keys); undefined if not an address. */
export function addressDecimal(ip: string): string | undefined {
  if (!ip.includes(':')) {
    const parts = ip.split('.');
    if (parts.length !== 4) return undefined;
    let value = 0;
    for (const part of parts) {
      if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
      value = value * 256 + Number(part);
    }
    return String(value);
  }
  let text = ip;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted !== null) {
    // embedded IPv4 (::ffff:1.2.3.4): two groups
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const gap = text.indexOf('::');
  const head = gap === -1 ? text.split(':') : text.slice(0, gap).split(':').filter((g) => g !== '');
  const tail = gap === -1 ? [] : text.slice(gap + 2).split(':').filter((g) => g !== '');
  const groups = gap === -1 ? head : [...head, ...new Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value.toString();
}

/**
 * One ip-location-db `-num` CSV file (`start,end,asn,organization`, inclusive ranges of addresses
 * as decimal numbers, sorted by start) searched in place: the file's bytes plus the offset of
 * each line, so opening it costs one read and one newline scan, not a parse of every row.
 */
class NumericRangeFile {
  private readonly lines: Uint32Array;
  readonly size: number;

  constructor(private readonly bytes: Buffer) {
    let count = 0;
    for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) count++;
    const lines = new Uint32Array(count + 1);
    let n = 0;
    if (bytes.length > 0 && bytes[0] !== 10) lines[n++] = 0;
    for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) {
      if (i + 1 < bytes.length && bytes[i + 1] !== 10) lines[n++] = i + 1;
    }
    this.lines = lines.subarray(0, n);
    this.size = n;
  }

  /** Compares the decimal `key` with the number at byte `at` (ending at a comma): <0, 0, >0. */
  private compare(key: string, at: number): number {
    const end = this.bytes.indexOf(44, at);
    const length = end - at;
    if (length !== key.length) return key.length - length;
    for (let i = 0; i < length; i++) {
      const difference = key.charCodeAt(i) - this.bytes[at + i]!;
      if (difference !== 0) return difference;
    }
    return 0;
  }

  get(key: string): AsFields | undefined {
    let low = 0;
    let high = this.size - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.compare(key, this.lines[mid]!) >= 0) low = mid + 1;
      else high = mid - 1;
    }
    if (high < 0) return undefined;
    const start = this.lines[high]!;
    const endField = this.bytes.indexOf(44, start) + 1;
    if (this.compare(key, endField) > 0) return undefined;
    const asnField = this.bytes.indexOf(44, endField) + 1;
    const orgField = this.bytes.indexOf(44, asnField) + 1;
    let lineEnd = this.bytes.indexOf(10, asnField);
    if (lineEnd === -1) lineEnd = this.bytes.length;
    if (this.bytes[lineEnd - 1] === 13) lineEnd--;
    const number = Number(this.bytes.toString('latin1', asnField, orgField > 0 && orgField <= lineEnd ? orgField - 1 : lineEnd));
    if (!Number.isInteger(number) || number <= 0) return undefined;
    let name = orgField > 0 && orgField <= lineEnd ? this.bytes.toString('utf8', orgField, lineEnd) : '';
    if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1).replaceAll('""', '"');
    return name === '' ? { number } : { number, organization_name: name };
  }
}

/**
 * Address -> AS from the ip-location-db `asn-ipv4-num.csv` and `asn-ipv6-num.csv` bytes (each
 * given as a function, called on the first address of its family: an IPv4-only fleet never reads
 * the IPv6 file).
 */
export class AsnTable {
  private v4: NumericRangeFile | undefined;
  private v6: NumericRangeFile | undefined;

  constructor(private readonly ipv4NumCsv: () => Buffer, private readonly ipv6NumCsv: () => Buffer) {}

  get(ip: string): AsFields | undefined {
    const key = addressDecimal(ip);
    if (key === undefined) return undefined;
    const file = ip.includes(':') ? (this.v6 ??= new NumericRangeFile(this.ipv6NumCsv())) : (this.v4 ??= new NumericRangeFile(this.ipv4NumCsv()));
    return file.get(key);
  }
}

/** A MaxMind GeoIP2/GeoLite2 ASN record as AS fields. */
export function asFromRecord(record: unknown): AsFields | undefined {
  if (record === null || typeof record !== 'object') return undefined;
  const r = record as { autonomous_system_number?: unknown; autonomous_system_organization?: unknown; number?: unknown; organization_name?: unknown };
  if ('number' in r && typeof r.number === 'number') return r as AsFields;   // already AS fields (AsnTable)
  const number = r.autonomous_system_number;
  if (typeof number !== 'number' || !Number.isInteger(number) || number <= 0) return undefined;
  const name = r.autonomous_system_organization;
  return typeof name === 'string' && name !== '' ? { number, organization_name: name } : { number };
}
