// JSON Schemas of the site folder: hosts.yaml, group_vars/ and host_vars/
// files, site.yaml and the learned facts in state/facts.yaml.

import type { JsonSchema } from './validate.ts';

/** Schemas of the host connection keys (see CONNECTION_KEYS). */
export const connectionProperties: Record<string, JsonSchema> = {
  address: {
    type: 'string',
    minLength: 1,
    description: 'host name or IP address for first contact, reached through Tor',
  },
  // The loader checks the address fully (length, version, checksum), with a
  // message for each case, so the schema only requires a string.
  onion: {
    type: 'string',
    description: 'a v3 onion address: 56 characters a-z and 2-7, then .onion',
  },
  port: { type: 'integer', minimum: 1, maximum: 65535, description: 'SSH port, 1 to 65535' },
  user: {
    type: 'string',
    pattern: '^[a-z_][a-z0-9_.-]*\\$?$',
    description: 'SSH user name (lower-case letters, digits, _ . -)',
  },
  ssh_key: { type: 'string', minLength: 1, description: 'private key file, relative to the site folder' },
  direct: { type: 'boolean', description: 'connect without Tor; also needs --allow-direct' },
  socks: {
    type: 'string',
    pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$',
    description: 'a Tor SOCKS endpoint written host:port, e.g. 127.0.0.1:9050',
  },
  become: { type: 'boolean', description: 'run tasks as root through sudo' },
};

/** A mapping of variables; connection keys, when present, must be valid. */
export const variablesSchema: JsonSchema = {
  type: ['object', 'null'],
  properties: connectionProperties,
  additionalProperties: true,
};

/** hosts.yaml in Ansible's YAML inventory shape, with nested `children`. */
export const hostsFileSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'onionplay inventory (hosts.yaml)',
  type: 'object',
  additionalProperties: { $ref: '#/$defs/group' },
  $defs: {
    group: {
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        hosts: {
          type: ['object', 'null'],
          additionalProperties: variablesSchema,
          description: 'hosts of the group, each with its variables',
        },
        vars: { ...variablesSchema, description: 'variables of every host in the group' },
        children: {
          type: ['object', 'null'],
          additionalProperties: { $ref: '#/$defs/group' },
          description: 'groups nested in this group',
        },
      },
    },
  },
};

/** A group_vars/ or host_vars/ file. */
export const varsFileSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'onionplay group or host variables',
  ...variablesSchema,
};

/** site.yaml: how this site is reached. */
export const siteFileSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'onionplay site settings (site.yaml)',
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    socks: connectionProperties.socks,
    trust_new_hosts: { type: 'boolean', description: 'accept and pin host keys seen for the first time' },
    connect_timeout: { type: 'number', exclusiveMinimum: 0, description: 'connect time limit in seconds' },
    command_timeout: { type: 'number', minimum: 0, description: 'default per-command limit in seconds; 0 is none' },
    secrets_passphrase_env: {
      type: 'string',
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      description: 'name of the environment variable that contains the secrets passphrase',
    },
    secrets_passphrase_file: { type: 'string', minLength: 1, description: 'file that contains the secrets passphrase' },
  },
};

/** state/facts.yaml: what runs learned about each host. */
export const factsFileSchema: JsonSchema = {
  type: ['object', 'null'],
  properties: {
    hosts: { type: ['object', 'null'], additionalProperties: { type: ['object', 'null'] } },
  },
};
