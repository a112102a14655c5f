import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import type { CpuShares } from './cpu-accounting.js';
import { round } from './stats.js';

/** The figure keys of bench-results.json; null when not measured in this run. */
export interface Figures {
  floor_amqp_rtt_ms: number | null;
  floor_spawn_ms: number | null;
  floor_spawn_rps_50: number | null;
  /** CPU of one `/bin/sh -c 'exit 0'` started from a shell loop: no script can cost less. */
  floor_exec_cpu_ms: number | null;
  wire_p50_ms: number | null;
  wire_p90_ms: number | null;
  wire_p99_ms: number | null;
  wire_rps_50: number | null;
  /** CPU per request of that closed loop, by process role (headnode 0: there is none). */
  wire_cpu_ms: CpuShares | null;
  /** Percent of all cores busy meanwhile. */
  wire_busy_pct: number | null;
  api_p50_ms: number | null;
  api_p99_ms: number | null;
  fanout_ping_ms: Record<string, number> | null;
  fanout_true_ms: Record<string, number> | null;
  /** CPU per node of those jobs, by process role, keyed by N like fanout_true_ms. */
  fanout_true_cpu_ms: Record<string, CpuShares> | null;
  /** Percent of all cores busy while those jobs ran (100: the CPU is the limit). */
  fanout_true_busy_pct: Record<string, number> | null;
  /** The same over 3 s (`--quick`: 1 s) of the idle fleet, before the pings: its own background load. */
  fanout_idle_busy_pct: Record<string, number> | null;
  /** Who keeps the idle fleet busy: percent of one core by process role, keyed by N. */
  fanout_idle_cpu_pct: Record<string, CpuShares> | null;
  storm_10000_ms: number | null;
  agent_rss_mib: number | null;
  agent_rss_after_1000_mib: number | null;
  agent_rss_settled_mib: number | null;
  /** 1,000 more commands once the agent has idled (V8 has collected and resized its heap). */
  agent_rss_after_idle_1000_mib: number | null;
  /** Included in the three figures above. */
  spawn_helper_rss_mib: number | null;
  agent_idle_cpu_pct: number | null;
  agent_startup_ms: number | null;
  headnode_10k_cpu_pct: number | null;
  headnode_10k_rss_mib: number | null;
  artifact_vs_unzip_ratio: number | null;
}

export const emptyFigures = (): Figures => ({
  floor_amqp_rtt_ms: null,
  floor_spawn_ms: null,
  floor_spawn_rps_50: null,
  floor_exec_cpu_ms: null,
  wire_p50_ms: null,
  wire_p90_ms: null,
  wire_p99_ms: null,
  wire_rps_50: null,
  wire_cpu_ms: null,
  wire_busy_pct: null,
  api_p50_ms: null,
  api_p99_ms: null,
  fanout_ping_ms: null,
  fanout_true_ms: null,
  fanout_true_cpu_ms: null,
  fanout_true_busy_pct: null,
  fanout_idle_busy_pct: null,
  fanout_idle_cpu_pct: null,
  storm_10000_ms: null,
  agent_rss_mib: null,
  agent_rss_after_1000_mib: null,
  agent_rss_settled_mib: null,
  agent_rss_after_idle_1000_mib: null,
  spawn_helper_rss_mib: null,
  agent_idle_cpu_pct: null,
  agent_startup_ms: null,
  headnode_10k_cpu_pct: null,
  headnode_10k_rss_mib: null,
  artifact_vs_unzip_ratio: null,
});

interface Goal {
  label: string;
  value: (f: Figures) => number | null | undefined;
  goal: (f: Figures) => number | null;
  unit: string;
  /** true: the figure must be at least the goal (throughput); else at most. */
  atLeast?: boolean;
}

const floorSum = (f: Figures): number | null =>
  f.floor_amqp_rtt_ms === null || f.floor_spawn_ms === null
    ? null
    : 1.5 * (f.floor_amqp_rtt_ms + f.floor_spawn_ms);

/** The CPU rows under a timed figure: machine CPU per unit of work and how busy the cores were. */
const cpuRows = (
  per: string,
  shares: (f: Figures) => CpuShares | null | undefined,
  busy: (f: Figures) => number | null | undefined,
): Goal[] => [
  { label: `  ... machine CPU per ${per}`, value: (f) => shares(f)?.machine, goal: () => null, unit: 'ms' },
  { label: '  ... cores busy meanwhile', value: busy, goal: () => null, unit: '%' },
];

