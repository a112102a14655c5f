import {
  matchesSelector,
  parseQuantity,
  parseSelector,
  SelectorError,
  type FactLookup,
  type Selector,
} from '@ur/protocol';

describe('parseSelector', () => {
  it.each<[string, Omit<Selector, 'source'>]>([
    ['all', { ids: [], conditions: [] }],
    ['node1', { ids: ['node1'], conditions: [] }],
    ['node1,node2 node-3', { ids: ['node1', 'node2', 'node-3'], conditions: [] }],
    ['status=ready', { ids: [], conditions: [{ key: ['status'], op: '=', values: ['ready'] }] }],
    [
      'status=ready|suspect',
      { ids: [], conditions: [{ key: ['status'], op: '=', values: ['ready', 'suspect'] }] },
    ],
    ['label.role=web', { ids: [], conditions: [{ key: ['label', 'role'], op: '=', values: ['web'] }] }],
    ['hostname~web*', { ids: [], conditions: [{ key: ['hostname'], op: '~', values: ['web*'] }] }],
    ['hostname!~db?', { ids: [], conditions: [{ key: ['hostname'], op: '!~', values: ['db?'] }] }],
    ['os!=linux', { ids: [], conditions: [{ key: ['os'], op: '!=', values: ['linux'] }] }],
    ['mem_mib>=4096', { ids: [], conditions: [{ key: ['mem_mib'], op: '>=', value: 4096 }] }],
    [
      'memory_bytes>4GiB',
      { ids: [], conditions: [{ key: ['memory_bytes'], op: '>', value: 4 * 1024 ** 3 }] },
    ],
    ['cpu_milli<2k', { ids: [], conditions: [{ key: ['cpu_milli'], op: '<', value: 2000 }] }],
    ['disk_bytes<=1.5T', { ids: [], conditions: [{ key: ['disk_bytes'], op: '<=', value: 1.5e12 }] }],
    [
      'sysinfo."CPU Type"~"*Xeon *"',
      { ids: [], conditions: [{ key: ['sysinfo', 'CPU Type'], op: '~', values: ['*Xeon *'] }] },
    ],
    ['label.note="a, b"', { ids: [], conditions: [{ key: ['label', 'note'], op: '=', values: ['a, b'] }] }],
    [
      '  status=ready ,  label.role=web  ',
      {
        ids: [],
        conditions: [
          { key: ['status'], op: '=', values: ['ready'] },
          { key: ['label', 'role'], op: '=', values: ['web'] },
        ],
      },
    ],
    [
      'n1,n2,status=ready',
      { ids: ['n1', 'n2'], conditions: [{ key: ['status'], op: '=', values: ['ready'] }] },
    ],
    [
      'label.url=http://x/y=z',
      { ids: [], conditions: [{ key: ['label', 'url'], op: '=', values: ['http://x/y=z'] }] },
    ],
  ])('parses %j', (text, expected) => {
    expect(parseSelector(text)).toEqual({ source: text, ...expected });
  });

  it.each<[string, RegExp]>([
    ['', /empty selector/],
    ['   , ', /empty selector/],
    ['mem_mib>=lots', /needs a number, found "lots"/],
    ['status=', /expected a value/],
    ['label.=x', /expected a name/],
    ['all,node1', /"all" cannot be combined with node ids/],
    ['hostname="web', /unterminated quoted string/],
    ['a.b', /neither a node id nor a condition/],
    ['=x', /expected a name/],
    ['node/1', /unexpected "\/"/],
  ])('refuses %j', (text, message) => {
    expect(() => parseSelector(text)).toThrow(SelectorError);
    expect(() => parseSelector(text)).toThrow(message);
  });

  it('says where the problem is and carries the INVALID_SELECTOR code', () => {
    try {
      parseSelector('status=ready mem_mib>=x');
      throw new Error('parsed');
    } catch (err) {
      expect(err).toBeInstanceOf(SelectorError);
      expect((err as SelectorError).code).toBe('INVALID_SELECTOR');
      expect((err as SelectorError).position).toBe(22);
    }
  });
});

describe('parseQuantity', () => {
  it.each<[string, number | undefined]>([
    ['0', 0],
    ['4096', 4096],
    ['1.5', 1.5],
    ['-2', -2],
    ['2k', 2000],
    ['512Mi', 512 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
    ['4GB', 4e9],
    ['1Ti', 1024 ** 4],
    ['x', undefined],
    ['4 GiB', undefined],
    ['1Ki1', undefined],
  ])('%s → %s', (text, expected) => {
    expect(parseQuantity(text)).toBe(expected);
  });
});

describe('matchesSelector', () => {
  const nodes: Record<string, Record<string, string | number | null>> = {
    web1: { status: 'ready', os: 'linux', hostname: 'web1.example', mem_mib: 8192, 'label.role': 'web' },
    web2: { status: 'suspect', os: 'linux', hostname: 'web2.example', mem_mib: 2048, 'label.role': 'web' },
    db1: { status: 'ready', os: 'sunos', hostname: 'db1.example', mem_mib: '65536', 'label.role': 'db' },
    bare: { status: 'down', os: null, hostname: null, mem_mib: null },
  };
  const lookup =
    (id: string): FactLookup =>
    (key) =>
      nodes[id]?.[key.join('.')];
  const selected = (text: string): string[] => {
    const selector = parseSelector(text);
    return Object.keys(nodes).filter((id) => matchesSelector(selector, id, lookup(id)));
  };

  it.each<[string, string[]]>([
    ['all', ['web1', 'web2', 'db1', 'bare']],
    ['web1 db1', ['web1', 'db1']],
    ['nosuch', []],
    ['status=ready', ['web1', 'db1']],
    ['status=ready|suspect', ['web1', 'web2', 'db1']],
    ['os=linux', ['web1', 'web2']],
    ['os!=linux', ['db1', 'bare']],
    ['label.role=web', ['web1', 'web2']],
    ['label.role!=web', ['db1', 'bare']],
    ['hostname~web*', ['web1', 'web2']],
    ['hostname~*.example', ['web1', 'web2', 'db1']],
    ['hostname!~web*', ['db1', 'bare']],
    ['mem_mib>=4096', ['web1', 'db1']],
    ['mem_mib<4096', ['web2']],
    ['mem_mib>8192', ['db1']],
    ['mem_mib<=8Ki', ['web1', 'web2']],
    ['label.role=web,status=ready', ['web1']],
    ['web1,web2,status=suspect', ['web2']],
    ['hostname~web?.example mem_mib>1000', ['web1', 'web2']],
  ])('%s selects %j', (text, expected) => {
    expect(selected(text)).toEqual(expected);
  });
});
