// Which client addresses a geolocation or network lookup makes sense for: private, loopback,
// link-local, shared (CGNAT), documentation, benchmarking, multicast and other special-purpose
// ranges (IANA special-purpose registries) are nobody's location, so they get no geo or AS fields.
import { BlockList } from 'node:net';

const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  // (no ::ffff:0:0/96 entry: BlockList applies IPv4-mapped rules to IPv4 addresses too)
  ['::', 127], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16],
  ['3fff::', 20], ['5f00::', 16], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

/** Whether `ip` (a valid IPv4 or IPv6 address) is a public unicast address. */
export function isPublicAddress(ip: string): boolean {
  return !NOT_PUBLIC.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
}