const fanoutCpuRows = (n: string): Goal[] =>
  cpuRows(
    'node',
    (f) => f.fanout_true_cpu_ms?.[n],
    (f) => f.fanout_true_busy_pct?.[n],
  );

/** Commands per second the cores could start if they did nothing else: the ceiling on throughput. */
export const execCeilingPerSecond = (f: Figures): number | null =>
  f.floor_exec_cpu_ms === null || f.floor_exec_cpu_ms <= 0
    ? null
    : (1000 * os.cpus().length) / f.floor_exec_cpu_ms;

export const GOALS: Goal[] = [
  { label: 'floor: AMQP round trip', value: (f) => f.floor_amqp_rtt_ms, goal: () => null, unit: 'ms' },
  { label: 'floor: bare spawn', value: (f) => f.floor_spawn_ms, goal: () => null, unit: 'ms' },
  { label: 'floor: spawns, 50 in flight', value: (f) => f.floor_spawn_rps_50, goal: () => null, unit: '/s' },
  { label: 'floor: CPU of one sh exec', value: (f) => f.floor_exec_cpu_ms, goal: () => null, unit: 'ms' },
  { label: '  ... execs/s all cores could do', value: execCeilingPerSecond, goal: () => null, unit: '/s' },
  { label: 'wire p50 (≤ 1.5 × floor sum)', value: (f) => f.wire_p50_ms, goal: floorSum, unit: 'ms' },
  { label: 'wire p90', value: (f) => f.wire_p90_ms, goal: () => null, unit: 'ms' },
  { label: 'wire p99', value: (f) => f.wire_p99_ms, goal: () => null, unit: 'ms' },
  {
    label: 'wire, 50 in flight',
    value: (f) => f.wire_rps_50,
    goal: () => 1000,
    unit: 'req/s',
    atLeast: true,
  },
  ...cpuRows(
    'request',
    (f) => f.wire_cpu_ms,
    (f) => f.wire_busy_pct,
  ),
  { label: 'API p50', value: (f) => f.api_p50_ms, goal: () => 5, unit: 'ms' },
  { label: 'API p99', value: (f) => f.api_p99_ms, goal: () => 15, unit: 'ms' },
  { label: 'fan-out ping, 10 nodes', value: (f) => f.fanout_ping_ms?.['10'], goal: () => null, unit: 'ms' },
  { label: 'fan-out ping, 100 nodes', value: (f) => f.fanout_ping_ms?.['100'], goal: () => 30, unit: 'ms' },
  {
    label: 'fan-out ping, 1000 nodes',
    value: (f) => f.fanout_ping_ms?.['1000'],
    goal: () => 300,
    unit: 'ms',
  },
  {
    label: 'fan-out /bin/true, 10 nodes',
    value: (f) => f.fanout_true_ms?.['10'],
    goal: () => null,
    unit: 'ms',
  },
  {
    label: 'fan-out /bin/true, 100 nodes',
    value: (f) => f.fanout_true_ms?.['100'],
    goal: () => 250,
    unit: 'ms',
  },
  ...fanoutCpuRows('100'),
  {
    label: 'fan-out /bin/true, 1000 nodes',
    value: (f) => f.fanout_true_ms?.['1000'],
    goal: () => 3000,
    unit: 'ms',
  },
  ...fanoutCpuRows('1000'),
  { label: 'registration storm, 10,000 nodes', value: (f) => f.storm_10000_ms, goal: () => 3000, unit: 'ms' },
  { label: 'agent start → ur.startup', value: (f) => f.agent_startup_ms, goal: () => 300, unit: 'ms' },
  { label: 'agent RSS after start', value: (f) => f.agent_rss_mib, goal: () => 60, unit: 'MiB' },
  {
    label: 'agent RSS after 1,000 commands',
    value: (f) => f.agent_rss_after_1000_mib,
    goal: () => 60,
    unit: 'MiB',
  },
  { label: '  ... 10 s later', value: (f) => f.agent_rss_settled_mib, goal: () => 60, unit: 'MiB' },
  {
    label: '  ... 1,000 more after idling',
    value: (f) => f.agent_rss_after_idle_1000_mib,
    goal: () => 60,
    unit: 'MiB',
  },
  {
    label: '  ... of which the ur-spawn helper',
    value: (f) => f.spawn_helper_rss_mib,
    goal: () => null,
    unit: 'MiB',
  },
  { label: 'agent idle CPU', value: (f) => f.agent_idle_cpu_pct, goal: () => 0.2, unit: '% core' },
  {
    label: 'headnode CPU, 10k nodes heartbeating',
    value: (f) => f.headnode_10k_cpu_pct,
    goal: () => null,
    unit: '% core',
  },
  { label: 'headnode RSS, 10k nodes', value: (f) => f.headnode_10k_rss_mib, goal: () => null, unit: 'MiB' },
  {
    label: 'artifact install / (curl + unzip)',
    value: (f) => f.artifact_vs_unzip_ratio,
    goal: () => 1.5,
    unit: '×',
  },
];

