// Broken inputs for `onionplay validate`: each must exit with the
// invalid-input code, print file:line, the key or bad value and the fix,
// and open no connection.

import test from 'ava';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { ExitCode } from '../../runner/errors/index.ts';
import { validateCommand } from '../../runner/cli/validate.ts';
import { BASIC_HOSTS, makeProject, validOnion } from '../playbook/project.ts';

// Count every attempt to open a TCP connection from this process.
let connectAttempts = 0;
const originalConnect = net.connect;
const originalCreateConnection = net.createConnection;
const originalSocketConnect = net.Socket.prototype.connect;

test.before(() => {
  const countingConnect = (...args: unknown[]) => {
    connectAttempts += 1;
    return (originalConnect as (...a: unknown[]) => net.Socket)(...args);
  };
  net.connect = countingConnect as typeof net.connect;
  net.createConnection = countingConnect as typeof net.createConnection;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    connectAttempts += 1;
    return (originalSocketConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
});

test.after.always(() => {
  net.connect = originalConnect;
  net.createConnection = originalCreateConnection;
  net.Socket.prototype.connect = originalSocketConnect;
});

interface Run {
  code: number;
  output: string;
  root: string;
}

const DEFAULT_PLAY = '- hosts: all\n  tasks:\n    - debug: {msg: hi}\n';

async function validate(files: Record<string, string>, options: { extraVars?: string[]; siteDir?: string } = {}): Promise<Run> {
  const root = await makeProject({ 'site/hosts.yaml': BASIC_HOSTS, 'play.yaml': DEFAULT_PLAY, ...files });
  let output = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      output += String(chunk);
      done();
    },
  });
  const code = await validateCommand({
    playbookFile: path.join(root, 'play.yaml'),
    siteDir: path.join(root, options.siteDir ?? 'site'),
    rolesPath: [],
    extraVars: options.extraVars ?? [],
    projectRoot: root,
    output: sink,
  });
  return { code, output, root };
}

/** Assert an invalid-input run whose output names `place` (file:line), `detail` and `fix`. */
function assertBroken(t: import('ava').ExecutionContext, run: Run, place: string, detail: string | RegExp, fix: string | RegExp): void {
  t.is(run.code, ExitCode.invalidInput, run.output);
  t.true(run.output.includes(path.join(run.root, place)), `expected ${place} in:\n${run.output}`);
  if (typeof detail === 'string') t.true(run.output.includes(detail), `expected ${detail} in:\n${run.output}`);
  else t.regex(run.output, detail);
  t.regex(run.output, /\n {2}fix: /);
  if (typeof fix === 'string') t.true(run.output.includes(fix), `expected fix ${fix} in:\n${run.output}`);
  else t.regex(run.output, fix);
  t.is(connectAttempts, 0);
}

test('valid playbook prints a summary', async (t) => {
  const run = await validate({});
  t.is(run.code, ExitCode.ok, run.output);
  t.regex(run.output, /ok: 1 plays, 1 tasks, 3 hosts/);
  t.is(connectAttempts, 0);
});

test('YAML syntax error', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks: [\n    - debug: {msg: hi}\n' });
  assertBroken(t, run, 'play.yaml:', 'invalid YAML', /fix: .*(syntax|close)/);
});

test('tab in indentation', async (t) => {
  const run = await validate({ 'site/hosts.yaml': 'all:\n\thosts:\n    a: {}\n' });
  assertBroken(t, run, 'site/hosts.yaml:2:', 'tab characters', 'indent with spaces');
});

test('duplicate key in a task', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - name: one\n      name: two\n      debug: {msg: hi}\n' });
  assertBroken(t, run, 'play.yaml:4:', 'duplicate key "name"', 'remove one of the two keys');
});

test('merge key overridden is valid', async (t) => {
  const run = await validate({
    'play.yaml': '- hosts: all\n  vars:\n    base: &base {port: 22, user: root}\n    ssh:\n      <<: *base\n      port: 2222\n  tasks:\n    - debug: {msg: "{{ ssh.port }}"}\n',
  });
  t.is(run.code, ExitCode.ok, run.output);
  t.is(connectAttempts, 0);
});

