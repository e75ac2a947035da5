// The embedded engine with the OpenSearch security plugin (fine-grained access control), for the
// tests of Albatross's FGAC roles. Opt-in: only a test that calls startSecureOpenSearch() builds
// (secure/pom.xml: OpenSearch 2.19.4 + opensearch-security 2.19.4.0, the newest security plugin
// on Maven Central) and starts it; the default engine (engine.ts) stays as it is.
// Each start makes a throwaway transport certificate (keytool) and admin password in the node's
// temporary home. HTTP is plain on loopback with basic auth; internal users with IAM role ARNs as
// backend roles stand in for Amazon OpenSearch Service's IAM-to-backend-role mapping, so role
// mappings and role permissions are the real plugin's.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  capture,
  checkJava,
  javaExecutable,
  launchEngine,
  newestMtime,
  OpenSearchEngineError,
  withBuildLock,
  type EmbeddedEngine,
  type StartOptions,
} from './engine.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface SecureEngine extends EmbeddedEngine {
  /** Mapped to all_access and security_manager: installs templates and roles like an FGAC master user. */
  admin: Credentials;
  /** Creates an internal user (random password) whose backend roles are `backendRoles`, e.g. IAM role ARNs. */
  addUser(username: string, backendRoles: readonly string[]): Promise<Credentials>;
}

const SECURE_DIR = fileURLToPath(new URL('./secure/', import.meta.url));
const SOURCES = [join(SECURE_DIR, 'pom.xml'), fileURLToPath(new URL('./src/', import.meta.url))];
const TARGET = join(SECURE_DIR, 'target');
const SECURE_JAR = join(TARGET, 'opensearch-local-secure.jar');
const MAIN_CLASS = 'local.albatross.OpenSearchLocal';
const SECURITY_PLUGIN = 'org.opensearch.security.OpenSearchSecurityPlugin';
const HASHER = 'org.opensearch.security.tools.Hasher';
const NODE_DN = 'CN=albatross-secure-node';
const ADMIN = 'admin';
const SECURITY_READY_TIMEOUT_MS = 60_000;

export interface SecureStartOptions extends Omit<StartOptions, 'dataDir'> {
  /**
   * The plugin's `do_not_fail_on_forbidden` (default false, as the plugin ships): when true, a request over
   * wildcards or `_all` answers with the indices the user may see instead of 403.
   */
  doNotFailOnForbidden?: boolean;
}

/** Starts OpenSearch with the security plugin (building it on first use); resolves once the admin can sign in. */
export async function startSecureOpenSearch(options: SecureStartOptions = {}): Promise<SecureEngine> {
  const java = javaExecutable();
  await checkJava(java);
  await ensureSecureLauncherBuilt();
  const classPath = await secureClassPath();
  const admin: Credentials = { username: ADMIN, password: newPassword() };
  const engine = await launchEngine(
    java,
    {
      jvmArgs: ['-cp', classPath, MAIN_CLASS],
      args: ['--plugin', SECURITY_PLUGIN],
      prepareHome: (home) => writeSecurityConfig(home, java, classPath, admin, options.doNotFailOnForbidden ?? false),
    },
    options,
  );
  try {
    await waitForSecurity(engine.url, admin);
  } catch (error) {
    await engine.stop();
    throw error;
  }
  const addUser = async (username: string, backendRoles: readonly string[]): Promise<Credentials> => {
    const user = { username, password: newPassword() };
    const response = await fetch(`${engine.url}/_plugins/_security/api/internalusers/${encodeURIComponent(username)}`, {
      method: 'PUT',
      headers: { authorization: basicAuth(admin), 'content-type': 'application/json' },
      body: JSON.stringify({ password: user.password, backend_roles: backendRoles }),
    });
    if (!response.ok) throw new OpenSearchEngineError(`Creating user ${username} failed: ${response.status} ${await response.text()}`);
    return user;
  };
  return { ...engine, admin, addUser };
}

export function basicAuth({ username, password }: Credentials): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** Long and random enough for the plugin's password strength check. */
function newPassword(): string {
  return `${randomBytes(18).toString('base64url')}-Aa1`;
}

