// User-Agent header -> ECS user_agent fields: ua-parser-js 1.x (MIT; 2.x is AGPL) for browsers,
// operating systems and devices, isbot for crawlers and tools. Tools and health checkers that
// ua-parser-js does not know (`ELB-HealthChecker/2.0`, `curl/8.5.0`, `Go-http-client/1.1`) are
// named by their product token. The rules, with examples, are in user-agent-examples.md.
import { isbot } from 'isbot';
import UAParser from 'ua-parser-js';

export interface UserAgentFields {
  name?: string;
  version?: string;
  os?: { name?: string; version?: string };
  device?: { name?: string };
}

/** Operating systems ua-parser-js reports for desktop and laptop computers. */
const DESKTOP_OS = new Set(['Windows', 'Mac OS', 'macOS', 'Linux', 'Ubuntu', 'Debian', 'Fedora', 'Chromium OS', 'FreeBSD', 'OpenBSD', 'NetBSD', 'Arch', 'Mint', 'openSUSE', 'CentOS', 'Gentoo', 'Solaris']);
/** A crawler's own token inside a browser-like string: `Googlebot/2.1`, `bingbot/2.0`, `AhrefsBot/7.0`. */
const BOT_TOKEN = /([A-Za-z][\w.-]*(?:bot|crawler|spider|checker|scanner|fetcher)[\w.-]*)\/(\d[\w.-]*)/i;
/** The leading product token of a tool: `curl/8.5.0`, `ELB-HealthChecker/2.0`, `python-requests/2.32.3`. */
const PRODUCT_TOKEN = /^([A-Za-z][\w.-]*)\/(\d[\w.-]*)/;

const parser = new UAParser();

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The fields for one User-Agent header; undefined when nothing could be told. */
export function parseUserAgent(userAgent: string): UserAgentFields | undefined {
  parser.setUA(userAgent);
  const { browser, os, device } = parser.getResult();
  const bot = isbot(userAgent);
  const fields: UserAgentFields = {};
  if (browser.name !== undefined && !(bot && browser.name === 'Mozilla')) {
    fields.name = browser.name;
    if (browser.version !== undefined) fields.version = browser.version;
  }
  if (fields.name === undefined || bot) {
    const token = BOT_TOKEN.exec(userAgent) ?? PRODUCT_TOKEN.exec(userAgent);
    if (token !== null && token[1] !== 'Mozilla') {
      fields.name = token[1]!;
      fields.version = token[2]!;
    }
  }
  if (os.name !== undefined) fields.os = os.version !== undefined ? { name: os.name, version: os.version } : { name: os.name };
  // device.name: the model when known (iPhone, Pixel 8), else the kind of client
  let deviceName: string | undefined;
  if (bot) deviceName = 'Spider';
  else if (device.model !== undefined) deviceName = device.model;
  else if (device.type !== undefined) deviceName = capitalised(device.type);
  else if (os.name !== undefined && DESKTOP_OS.has(os.name)) deviceName = 'Desktop';
  if (deviceName !== undefined) fields.device = { name: deviceName };
  return Object.keys(fields).length > 0 ? fields : undefined;
}
