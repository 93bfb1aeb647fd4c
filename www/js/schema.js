// SPDX-License-Identifier: Apache-2.0
// Field descriptions for the forms. The gateway's GET schema (generated from
// the C field tables) is the source of types, allowed values, defaults and
// help; FALLBACK is used only when that endpoint is missing, so the forms
// still render.

import { get } from './api.js';

// The IoT Export form: these labels, in this order.
export const CONNECTION_FIELDS = [
  ['user', 'User'],
  ['connection_mode', 'Connection Mode'],
  ['broker', 'Broker'],
  ['port', 'Port'],
  ['auth_user', 'Auth User'],
  ['auth_password', 'Auth Password'],
  ['ssl', 'SSL'],
  ['ssl_server_crt', 'SSL Server CRT'],
  ['ssl_client_crt', 'SSL Client CRT'],
  ['ssl_client_key', 'SSL Client Key'],
  ['ssl_client_key_password', 'SSL Client Key Password'],
  ['hostname_verification', 'Hostname Verification'],
  ['qos', 'QoS'],
  ['retain', 'Retain'],
  ['timeout_s', 'Timeout'],
  ['keep_alive_s', 'Keep Alive'],
  ['max_inflight', 'Max Inflight'],
  ['discovery_prefix', 'Discovery Prefix'],
];
// Beyond the export connection's own parameters: folded under "Advanced".
export const CONNECTION_ADVANCED = [['ws_path', 'WebSocket Path'], ['node_id', 'Node ID'],
  ['command_max_age_s', 'Command Max Age']];

// Display names of a few choices; the value sent is always the schema's.
export const CHOICE_LABELS = {
  ssl: { off: 'off', on: 'on', trust_all: 'trust all' },
  parity: { N: 'N (none)', E: 'E (even)', O: 'O (odd)' },
  transport: { tcp: 'Modbus TCP', rtu: 'Modbus RTU (serial)', rtu_over_tcp: 'RTU over TCP', gpio: 'GPIO chip' },
  writes: { off: 'off (refused with exception 01)', forward: 'forward to the driver' },
  stale: { exception: 'exception 0B', last: 'last words read' },
  log_level: { warning: 'warning (quiet)', info: 'info', debug: 'debug' },
};

const SET = [0, 10, 15, 30, 60, 90, 120, 150, 180, 300, 600, 1200, 1800, 3600];
const s = (d, description, extra = {}) => ({ type: 'string', 'x-default': d, description, ...extra });
const i = (lo, hi, d, description) => ({ type: 'integer', minimum: lo, maximum: hi, 'x-default': d, description });
const e = (vals, d, description) => ({ type: 'string', enum: vals, 'x-default': d, description });
const b = (d, description) => ({ type: 'boolean', 'x-default': d, description });
const secret = (description) => ({ type: 'string', writeOnly: true, 'x-fieldbridge-type': 'secret', description });
const cert = (t, description) => ({ type: 'string', 'x-fieldbridge-type': t === 'cert' ? 'certificate' : t, description });