test('unquoted octal mode', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - file: {path: /tmp/x, mode: 0644}\n' });
  assertBroken(t, run, 'play.yaml:3:', 'key: [0].tasks[0].file.mode', "quote it, mode: '0644'");
  t.regex(run.output, /value: 0644/);
});

test('numeric mode', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - file: {path: /tmp/x, mode: 420}\n' });
  assertBroken(t, run, 'play.yaml:3:', 'value: 420', "mode must be a string of octal digits: quote it, mode: '0420'");
});

test('yes for a play boolean', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  become: yes\n  tasks:\n    - debug: {msg: hi}\n' });
  assertBroken(t, run, 'play.yaml:2:11', 'key: [0].become', '`yes` is a string in YAML 1.2: write true');
});

test('off for a task boolean', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - debug: {msg: hi}\n      ignore_errors: off\n' });
  assertBroken(t, run, 'play.yaml:4:22', 'ignore_errors', '`off` is a string in YAML 1.2: write false');
});

test('on for a site setting', async (t) => {
  const run = await validate({ 'site/site.yaml': 'trust_new_hosts: on\n' });
  assertBroken(t, run, 'site/site.yaml:1:18', 'trust_new_hosts', '`on` is a string in YAML 1.2: write true');
});

test('no for a host connection key', async (t) => {
  const run = await validate({ 'site/host_vars/obelix.yaml': 'direct: no\n' });
  assertBroken(t, run, 'site/host_vars/obelix.yaml:1:9', 'key: direct', '`no` is a string in YAML 1.2: write false');
});

test('unknown module', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - name: install\n      apt_get: {name: tor}\n' });
  assertBroken(t, run, 'play.yaml:4:7', 'unknown module "apt_get"', 'did you mean "apt"?');
});

test('unknown task keyword', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - debug: {msg: hi}\n      regsiter: out\n' });
  assertBroken(t, run, 'play.yaml:4:7', 'unknown task keyword "regsiter"', 'did you mean "register"?');
});

test('unknown play key', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  taks:\n    - debug: {msg: hi}\n' });
  assertBroken(t, run, 'play.yaml:2:3', 'unknown key "taks"', 'did you mean "tasks"?');
});

test('missing required module argument', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - file: {state: directory}\n' });
  assertBroken(t, run, 'play.yaml:3:', 'missing required key "path"', 'add `path:`');
});

test('invalid module argument value', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - file: {path: /x, state: dir}\n' });
  assertBroken(t, run, 'play.yaml:3:', 'value: "dir"', /did you mean "directory"|use one of the allowed values/);
});

test('two modules in one task', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - debug: {msg: hi}\n      command: echo hi\n' });
  assertBroken(t, run, 'play.yaml:4:7', 'task has 2 modules', 'split it into one task per module');
});

test('task without module', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - name: nothing\n      when: defined x\n' });
  assertBroken(t, run, 'play.yaml:3:', 'task has no module', 'add one module key');
});

test('role not found', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  roles: [torr]\n', 'roles/tor/tasks.yaml': '- debug: {msg: hi}\n' });
  assertBroken(t, run, 'play.yaml:2:11', 'role "torr" not found', 'did you mean "tor"?');
});

test('cyclic role dependencies', async (t) => {
  const run = await validate({
    'play.yaml': '- hosts: all\n  roles: [docker]\n',
    'roles/docker/meta.yaml': 'dependencies: [kubeadm]\n',
    'roles/kubeadm/meta.yaml': 'dependencies:\n  - role: docker\n',
  });
  assertBroken(t, run, 'roles/kubeadm/meta.yaml:2:', 'docker -> kubeadm -> docker', 'remove "docker" from the dependencies of "kubeadm"');
});

const TOR_ROLE = {
  'roles/tor/tasks.yaml': '- debug: {msg: "{{ tor_socks_port }}"}\n',
  'roles/tor/defaults.yaml': 'tor_socks_port: 9050\ntor_onion_services: []\n',
  'roles/tor/meta.yaml': `description: Tor client and onion services
variables:
  type: object
  required: [tor_socks_port]
  properties:
    tor_socks_port: {type: integer, minimum: 1, maximum: 65535}
    tor_onion_services:
      type: array
      items:
        type: object
        required: [name, port, target]
        properties:
          name: {type: string}
          port: {type: integer}
          target:
            type: string
            pattern: '^(127\\.0\\.0\\.1|localhost|\\[::1\\]):[0-9]{1,5}$|^unix:/'
            description: 'a local address and port, e.g. 127.0.0.1:22, or unix:/path'
`,
};

