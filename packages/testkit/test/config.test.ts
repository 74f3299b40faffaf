import { describe, expect, test } from 'vitest';
import { isConfigError, parseCorosyncConf, specToConf, type ConfigEntry } from '../src/index.js';

const kv = (entries: ConfigEntry[]) => Object.fromEntries(entries.map((e) => [e.key, [e.type, e.value]]));

describe('parseCorosyncConf', () => {
  test('sections, comments, nodelist numbering and the typed keys of coroparse', () => {
    const e = kv(parseCorosyncConf([
      '# comment', 'totem {', '  version: 2', '\tcluster_name:  my cluster  ', '  token: 5000', '  config_version: 7',
      '  knet_compression_level: -3', '  interface {', '    linknumber: 1', '    knet_ping_interval: 200', '    mcastport: 5405', '  }', '}',
      'quorum {', '  provider: corosync_votequorum', '  two_node: 1', '  expected_votes: 2', '  device {', '    model: net', '    votes: 1', '    net {', '      host: qnetd', '    }', '  }', '}',
      'nodelist {', '  node {', '    nodeid: 1', '    ring0_addr: 10.0.0.1', '    quorum_votes: 2', '  }', '  node {', '    nodeid: 2', '    name: b', '  }', '}',
      'logging {', '  to_syslog: yes', '  logger_subsys {', '    subsys: QUORUM', '    debug: on', '  }', '}',
      'uidgid {', '  uid: 1000', '  gid: 50', '}',
      'resources {', '  system {', '    poll_period: 3000', '  }', '}',
    ].join('\n')));
    expect(e).toMatchObject({
      'totem.version': [6, 2], 'totem.cluster_name': [11, 'my cluster'], 'totem.token': [6, 5000],
      'totem.config_version': [8, 7n], 'totem.knet_compression_level': [5, -3],
      'totem.interface.1.knet_ping_interval': [6, 200], 'totem.interface.1.mcastport': [4, 5405],
      'quorum.provider': [11, 'corosync_votequorum'], 'quorum.two_node': [2, 1], 'quorum.expected_votes': [6, 2],
      'quorum.device.model': [11, 'net'], 'quorum.device.votes': [6, 1], 'quorum.device.net.host': [11, 'qnetd'],
      'nodelist.node.0.nodeid': [6, 1], 'nodelist.node.0.quorum_votes': [6, 2], 'nodelist.node.0.ring0_addr': [11, '10.0.0.1'],
      'nodelist.node.1.nodeid': [6, 2], 'nodelist.node.1.name': [11, 'b'],
      'logging.to_syslog': [11, 'yes'], 'logging.logger_subsys.QUORUM.debug': [11, 'on'],
      'uidgid.config.uid.1000': [2, 1], 'uidgid.config.gid.50': [2, 1],
      'resources.system.poll_period': [8, 3000n],
    });
    expect(e['totem.interface.linknumber']).toBeUndefined();
  });

  test('a generated spec parses back', () => {
    const e = kv(parseCorosyncConf(specToConf({ nodes: [{ id: 4, votes: 3 }, { id: 9 }], quorum: { waitForAll: true, autoTieBreakerNode: [9, 4] } })));
    expect(e['nodelist.node.0.nodeid']).toEqual([6, 4]);
    expect(e['nodelist.node.0.quorum_votes']).toEqual([6, 3]);
    expect(e['quorum.wait_for_all']).toEqual([2, 1]);
    expect(e['quorum.auto_tie_breaker_node']).toEqual([11, '9 4']);
  });

  test('a node count that is not a positive integer is a ConfigError (1.5 made one node)', () => {
    for (const nodes of [1.5, 0, -1, NaN, Infinity]) {
      expect(() => specToConf({ nodes })).toThrow(expect.objectContaining({ name: 'ConfigError' }));
    }
    expect(specToConf({ nodes: 2 })).toContain('nodeid: 2');
  });

  const bad: [string, string, number, RegExp][] = [
    ['missing brace', 'totem {\n version: 2\n', 2, /Missing closing brace/],
    ['extra after {', 'totem { version: 2\n}', 1, /Extra characters after opening bracket/],
    ['no section name', '{\n}', 1, /Missing section name/],
    ['unexpected }', 'totem {\n}\n}', 3, /Unexpected closing brace/],
    ['garbage line', 'totem {\n nonsense\n}', 2, /not opening or closing section or key value/],
    ['text around }', 'totem {\n} x', 2, /Extra characters before or after closing bracket/],
    ['bad integer', 'quorum {\n  expected_votes: three\n}', 2, /expected to be integer in range \(0\.\.4294967295\), but "three" was given/],
    ['u8 out of range', 'quorum {\n two_node: 256\n}', 2, /quorum.two_node/],
    ['bad nodeid', 'nodelist {\n node {\n  nodeid: -1\n }\n}', 3, /nodelist.node.0.nodeid/],
    ['bad crypto', 'totem {\n crypto_cipher: rot13\n}', 2, /Invalid cipher type/],
    ['bad ipc type', 'system {\n qb_ipc_type: pipes\n}', 2, /qb_ipc_type/],
    ['logger_subsys without subsys', 'logging {\n logger_subsys {\n  debug: on\n }\n}', 4, /No subsys key/],
    ['bad uidgid item', 'uidgid {\n user: x\n}', 2, /Only uid and gid/],
  ];
  for (const [name, text, line, re] of bad) {
    test(`refuses: ${name} (line ${line})`, () => {
      let err: unknown;
      try {
        parseCorosyncConf(text, { filename: 'test.conf' });
      } catch (e) {
        err = e;
      }
      expect(isConfigError(err)).toBe(true);
      expect((err as { line: number }).line).toBe(line);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).toMatch(new RegExp(`^parser error: test.conf:${line}: `));
    });
  }

  test('a later value for the same key replaces the earlier one', () => {
    expect(kv(parseCorosyncConf('totem {\n token: 1\n token: 2\n}'))['totem.token']).toEqual([6, 2]);
  });
});
