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
 * as decimal numbers, sorted by start) searched in place by binary search over byte positions:
 * opening it costs one file read, no parse and no index of its 400,000 lines.
 */
class NumericRangeFile {
  constructor(private readonly bytes: Buffer) {}

  /** Compares the decimal `key` with the number at byte `at` (ending at a comma): <0, 0, >0. */
  private compare(key: string, at: number): number {
    const end = this.bytes.indexOf(44, at);
    if (end === -1) return -1;
    const length = end - at;
    if (length !== key.length) return key.length - length;
    for (let i = 0; i < length; i++) {
      const difference = key.charCodeAt(i) - this.bytes[at + i]!;
      if (difference !== 0) return difference;
    }
    return 0;
  }

  /** Start of the line after the one holding byte `at`, or -1. */
  private nextLine(at: number): number {
    const newline = this.bytes.indexOf(10, at);
    return newline === -1 || newline + 1 >= this.bytes.length ? -1 : newline + 1;
  }

  /** Start of the last line whose range starts at or below `key`, or -1. */
  private lineFor(key: string): number {
    if (this.bytes.length === 0 || this.compare(key, 0) < 0) return -1;
    let low = 0;                    // a line start whose range starts <= key
    let high = this.bytes.length;   // a line start whose range starts > key, or the end
    for (;;) {
      const next = this.nextLine((low + high) >>> 1);
      if (next === -1 || next >= high) break;
      if (this.compare(key, next) >= 0) low = next;
      else high = next;
    }
    // no line start between the middle and `high`: the few lines left are scanned from `low`
    for (let next = this.nextLine(low); next !== -1 && next < high && this.compare(key, next) >= 0; next = this.nextLine(low)) low = next;
    return low;
  }

  get(key: string): AsFields | undefined {
    const start = this.lineFor(key);
    if (start === -1) return undefined;
    const endField = this.bytes.indexOf(44, start) + 1;
    if (this.compare(key, endField) > 0) return undefined;
    const asnField = this.bytes.indexOf(44, endField) + 1;
    let lineEnd = this.bytes.indexOf(10, asnField);
    if (lineEnd === -1) lineEnd = this.bytes.length;
    if (this.bytes[lineEnd - 1] === 13) lineEnd--;
    const comma = this.bytes.indexOf(44, asnField);
    const orgField = comma !== -1 && comma < lineEnd ? comma + 1 : -1;
    const number = Number(this.bytes.toString('latin1', asnField, orgField === -1 ? lineEnd : orgField - 1));
    if (!Number.isInteger(number) || number <= 0) return undefined;
    let name = orgField === -1 ? '' : this.bytes.toString('utf8', orgField, lineEnd);
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
