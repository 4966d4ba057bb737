// apt_tor_sources: send apt through Tor by turning the http and https URIs
// of the host's apt sources into tor+http and tor+https, which
// apt-transport-tor resolves and fetches through tor's SocksPort.

import { defineModule } from '../define.ts';
import { shellQuote, writeFileScript } from '../shell-lib.ts';
import type { Plan, ProbeOutput, Step } from '../types.ts';

interface SourcesArgs {
  state?: 'present' | 'absent';
}

const SOURCE_FILES = '/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources';

interface SourceFile {
  path: string;
  text: string;
  mode: string;
}

function parseSources(stdout: string): SourceFile[] {
  const files: SourceFile[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^file (\S+) ([0-7]{3,4}) (\S*)$/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    files.push({ path: match[1], mode: match[2].padStart(4, '0'), text: Buffer.from(match[3] ?? '', 'base64').toString('utf8') });
  }
  return files;
}

/** Rewrite the URIs of one sources file; deb822 `URIs:` fields and one-line `deb`/`deb-src` entries. */
export function rewriteSources(text: string, toTor: boolean): string {
  const from = toTor ? /(^|\s)(https?):\/\//g : /(^|\s)tor\+(https?):\/\//g;
  const to = toTor ? '$1tor+$2://' : '$1$2://';
  return text
    .split('\n')
    .map((line) => {
      if (/^\s*#/.test(line)) return line;
      if (/^\s*(deb|deb-src)\s/.test(line) || /^\s*URIs:/i.test(line)) return line.replace(from, to);
      return line;
    })
    .join('\n');
}

export const aptTorSourcesModule = defineModule<SourcesArgs>({
  name: 'apt_tor_sources',
  description: 'Send apt through Tor: rewrite the http(s) URIs of every apt source to tor+http(s) for apt-transport-tor (state absent reverts).',
  idempotent: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: { state: { enum: ['present', 'absent'], default: 'present', description: 'present: through Tor; absent: plain http(s) again.' } },
  },
  probe() {
    return {
      script: `for f in ${SOURCE_FILES}; do [ -f "$f" ] || continue; printf 'file %s %s %s\\n' "$f" "$(stat -c %a "$f")" "$(base64 -w0 <"$f")"; done\n`,
      reads: ['/etc/apt/sources.list', '/etc/apt/sources.list.d'],
    };
  },
  plan(args: SourcesArgs, probed: ProbeOutput): Plan {
    if (probed.exitCode !== 0) return { status: 'failed', message: `reading the apt sources failed: ${probed.stderr.trim()}` };
    const toTor = (args.state ?? 'present') === 'present';
    const files = parseSources(probed.stdout);
    const steps: Step[] = [];
    const changed: string[] = [];
    for (const file of files) {
      const next = rewriteSources(file.text, toTor);
      if (next === file.text) continue;
      changed.push(file.path);
      steps.push({ description: `rewrite the URIs of ${file.path}`, script: writeFileScript(file.path, Buffer.from(next), { mode: file.mode }) });
    }
    const how = toTor ? 'through Tor (tor+http)' : 'without Tor';
    if (steps.length === 0) {
      return { status: 'ok', reason: files.length === 0 ? 'the host has no apt sources files' : `all ${files.length} apt sources file(s) already go ${how}` };
    }
    return {
      status: 'change',
      summary: `send apt ${how}: ${changed.map((path) => shellQuote(path)).join(', ')}`,
      steps,
      affects: changed,
    };
  },
});
