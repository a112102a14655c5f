import os from 'node:os';
import type { CpuShares } from '../cpu-accounting.js';
import { cpuNotes, emptyFigures, execCeilingPerSecond, table } from '../report.js';

const shares = (s: Partial<CpuShares>): CpuShares => ({
  machine: 0,
  headnode: 0,
  agents: 0,
  commands: 0,
  broker: 0,
  other: 0,
  ...s,
});

describe('execCeilingPerSecond', () => {
  it('is what all cores could exec with nothing else running', () => {
    const f = { ...emptyFigures(), floor_exec_cpu_ms: 2.5 };
    expect(execCeilingPerSecond(f)).toBeCloseTo((1000 * os.cpus().length) / 2.5);
  });

  it('is not measured without the floor', () => {
    expect(execCeilingPerSecond(emptyFigures())).toBeNull();
    expect(execCeilingPerSecond({ ...emptyFigures(), floor_exec_cpu_ms: 0 })).toBeNull();
  });
});

describe('cpuNotes', () => {
  it("puts the wire's line first, then one per fan-out size", () => {
    const f = {
      ...emptyFigures(),
      floor_exec_cpu_ms: 2.4,
      wire_cpu_ms: shares({ machine: 5.4, agents: 1.05, commands: 3.7, broker: 0.4, other: 0.25 }),
      wire_busy_pct: 95,
      fanout_true_cpu_ms: { '100': shares({ machine: 9, headnode: 2 }) },
      fanout_true_busy_pct: { '100': 90 },
    };
    const notes = cpuNotes(f);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toMatch(
      /^wire, 50 in flight, CPU per request: agent 1\.05, ur-spawn and the commands 3\.7,/,
    );
    expect(notes[0]).toContain('one sh exec alone costs 2.4 ms');
    expect(notes[1]).toMatch(/^fan-out \/bin\/true to 100 nodes, CPU per node: headnode 2,/);
  });

  it('says who keeps the idle fleet busy, when that was measured', () => {
    const f = {
      ...emptyFigures(),
      fanout_true_cpu_ms: { '1000': shares({ machine: 12 }) },
      fanout_idle_busy_pct: { '1000': 33 },
      fanout_idle_cpu_pct: { '1000': shares({ machine: 66, headnode: 4, agents: 30, broker: 25, other: 7 }) },
    };
    expect(cpuNotes(f)[0]).toMatch(
      /33 % with the same fleet idle: headnode 4, agents 30, RabbitMQ 25, the rest 7 % of a core\)$/,
    );
    expect(cpuNotes({ ...f, fanout_idle_cpu_pct: null })[0]).toMatch(/33 % with the same fleet idle\)$/);
  });

  it('leaves the exec out of the wire line when the floor was not measured', () => {
    const [line] = cpuNotes({ ...emptyFigures(), wire_cpu_ms: shares({ machine: 5 }), wire_busy_pct: 95 });
    expect(line).toMatch(/95 % busy\)$/);
  });

  it('has no wire line when the wire was not measured', () => {
    expect(cpuNotes(emptyFigures())).toEqual([]);
  });
});

describe('table', () => {
  it('shows the RSS after idling against the 60 MiB goal', () => {
    const row = table({ ...emptyFigures(), agent_rss_after_idle_1000_mib: 60.4 })
      .split('\n')
      .find((line) => line.includes('1,000 more after idling'));
    expect(row).toMatch(/60\.4 MiB\s+MISS goal ≤ 60 MiB/);
  });
});
