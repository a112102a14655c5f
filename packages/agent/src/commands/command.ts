import type { CancelResult, ExecuteReply, ExecuteRequest, Logger, RequestType } from '@ur/protocol/wire';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { Launcher } from '../launch/launcher.js';
import type { ProgressSink } from '../progress-reporter.js';
import type { ServiceSupervisor } from '../services/service-supervisor.js';

export interface CommandLimits {
  maxOutputBytes: number;
  killGraceMs: number;
  /** Applied when a request has no timeout of its own. */
  defaultTimeoutMs: number;
  /** Where script bodies are written (private to the agent). */
  scriptDir: string;
  /** Starts `script` and `file` processes. */
  launch: Launcher;
}

/** The agent's other requests, as a command may act on them. */
export interface RequestControl {
  /** Stops a running request as a timeout would; resolves once it has ended. */
  cancel(requestId: string, by: string): Promise<CancelResult['state']>;
}

/** What a command handler gets besides its request. */
export interface CommandContext {
  requestId: string;
  nodeId: string;
  /** The agent's prefix (software/, runtime/, state/ below it). */
  prefix: string;
  /** The software tree, for `artifact.*` requests. */
  artifacts: ArtifactStore;
  /** The supervised services, for `service.*` requests. */
  services: ServiceSupervisor;
  limits: CommandLimits;
  logger: Logger;
  progress: ProgressSink;
  /**
   * Call with the pid of every process group the command starts (spawned
   * `detached`), so that an agent restarted after a crash can kill it.
   */
  processStarted(pid: number): void;
  requests: RequestControl;
}

/** A command that has started: its reply, and a way to stop it early. */
export interface RunningCommand {
  readonly reply: Promise<ExecuteReply>;
  /** Stops the command (timeout, cancel, agent stopping); the reply still comes. */
  terminate(): void;
}

export type RequestOf<T extends RequestType> = Extract<ExecuteRequest, { type: T }>;

export type CommandHandler<T extends RequestType> = (
  request: RequestOf<T>,
  context: CommandContext,
) => RunningCommand;