test('role variable fails role schema', async (t) => {
  const run = await validate({
    ...TOR_ROLE,
    'play.yaml': '- hosts: all\n  roles: [tor]\n',
    'site/group_vars/workers.yaml': 'tor_socks_port: 90500\n',
  });
  assertBroken(t, run, 'site/group_vars/workers.yaml:1:17', 'role "tor": tor_socks_port is out of range', 'use a number from 1 to 65535');
  t.regex(run.output, /value: 90500/);
});

test('role variable of wrong type from role params', async (t) => {
  const run = await validate({
    ...TOR_ROLE,
    'play.yaml': '- hosts: all\n  roles:\n    - role: tor\n      vars:\n        tor_socks_port: "nine"\n',
  });
  assertBroken(t, run, 'play.yaml:5:25', 'tor_socks_port must be an integer', 'change tor_socks_port to an integer');
});

test('templated role variable is rendered before the check', async (t) => {
  const run = await validate({
    ...TOR_ROLE,
    'play.yaml': '- hosts: all\n  vars:\n    base_port: 0\n  roles:\n    - {role: tor, tor_socks_port: "{{ base_port }}"}\n',
  });
  assertBroken(t, run, 'play.yaml:5:35', 'tor_socks_port is out of range', 'use a number from 1 to 65535');
});

test('bad HiddenServicePort target', async (t) => {
  const run = await validate({
    ...TOR_ROLE,
    'play.yaml': '- hosts: all\n  roles: [tor]\n',
    'site/host_vars/obelix.yaml': 'tor_onion_services:\n  - {name: ssh, port: 22, target: "10.0.0.5:22"}\n',
  });
  assertBroken(t, run, 'site/host_vars/obelix.yaml:2:35', 'tor_onion_services[0].target', 'change the value to a local address and port');
});

test('pod CIDR that is not a CIDR', async (t) => {
  const run = await validate({
    'roles/kubeadm/tasks.yaml': '- debug: {msg: "{{ pod_network_cidr }}"}\n',
    'roles/kubeadm/meta.yaml':
      "variables:\n  type: object\n  properties:\n    pod_network_cidr:\n      type: string\n      pattern: '^([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}$'\n      description: an IPv4 CIDR such as 10.244.0.0/16\n",
    'play.yaml': '- hosts: masters\n  vars:\n    pod_network_cidr: 10.244.0.0\n  roles: [kubeadm]\n',
  });
  assertBroken(t, run, 'play.yaml:3:23', 'value: "10.244.0.0"', 'change the value to an IPv4 CIDR such as 10.244.0.0/16');
});

test('required role variable missing', async (t) => {
  const run = await validate({
    ...TOR_ROLE,
    'roles/tor/defaults.yaml': 'tor_onion_services: []\n',
    'roles/tor/tasks.yaml': '- debug: {msg: hi}\n',
    'play.yaml': '- hosts: all\n  roles: [tor]\n',
  });
  assertBroken(t, run, 'play.yaml:2:11', 'missing required key "tor_socks_port"', 'set tor_socks_port in defaults.yaml');
});

test('undefined template variable', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - name: show\n      debug: {msg: "port {{ ssh_prot }}"}\n' });
  assertBroken(t, run, 'play.yaml:4:20', 'undefined variable "ssh_prot" in task "show"', 'define ssh_prot');
});

test('undefined template key of a variable', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  vars: {tor: {port: 1}}\n  tasks:\n    - debug: {msg: "{{ tor.prot }}"}\n' });
  assertBroken(t, run, 'play.yaml:4:', '"tor" has no key "prot"', 'define tor');
});

test('registered names are defined for later tasks', async (t) => {
  const run = await validate({
    'play.yaml': '- hosts: all\n  tasks:\n    - command: hostname\n      register: out\n    - debug: {msg: "{{ out.stdout }} {{ item }}"}\n      loop: [1]\n    - set_fact: {seen: 1}\n    - debug: {msg: "{{ seen }}"}\n',
  });
  t.is(run.code, ExitCode.ok, run.output);
  t.is(connectAttempts, 0);
});