async function secureLauncherIsCurrent(): Promise<boolean> {
  const jar = await stat(SECURE_JAR).catch(() => undefined);
  if (!jar) return false;
  const sources = Math.max(...(await Promise.all(SOURCES.map(newestMtime))));
  return jar.mtimeMs >= sources;
}

/** Builds secure/target (the launcher jar, target/lib/, the plugin's jars in target/security/) when missing or stale. */
export async function ensureSecureLauncherBuilt(log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<void> {
  if (await secureLauncherIsCurrent()) return;
  await withBuildLock(SECURE_DIR, async () => {
    if (await secureLauncherIsCurrent()) return;
    log('Building the embedded OpenSearch with the security plugin (scripts/opensearch-local/secure, mvn -B -q package)…');
    const started = Date.now();
    const result = await capture('mvn', ['-B', '-q', 'package'], SECURE_DIR);
    if (!result) throw new OpenSearchEngineError('Cannot build the secure OpenSearch launcher: no `mvn` (Maven) on PATH.');
    if (result.code !== 0 || !(await secureLauncherIsCurrent())) {
      throw new OpenSearchEngineError(
        `Building the secure OpenSearch launcher failed (mvn exit code ${result.code}); Maven Central must be reachable for the first build.\n` +
          result.output.slice(-20_000),
      );
    }
    log(`Built it in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  });
}

/**
 * The launcher jar (its manifest names target/lib/), then the plugin's own jars, leaving out those
 * target/lib/ already has in another version (netty, httpclient, transport-netty4-client…): one
 * class loader, so one copy of each library.
 */
async function secureClassPath(): Promise<string> {
  const artifact = (jar: string) => jar.replace(/-\d[^-]*(?:-[A-Za-z]+)?\.jar$|\.jar$/, '');
  const core = new Set((await readdir(join(TARGET, 'lib'))).map(artifact));
  const plugin = (await readdir(join(TARGET, 'security'))).filter((jar) => jar.endsWith('.jar') && !core.has(artifact(jar)));
  return [SECURE_JAR, ...plugin.sort().map((jar) => join(TARGET, 'security', jar))].join(':');
}

function keytool(java: string): string {
  return isAbsolute(java) ? join(dirname(java), 'keytool') : 'keytool';
}

async function run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await capture(command, args, undefined, env);
  if (!result || result.code !== 0) {
    throw new OpenSearchEngineError(`Preparing the secure OpenSearch failed: ${command} ${args[0]} ${result ? `exited ${result.code}: ${result.output}` : 'not found'}`);
  }
  return result.output;
}

/** A self-signed node certificate (its own trust anchor) in PKCS#12 stores, for the mandatory transport TLS. */
async function writeTransportCertificate(config: string, java: string, storePassword: string): Promise<void> {
  const tool = keytool(java);
  const store = ['-storetype', 'PKCS12', '-storepass', storePassword];
  const keystore = join(config, 'node.p12');
  const certificate = join(config, 'node.pem');
  await run(tool, ['-genkeypair', '-alias', 'node', '-keyalg', 'RSA', '-keysize', '2048', '-dname', NODE_DN,
    '-ext', 'san=ip:127.0.0.1,dns:localhost', '-validity', '2', '-keystore', keystore, '-keypass', storePassword, ...store]);
  await run(tool, ['-exportcert', '-rfc', '-alias', 'node', '-keystore', keystore, '-file', certificate, ...store]);
  await run(tool, ['-importcert', '-noprompt', '-alias', 'node', '-file', certificate, '-keystore', join(config, 'trust.p12'), ...store]);
}

/** The BCrypt hash the plugin expects in internal_users.yml, from the plugin's own hash tool. */
async function hashPassword(java: string, classPath: string, password: string): Promise<string> {
  const output = await run(java, ['-cp', classPath, HASHER, '-env', 'ALBATROSS_SECURE_ADMIN_PASSWORD'], {
    ...process.env,
    ALBATROSS_SECURE_ADMIN_PASSWORD: password,
  });
  const hash = output.split('\n').map((line) => line.trim()).find((line) => line.startsWith('$2'));
  if (!hash) throw new OpenSearchEngineError(`The security plugin's hash tool printed no hash: ${output}`);
  return hash;
}

/** config/opensearch.yml (security settings) and config/opensearch-security/ (loaded into the security index at the first start). */
async function writeSecurityConfig(home: string, java: string, classPath: string, admin: Credentials, doNotFailOnForbidden: boolean): Promise<void> {
  const config = join(home, 'config');
  const security = join(config, 'opensearch-security');
  await mkdir(security, { recursive: true });
  const storePassword = newPassword();
  const [, hash] = await Promise.all([writeTransportCertificate(config, java, storePassword), hashPassword(java, classPath, admin.password)]);
  const files: Record<string, string> = {
    'opensearch.yml': [
      'plugins.security.ssl.transport.keystore_type: PKCS12',
      'plugins.security.ssl.transport.keystore_filepath: node.p12',
      `plugins.security.ssl.transport.keystore_password: "${storePassword}"`,
      'plugins.security.ssl.transport.truststore_type: PKCS12',
      'plugins.security.ssl.transport.truststore_filepath: trust.p12',
      `plugins.security.ssl.transport.truststore_password: "${storePassword}"`,
      'plugins.security.ssl.transport.enforce_hostname_verification: false',
      'plugins.security.ssl.http.enabled: false',
      `plugins.security.nodes_dn: ["${NODE_DN}"]`,
      'plugins.security.allow_default_init_securityindex: true',
      'plugins.security.restapi.roles_enabled: ["all_access", "security_rest_api_access"]',
      'plugins.security.audit.type: noop',
    ].join('\n'),
    'opensearch-security/config.yml': [
      '_meta: {type: config, config_version: 2}',
      'config:',
      '  dynamic:',
      `    do_not_fail_on_forbidden: ${doNotFailOnForbidden}`,
      '    http: {anonymous_auth_enabled: false}',
      '    authc:',
      '      basic_internal_auth_domain:',
      '        http_enabled: true',
      '        transport_enabled: true',
      '        order: 0',
      '        http_authenticator: {type: basic, challenge: true}',
      '        authentication_backend: {type: intern}',
    ].join('\n'),
    'opensearch-security/internal_users.yml': ['_meta: {type: internalusers, config_version: 2}', `${ADMIN}:`, `  hash: "${hash}"`].join('\n'),
    'opensearch-security/roles_mapping.yml': [
      '_meta: {type: rolesmapping, config_version: 2}',
      `all_access: {users: [${ADMIN}]}`,
      `security_manager: {users: [${ADMIN}]}`,
    ].join('\n'),
    // Albatross's own roles are installed by the test, as by the template installer on AWS.
    'opensearch-security/roles.yml': '_meta: {type: roles, config_version: 2}',
    'opensearch-security/action_groups.yml': '_meta: {type: actiongroups, config_version: 2}',
    'opensearch-security/tenants.yml': '_meta: {type: tenants, config_version: 2}',
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(config, name), `${text}\n`, { mode: 0o600 });
  // The plugin warns about anything more open than this.
  for (const dir of [config, security]) await chmod(dir, 0o700);
  for (const file of ['node.p12', 'node.pem', 'trust.p12']) await chmod(join(config, file), 0o600);
}

/** The security index is created after the node is up; until then every request answers 503. */
async function waitForSecurity(url: string, admin: Credentials): Promise<void> {
  const deadline = Date.now() + SECURITY_READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/_plugins/_security/authinfo`, { headers: { authorization: basicAuth(admin) } }).catch((error: Error) => error);
    if (!(response instanceof Error) && response.ok) return;
    last = response instanceof Error ? response.message : `${response.status} ${await response.text()}`;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new OpenSearchEngineError(`The secure OpenSearch did not accept the admin within ${SECURITY_READY_TIMEOUT_MS / 1000} s: ${last}`);
}
