// ALB S3 object keys: what kind of log an object holds and whose it is.
// Routing is by file name, never by line content: health-check lines start
// with `http` just like access-log lines (see docs/parser.md).
//
//   [prefix/]AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/
//     [conn_log.|conn_log_|health_check_log_]<account>_elasticloadbalancing_<region>_<app|net>.<name>.<id>_<end-time>_<node-ip>_<random>.log.gz

export type AlbObjectKind = 'access-log' | 'connection-log' | 'health-check-log' | 'nlb' | 'control' | 'other';

export interface AlbObjectKey {
  kind: AlbObjectKind;
  /** Why an object is not an access log, for logs and skip counters. */
  reason?: string;
  accountId?: string;
  region?: string;
  /** Load balancer id as ALB logs it, `app/<name>/<id>` (or `net/...`). */
  loadBalancer?: string;
  /** Folder date `yyyy-mm-dd`: the delivery date, NOT the date of the requests. */
  date?: string;
  /** End of the 5-minute interval the file covers, ISO 8601 (`2014-02-15T23:40:00Z`). */
  endTime?: string;
  /** IP of the load balancer node that wrote the file. */
  nodeIp?: string;
  /** False when the name does not end in `.gz`. */
  gzip: boolean;
}

const FILE_NAME =
  /^(conn_log[._]|health_check_log_)?([^_/]+)_elasticloadbalancing_([a-z0-9-]+)_(app|net)\.(.+)\.([0-9a-zA-Z]+)_(\d{8}T\d{4}Z|\d{12}Z)(?:_([^_]+))?_([^_.]+)\.log(\.gz)?$/;
const FOLDER_DATE = /\/(\d{4})\/(\d{2})\/(\d{2})\/[^/]*$/;
const CLASSIC_ELB = /_elasticloadbalancing_[a-z0-9-]+_[^_]+_\d{8}T\d{4}Z_[^_]+_[^_.]+\.log$/;

function endTimeIso(text: string): string {
  // 20140215T2340Z (ALB) or 201605010000Z (NLB)
  const digits = text.replace('T', '');
  return `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}T${digits.slice(8, 10)}:${digits.slice(10, 12)}:00Z`;
}

/** Classifies an S3 object key (an `s3://bucket/` prefix is tolerated) and extracts its parts. Never throws. */
export function parseAlbObjectKey(key: string): AlbObjectKey {
  const path = key.startsWith('s3://') ? key.slice(key.indexOf('/', 5) + 1) : key;
  const fileName = path.slice(path.lastIndexOf('/') + 1);
  const gzip = fileName.endsWith('.gz');
  if (fileName === 'ELBAccessLogTestFile' || fileName.startsWith('ELBAccessLogTestFile')) {
    return { kind: 'control', reason: 'ELB access-log test file written when logging is enabled', gzip };
  }
  const folder = FOLDER_DATE.exec(path);
  const date = folder ? `${folder[1]}-${folder[2]}-${folder[3]}` : undefined;
  const match = FILE_NAME.exec(fileName);
  if (!match) {
    if (CLASSIC_ELB.test(fileName)) return { kind: 'other', reason: 'Classic Load Balancer log file', gzip, ...(date && { date }) };
    return { kind: 'other', reason: 'not an Elastic Load Balancing log file name', gzip, ...(date && { date }) };
  }
  const [, prefix, accountId, region, lbType, lbName, lbId, endTime, nodeIp] = match;
  const result: AlbObjectKey = {
    kind: 'access-log',
    accountId: accountId!,
    region: region!,
    loadBalancer: `${lbType}/${lbName}/${lbId}`,
    endTime: endTimeIso(endTime!),
    gzip,
  };
  if (date) result.date = date;
  if (nodeIp) result.nodeIp = nodeIp;
  if (prefix?.startsWith('conn_log')) {
    result.kind = 'connection-log';
    result.reason = 'ALB connection log';
  } else if (prefix === 'health_check_log_') {
    result.kind = 'health-check-log';
    result.reason = 'ALB health-check log';
  } else if (lbType === 'net') {
    result.kind = 'nlb';
    result.reason = 'Network Load Balancer log';
  }
  return result;
}
