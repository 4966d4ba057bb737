// Reads the machine's own apt sources, so the lab uses the Debian mirror
// this machine already uses instead of a hard-coded one.
import fs from 'node:fs';
import path from 'node:path';
import { forwarderAddress, MAX_FORWARDERS } from './config.ts';

export interface AptSource {
  uri: URL;
  suites: string[];
  components: string[];
  file: string;
}

export interface Mirror {
  /** Host name and port the forwarder connects to. */
  host: string;
  port: number;
  /** Bridge address the forwarder listens on; lab hosts map `host` to it. */
  listenAddress: string;
}

const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** Parses one-line-style `deb URI SUITE COMPONENT...` entries. */
function parseListFile(file: string, text: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*/, '').trim();
    if (!line.startsWith('deb ')) continue;
    // Drop an options block such as [arch=amd64 signed-by=...].
    const options = /\[([^\]]*)\]/.exec(line)?.[1] ?? '';
    const signedBy = /signed-by=(\S+)/.exec(options)?.[1];
    if (signedBy !== undefined && signedBy !== DEBIAN_KEYRING) continue;
    const words = line.replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
    const [, uri, suite, ...components] = words;
    if (uri === undefined || suite === undefined) continue;
    sources.push({ uri: new URL(uri), suites: [suite], components, file });
  }
  return sources;
}

/** Parses deb822-style stanzas (`Types:`, `URIs:`, `Suites:` ...). */
function parseSourcesFile(file: string, text: string): AptSource[] {
  const sources: AptSource[] = [];
  const stanzas = text
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join('\n')
    .split(/\n\s*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    for (const line of stanza.split('\n')) {
      const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (match?.[1] !== undefined) fields.set(match[1].toLowerCase(), match[2] ?? '');
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    if (!types.includes('deb')) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    const signedBy = fields.get('signed-by');
    if (signedBy !== undefined && signedBy !== DEBIAN_KEYRING) continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    const components = (fields.get('components') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) {
      sources.push({ uri: new URL(uri), suites, components, file });
    }
  }
  return sources;
}

/**
 * Returns the machine's Debian sources for `release` (its suites such as
 * bookworm, bookworm-updates, bookworm-security) over http or https,
 * from /etc/apt/sources.list and /etc/apt/sources.list.d/*.list and
 * *.sources. Entries signed by a key other than Debian's archive keyring
 * are left out because the lab hosts only have that keyring.
 */
export function readDebianSources(release: string, aptDir = '/etc/apt'): AptSource[] {
  const files: string[] = [];
  const mainList = path.join(aptDir, 'sources.list');
  if (fs.existsSync(mainList)) files.push(mainList);
  const partsDir = path.join(aptDir, 'sources.list.d');
  if (fs.existsSync(partsDir)) {
    for (const name of fs.readdirSync(partsDir).sort()) {
      if (name.endsWith('.list') || name.endsWith('.sources')) files.push(path.join(partsDir, name));
    }
  }
  const sources: AptSource[] = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const parsed = file.endsWith('.sources') ? parseSourcesFile(file, text) : parseListFile(file, text);
    sources.push(...parsed);
  }
  return sources
    .map((source) => ({ ...source, suites: source.suites.filter((suite) => suite.split('-')[0] === release) }))
    .filter((source) => source.suites.length > 0 && ['http:', 'https:'].includes(source.uri.protocol));
}

/** Returns the URI debootstrap should use: the source that carries the release itself with `main`. */
export function debootstrapMirror(sources: AptSource[], release: string): string {
  const main = sources.find((source) => source.suites.includes(release) && source.components.includes('main'));
  if (!main) {
    throw new Error(
      `no Debian source for ${release} with component main found in /etc/apt/sources.list or ` +
        '/etc/apt/sources.list.d/; add the Debian mirror this machine uses there',
    );
  }
  return main.uri.href;
}

function defaultPort(uri: URL): number {
  if (uri.port) return Number(uri.port);
  return uri.protocol === 'https:' ? 443 : 80;
}

/** Assigns one forwarder, on its own bridge address, to every distinct mirror host. */
export function mirrorsFor(sources: AptSource[]): Mirror[] {
  const mirrors: Mirror[] = [];
  for (const source of sources) {
    const host = source.uri.hostname;
    const port = defaultPort(source.uri);
    if (mirrors.some((mirror) => mirror.host === host && mirror.port === port)) continue;
    // Two ports of one host would need one address; the lab gives each host one address.
    if (mirrors.some((mirror) => mirror.host === host)) {
      throw new Error(`apt sources use ${host} on two ports; the lab forwarder supports one port per mirror host`);
    }
    if (mirrors.length >= MAX_FORWARDERS) throw new Error(`more than ${MAX_FORWARDERS} distinct apt mirror hosts`);
    mirrors.push({ host, port, listenAddress: forwarderAddress(mirrors.length) });
  }
  return mirrors;
}

/** Renders the sources as one deb822 file for the lab hosts. */
export function renderHostSources(sources: AptSource[]): string {
  return sources
    .map((source) =>
      [
        'Types: deb',
        `URIs: ${source.uri.href}`,
        `Suites: ${source.suites.join(' ')}`,
        `Components: ${source.components.join(' ')}`,
        `Signed-By: ${DEBIAN_KEYRING}`,
      ].join('\n'),
    )
    .join('\n\n')
    .concat('\n');
}