export const FALLBACK = {
  connection: {
    required: ['user', 'broker'],
    properties: {
      user: s(undefined, 'gateway user whose rights limit what is exported and which commands are accepted'),
      connection_mode: e(['socket', 'websocket'], 'socket', 'MQTT over TCP/TLS (socket) or over WebSocket'),
      broker: s(undefined, 'broker host name or IP address, no scheme, no port'),
      port: i(1, 65535, '1883', 'broker port'),
      auth_user: s(undefined, 'MQTT user name; none = anonymous'),
      auth_password: secret('MQTT password (secret, stored in secrets/); only with auth_user'),
      ssl: e(['off', 'on', 'trust_all'], 'off', 'off, on (TLS, verify the broker), trust_all (TLS, accept any certificate)'),
      ssl_server_crt: cert('cert', "CA certificate (PEM) the broker's certificate must be signed by; none = the system CA store"),
      ssl_client_crt: cert('cert', 'client certificate (PEM), together with ssl_client_key'),
      ssl_client_key: cert('key', 'client private key (PEM)'),
      ssl_client_key_password: secret('passphrase of an encrypted client key (secret); only with ssl_client_key'),
      hostname_verification: b('on', 'the broker certificate must be issued for broker'),
      qos: i(0, 2, '0', 'QoS of every publish and of the command subscription'),
      retain: b('on', 'retain state, availability and status messages'),
      timeout_s: { type: 'integer', enum: SET, 'x-default': '90', description: 'connect timeout in seconds; 0 = wait forever' },
      keep_alive_s: { type: 'integer', enum: SET, 'x-default': '60', description: 'MQTT keep-alive in seconds; 0 = off' },
      max_inflight: i(1, 65000, '10000', 'unacknowledged QoS 1/2 messages in flight'),
      discovery_prefix: s('homeassistant', 'Home Assistant MQTT discovery prefix: a topic without + or #, no leading or trailing /'),
      command_max_age_s: i(1, 86400, '30', 'a command container whose ts is older than this when it arrives is dropped (logged)'),
      ws_path: s('/mqtt', 'URL path in websocket mode, starting with /'),
      node_id: s('<gateway id>_<connection name>', 'letters, digits, _ and -'),
    },
  },
  bus: {
    required: ['transport'],
    properties: {
      transport: e(['tcp', 'rtu', 'rtu_over_tcp', 'gpio'], undefined, 'tcp, rtu (serial), rtu_over_tcp, gpio (a GPIO chip)'),
      host: s(undefined, 'tcp, rtu_over_tcp: host name or IP address'),
      port: i(1, 65535, '502', 'tcp, rtu_over_tcp: TCP port'),
      device: s(undefined, 'rtu: serial device path, e.g. /dev/serial/by-id/...'),
      baud: { type: 'integer', enum: [300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600], 'x-default': '9600', description: 'serial speed' },
      parity: e(['N', 'E', 'O'], 'N', 'serial parity'),
      data_bits: i(5, 8, '8', 'serial data bits'),
      stop_bits: i(1, 2, '1', 'serial stop bits'),
      response_timeout_ms: i(1, 60000, '500', 'how long to wait for an answer'),
      byte_timeout_ms: i(0, 60000, '0', "longest silence inside an answer; 0 = libmodbus' 500 ms"),
      retries: i(0, 10, '1', 'retries of a read without (valid) answer'),
      guard_time_ms: i(0, 1000, '0', 'extra silence after t3.5'),
      offline_after: i(1, 1000, '3', 'consecutive failures before a device is unavailable'),
      backoff_max_ms: i(100, 3600000, '10000', 'cap of the offline probe period'),
      poll_interval_ms: i(10, 86400000, '1000', "default poll interval of the bus's devices"),
      rs485: e(['auto', 'on', 'off'], 'auto', 'rtu: kernel RS-485 mode'),
      rts: e(['none', 'up', 'down'], 'none', 'rtu: driver-toggled RTS'),
      rts_delay_us: i(0, 100000, '0', 'rtu: RTS settle time'),
      chip: s(undefined, 'gpio: the chip\'s label, e.g. pinctrl-rp1'),
      persist_interval_s: i(1, 86400, '60', 'gpio: counter state write period'),
    },
  },
  device: {
    required: ['definition'],
    properties: {
      definition: s(undefined, 'definition id, e.g. eastron-sdm120'),
      unit_id: i(0, 255, '1', 'Modbus unit address: 1..247 on rtu, 0..255 on tcp'),
      name: s('<model> <id>', 'name shown in Home Assistant'),
      area: s(undefined, 'Home Assistant suggested area'),
      poll_interval_ms: i(10, 86400000, "the bus's", 'poll interval'),
      response_timeout_ms: i(1, 60000, "the bus's", 'answer timeout'),
      byte_timeout_ms: i(0, 60000, "the bus's", 'silence allowed inside an answer'),
      retries: i(0, 10, "the bus's", 'read retries'),
      guard_time_ms: i(0, 1000, "the bus's", 'extra silence after t3.5'),
    },
  },
  user: {
    properties: {
      role: e(['admin', 'operator', 'viewer'], 'viewer', 'admin edits the configuration, operator sends commands within its rights, viewer sees values within its rights'),
      rights: { type: 'string', 'x-fieldbridge-type': 'rights', description: 'PATTERN:ACCESS[,PATTERN:ACCESS...], ACCESS none, read or write; PATTERN a device or device/point with * ? []' },
      password: secret('web login password, stored as a yescrypt hash'),
    },
  },
  server: {
    required: ['bus', 'user'],
    properties: {
      bus: s(undefined, 'the Modbus bus whose devices are served'),
      user: s(undefined, 'gateway user whose rights limit what is served and which writes are forwarded'),
      listen: s('127.0.0.1', 'IPv4 or IPv6 address to listen on'),
      port: i(1, 65535, '5020', 'TCP port; 502 needs CAP_NET_BIND_SERVICE'),
      writes: e(['off', 'forward'], 'off', 'off (exception 01) or forward writes to the driver as commands'),
      stale: e(['exception', 'last'], 'exception', 'a point whose last read failed: exception 0B, or the last words read'),
      max_clients: i(1, 1024, '32', 'connections served at once'),
      idle_timeout_s: i(1, 3600, '60', 'close a client silent this long'),
    },
  },
  gateway: {
    properties: {
      name: s('fieldbridge', "the gateway's name, shown in Home Assistant"),
      log_level: e(['warning', 'info', 'debug'], 'info', 'how much every daemon logs: warning keeps an installation quiet; a daemon\'s -q or --log-level wins'),
    },
  },
};

