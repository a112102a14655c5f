import type { RestartPolicy, RestartPolicyName } from '@ur/protocol/wire';

/** A restart policy with every default applied; times in milliseconds. */
export interface CompiledRestartPolicy {
  policy: RestartPolicyName;
  maxRestarts: number;
  windowMs: number;
  delayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: CompiledRestartPolicy = {
  policy: 'always',
  maxRestarts: 5,
  windowMs: 60_000,
  delayMs: 1_000,
  maxDelayMs: 30_000,
};

/** Later policies override earlier ones field by field (manifest, overrides, request). */
export function compileRestartPolicy(...layers: (RestartPolicy | undefined)[]): CompiledRestartPolicy {
  const p = { ...DEFAULT_RESTART_POLICY };
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.policy !== undefined) p.policy = layer.policy;
    if (layer.max_restarts !== undefined) p.maxRestarts = layer.max_restarts;
    if (layer.window_s !== undefined) p.windowMs = layer.window_s * 1000;
    if (layer.delay_s !== undefined) p.delayMs = layer.delay_s * 1000;
    if (layer.max_delay_s !== undefined) p.maxDelayMs = layer.max_delay_s * 1000;
  }
  return p;
}

export function restartPolicyView(p: CompiledRestartPolicy): {
  policy: RestartPolicyName;
  max_restarts: number;
  window_s: number;
  delay_s: number;
  max_delay_s: number;
} {
  return {
    policy: p.policy,
    max_restarts: p.maxRestarts,
    window_s: p.windowMs / 1000,
    delay_s: p.delayMs / 1000,
    max_delay_s: p.maxDelayMs / 1000,
  };
}

export interface ExitFacts {
  /** Null when killed by a signal or unknown (the process was adopted). */
  exitStatus: number | null;
  signal: string | null;
}

export type RestartDecision =
  /** Not restarted: the policy says so for this exit. */
  | { action: 'exit' }
  /** Restarted too often within the window: a crash loop. */
  | { action: 'fail'; recent: number }
  | { action: 'restart'; delayMs: number };

/** Only exit status 0 is a success; an unknown ending counts as a failure. */
export const isCleanExit = (exit: ExitFacts): boolean => exit.exitStatus === 0 && exit.signal === null;

/**
 * What to do after a service ended on its own. `restartTimes` are the times
 * (epoch ms) of earlier restarts; those within the window count towards the
 * crash loop and double the delay, so a service that has been stable for a
 * window starts again from the first delay. Jitter spreads the delay over
 * its upper half.
 */
export function decideRestart(
  policy: CompiledRestartPolicy,
  exit: ExitFacts,
  restartTimes: readonly number[],
  now: number,
  random: () => number = Math.random,
): RestartDecision {
  if (policy.policy === 'never') return { action: 'exit' };
  if (policy.policy === 'on-failure' && isCleanExit(exit)) return { action: 'exit' };
  const recent = restartTimes.filter((t) => t > now - policy.windowMs).length;
  if (recent >= policy.maxRestarts) return { action: 'fail', recent };
  const full = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** recent);
  return { action: 'restart', delayMs: Math.round(full / 2 + random() * (full / 2)) };
}