export function table(figures: Figures): string {
  const rows = GOALS.map((g) => {
    const value = g.value(figures);
    const goal = g.goal(figures);
    const shown = value === null || value === undefined ? 'not measured' : `${round(value)} ${g.unit}`;
    let verdict = '';
    if (value !== null && value !== undefined && goal !== null) {
      const ok = g.atLeast ? value >= goal : value <= goal;
      verdict = `${ok ? 'ok  ' : 'MISS'} goal ${g.atLeast ? '≥' : '≤'} ${round(goal)} ${g.unit}`;
    }
    return [g.label, shown, verdict];
  });
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  return rows.map(([a, b, c]) => `${a!.padEnd(w0)}  ${b!.padStart(w1)}  ${c}`).join('\n');
}

function commit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD']).toString().trim();
  } catch {
    return null;
  }
}

function rabbitmqVersion(): string | null {
  try {
    return (
      /RabbitMQ version: (\S+)/.exec(
        execFileSync('rabbitmqctl', ['status'], { stdio: 'pipe' }).toString(),
      )?.[1] ?? null
    );
  } catch {
    return null;
  }
}

/** Figures round to a few digits, inside objects too (fan-out sizes, CPU shares). */
const roundAll = (v: unknown): unknown =>
  v !== null && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, roundAll(x)]))
    : round(v as number | null);

/** Who spent the CPU: one line for the wire's closed loop, one per fan-out size. */
export function cpuNotes(figures: Figures): string[] {
  const wire = figures.wire_cpu_ms;
  const exec = figures.floor_exec_cpu_ms;
  const wireLine =
    wire === null
      ? []
      : [
          `wire, 50 in flight, CPU per request: agent ${round(wire.agents)}, ur-spawn and the commands ` +
            `${round(wire.commands)}, RabbitMQ ${round(wire.broker)}, the rest (the bench's client, the kernel) ` +
            `${round(wire.other)} ms (machine ${round(wire.machine)} ms; its ${os.cpus().length} cores ` +
            `${round(figures.wire_busy_pct)} % busy${exec === null ? '' : `; one sh exec alone costs ${round(exec)} ms`})`,
        ];
  return [...wireLine, ...fanoutCpuNotes(figures)];
}

function fanoutCpuNotes(figures: Figures): string[] {
  return Object.entries(figures.fanout_true_cpu_ms ?? {}).map(([n, s]) => {
    const idle = figures.fanout_idle_cpu_pct?.[n];
    const idleRoles =
      idle === undefined
        ? ''
        : `: headnode ${round(idle.headnode)}, agents ${round(idle.agents)}, RabbitMQ ${round(idle.broker)}, ` +
          `the rest ${round(idle.other)} % of a core`;
    return (
      `fan-out /bin/true to ${n} nodes, CPU per node: headnode ${round(s.headnode)}, agents ${round(s.agents)}, ` +
      `ur-spawn and the commands ${round(s.commands)}, RabbitMQ ${round(s.broker)}, the rest ${round(s.other)} ms ` +
      `(machine ${round(s.machine)} ms; its ${os.cpus().length} cores ${round(figures.fanout_true_busy_pct?.[n] ?? null)} % busy, ` +
      `${round(figures.fanout_idle_busy_pct?.[n] ?? null)} % with the same fleet idle${idleRoles})`
    );
  });
}

export function writeResults(
  path: string,
  figures: Figures,
  notes: string[],
  quick: boolean,
  startedAt: Date,
): void {
  const rounded = roundAll(figures);
  const result = {
    commit: commit(),
    started_at: startedAt.toISOString(),
    quick,
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? null,
      memory_mib: Math.round(os.totalmem() / 1024 / 1024),
      node: process.version,
      rabbitmq: rabbitmqVersion(),
      kernel: os.release(),
    },
    figures: rounded,
    notes,
  };
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
}