test('unknown helper in arguments', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  vars: {ports: [22]}\n  tasks:\n    - debug: {msg: "{{ joinn ports }}"}\n' });
  assertBroken(t, run, 'play.yaml:4:', 'unknown helper "joinn"', 'did you mean "join"?');
});

test('handlebars syntax error in a template file', async (t) => {
  const run = await validate({
    'play.yaml': '- hosts: all\n  roles: [tor]\n',
    'roles/tor/tasks.yaml': '- template: {src: torrc.hbs, dest: /etc/tor/torrc}\n',
    'roles/tor/templates/torrc.hbs': 'SocksPort 9050\n{{#each services}}\nHiddenServicePort {{port}} {{target}}\n{{/if}}\n',
  });
  assertBroken(t, run, 'roles/tor/templates/torrc.hbs:2:', "each doesn't match if", 'every {{#if}} or {{#each}}');
});

test('handlebars syntax error in task arguments', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - debug: {msg: "{{ x }"}\n' });
  assertBroken(t, run, 'play.yaml:3:', 'template syntax error', 'matching }}');
});

test('template source not found', async (t) => {
  const run = await validate({
    'play.yaml': '- hosts: all\n  roles: [tor]\n',
    'roles/tor/tasks.yaml': '- template: {src: torrc.j2, dest: /etc/tor/torrc}\n',
  });
  assertBroken(t, run, 'roles/tor/tasks.yaml:1:19', 'template source not found: torrc.j2', "templates/ folder");
});

test('invalid condition syntax', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - debug: {msg: hi}\n      when: mode == "relay"\n' });
  assertBroken(t, run, 'play.yaml:4:13', 'invalid condition', 'eq x "a"');
});

test('v2 onion address', async (t) => {
  const run = await validate({ 'site/hosts.yaml': 'all:\n  hosts:\n    obelix:\n      onion: expyuzz4wqqyqhjn.onion\n' });
  assertBroken(t, run, 'site/hosts.yaml:4:14', 'v2 onion addresses', "v3 onion address, 56 characters long");
});

test('onion address with a wrong character', async (t) => {
  const good = validOnion();
  const bad = `${good.slice(0, 10)}${good[10] === 'a' ? 'b' : 'a'}${good.slice(11)}`;
  const run = await validate({ 'site/hosts.yaml': `all:\n  hosts:\n    obelix:\n      onion: ${bad}\n` });
  assertBroken(t, run, 'site/hosts.yaml:4:14', bad, 'copy the address again');
  t.regex(run.output, /checksum does not match|version byte/);
});

test('onion address with invalid characters', async (t) => {
  const run = await validate({ 'site/host_vars/obelix.yaml': `onion: ${'a'.repeat(50)}018fff.onion\n` });
  assertBroken(t, run, 'site/host_vars/obelix.yaml:1:8', 'not an onion address', 'copy the address again');
});

test('port out of range in inventory', async (t) => {
  const run = await validate({ 'site/hosts.yaml': 'all:\n  hosts:\n    obelix: {port: 70000}\n' });
  assertBroken(t, run, 'site/hosts.yaml:3:20', 'all.hosts.obelix.port', 'use a number from 1 to 65535');
});

test('missing inventory folder', async (t) => {
  const run = await validate({}, { siteDir: 'no-such-site' });
  assertBroken(t, run, 'no-such-site', 'inventory folder not found', 'pass -i with the site folder');
});

test('empty playbook', async (t) => {
  const run = await validate({ 'play.yaml': '# nothing yet\n' });
  assertBroken(t, run, 'play.yaml:1:1', 'playbook has no plays', 'add a play');
});

test('playbook that is a mapping', async (t) => {
  const run = await validate({ 'play.yaml': 'hosts: all\ntasks: []\n' });
  assertBroken(t, run, 'play.yaml:1:1', 'a playbook must be a list of plays', 'write "- hosts: ..."');
});

test('play without hosts', async (t) => {
  const run = await validate({ 'play.yaml': '- name: no hosts\n  tasks: []\n' });
  assertBroken(t, run, 'play.yaml:1:3', 'missing required key "hosts"', 'add `hosts:`');
});

test('notify of unknown handler', async (t) => {
  const run = await validate({
    'play.yaml': '- hosts: all\n  tasks:\n    - debug: {msg: hi}\n      notify: restart tr\n  handlers:\n    - name: restart tor\n      debug: {msg: r}\n',
  });
  assertBroken(t, run, 'play.yaml:4:15', 'no handler has that name', 'did you mean "restart tor"?');
});