// The Modbus server form and the gateway settings, in the field tables' order.
export const SERVER_FIELDS = [['bus', 'Bus'], ['user', 'User'], ['listen', 'Listen address'],
  ['port', 'Port'], ['writes', 'Writes'], ['stale', 'Stale points'],
  ['max_clients', 'Max clients'], ['idle_timeout_s', 'Idle timeout (s)'], ['unit_ids', 'Unit IDs']];
export const GATEWAY_FIELDS = [['name', 'Gateway name'], ['log_level', 'Log level']];

let cached = null;

// {schemas: {connection, bus, device, user, server, gateway}, fromGateway: bool, error}
export async function loadSchema() {
  if (cached) return cached;
  try {
    const doc = await get('schema');
    const pick = (k) => doc?.[k] || doc?.schema?.[k] || doc?.$defs?.[k] || doc?.definitions?.[k]
      || doc?.properties?.[`${k}s`]?.items || doc?.properties?.[k];
    const schemas = {};
    for (const k of ['connection', 'bus', 'device', 'user', 'server', 'gateway']) {
      const got = pick(k);
      schemas[k] = got && got.properties ? got : FALLBACK[k];
    }
    cached = { schemas, fromGateway: true };
  } catch (err) {
    cached = { schemas: FALLBACK, fromGateway: false, error: err };
  }
  return cached;
}

const LABELS = {
  rs485: 'RS-485 mode', rts: 'RTS', rts_delay_us: 'RTS delay (µs)', unit_id: 'Unit ID',
  baud: 'Baud rate', chip: 'GPIO chip', device: 'Serial device', host: 'Host',
};

export function fieldLabel(name) {
  if (LABELS[name]) return LABELS[name];
  const units = { _ms: ' (ms)', _s: ' (s)', _us: ' (µs)' };
  let label = name;
  let unit = '';
  for (const [suf, u] of Object.entries(units)) {
    if (label.endsWith(suf)) { label = label.slice(0, -suf.length); unit = u; }
  }
  label = label.replace(/_/g, ' ');
  if (label === 'id' || label.endsWith(' id')) label = label.replace(/id$/, 'ID');
  return label.charAt(0).toUpperCase() + label.slice(1) + unit;
}