test('invalid register name', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - command: hostname\n      register: host-name\n' });
  assertBroken(t, run, 'play.yaml:4:17', 'value: "host-name"', 'a variable name');
});

test('include_tasks file not found', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - include_tasks: setup.yaml\n' });
  assertBroken(t, run, 'play.yaml:3:22', 'task file not found: setup.yaml', 'create');
});

test('unknown key in role meta', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  roles: [tor]\n', 'roles/tor/meta.yaml': 'dependecies: []\n' });
  assertBroken(t, run, 'roles/tor/meta.yaml:1:1', 'unknown key "dependecies"', 'did you mean "dependencies"?');
});

test('duplicate key in group vars', async (t) => {
  const run = await validate({ 'site/group_vars/all.yaml': 'ntp: a\nntp: b\n' });
  assertBroken(t, run, 'site/group_vars/all.yaml:2:1', 'duplicate key "ntp"', 'remove one of the two keys');
});

test('address with a port', async (t) => {
  const run = await validate({ 'site/hosts.yaml': 'all:\n  hosts:\n    obelix: {address: "192.0.2.1:22"}\n' });
  assertBroken(t, run, 'site/hosts.yaml:3:', 'invalid address', 'put the port in `port:`');
});

test('extra vars file with errors', async (t) => {
  const root = await makeProject({ 'extra.yaml': 'a: [1\n' });
  const run = await validate({}, { extraVars: [`@${path.join(root, 'extra.yaml')}`] });
  t.is(run.code, ExitCode.invalidInput, run.output);
  t.true(run.output.includes(`${path.join(root, 'extra.yaml')}:`), run.output);
  t.regex(run.output, /fix: /);
  t.is(connectAttempts, 0);
});

test('all problems are reported together', async (t) => {
  const run = await validate({
    'play.yaml': '- hosts: all\n  tasks:\n    - debg: {msg: hi}\n    - file: {path: /x, mode: 0644}\n',
    'site/site.yaml': 'trust_new_hosts: yes\n',
  });
  t.is(run.code, ExitCode.invalidInput);
  t.regex(run.output, /3 problem\(s\) found/);
  t.is(connectAttempts, 0);
});

test('host pattern matching nothing warns', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: databases\n  tasks:\n    - debug: {msg: hi}\n' });
  t.is(run.code, ExitCode.ok, run.output);
  t.regex(run.output, /warning: play "databases": host pattern "databases" matches no host/);
  t.regex(run.output, /ok: 1 plays, 1 tasks, 0 hosts/);
  t.is(connectAttempts, 0);
});

test('default makes a variable optional', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  tasks:\n    - debug: {msg: "{{ default tor_extra_config \\"\\" }}"}\n' });
  t.is(run.code, ExitCode.ok, run.output);
  t.is(connectAttempts, 0);
});

test('yes for a role boolean variable', async (t) => {
  const run = await validate({
    'roles/sshd/tasks.yaml': '- debug: {msg: hi}\n',
    'roles/sshd/meta.yaml': 'variables:\n  type: object\n  properties:\n    sshd_password_login: {type: boolean}\n    sshd_dir_mode: {type: string, pattern: "^[0-7]{3,4}$"}\n',
    'play.yaml': '- hosts: all\n  roles: [sshd]\n',
    'site/group_vars/all.yaml': 'sshd_password_login: no\nsshd_dir_mode: 0700\n',
  });
  assertBroken(t, run, 'site/group_vars/all.yaml:1:22', 'sshd_password_login', '`no` is a string in YAML 1.2: write false');
  t.true(run.output.includes(`${path.join(run.root, 'site/group_vars/all.yaml')}:2:16`), run.output);
  t.regex(run.output, /quote it, sshd_dir_mode: '0700'/);
});

test('role in Ansible folder layout', async (t) => {
  const run = await validate({ 'play.yaml': '- hosts: all\n  roles: [ntp]\n', 'roles/ntp/tasks/main.yml': '- debug: {msg: hi}\n' });
  assertBroken(t, run, 'roles/ntp/tasks/main.yml:1:1', 'uses Ansible\'s folder layout', 'move it to');
});
