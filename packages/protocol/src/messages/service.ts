import { Type, type Static } from '@sinclair/typebox';
import { MAX_TIMEOUT_SECONDS } from './common.js';
import { MAX_LOG_LINES, RESTART_POLICIES, SERVICE_STATES, type ServiceState } from './service-constants.js';

export type { RestartPolicyName, ServiceState } from './service-constants.js';

/**
 * Supervised services (as Nodee's: start, stop, drain, restart, status,
 * list, logs), sent like any request on `ur.execute.<node>.<req>`. The agent
 * runs a service from an installed artifact in its own process group with
 * `<prefix>/runtime/<cell>/<user>/<service>/<instance>` as working
 * directory, restarts it per its policy, and re-adopts it (without
 * restarting) after an agent restart. Replies carry Ur's
 * `{exit_status, stdout, stderr}` plus a typed `result` (schemas below).
 */
export const ServiceStateSchema = Type.Union(
  SERVICE_STATES.map((s) => Type.Literal(s)),
  {
    description:
      'starting: spawned, health check not passed yet; running; draining: drain signal sent, waiting for it ' +
      'to exit on its own; stopping: stop signal sent; stopped: stopped or drained on request; exited: ended ' +
      'on its own and its policy says no restart; backoff: waiting to be restarted; failed: restarted too ' +
      'often (crash loop), no more restarts until started again.',
  },
);

const ServiceCoordinate = Type.String({
  minLength: 7,
  maxLength: 263,
  description:
    "instance.service.user.cell; each part letters, digits, '_', '-', starting with a letter or digit.",
});

const ArtifactCoordinate = Type.String({
  minLength: 5,
  maxLength: 400,
  description: 'The installed artifact to run, groupId:artifactId:version.',
});

const Seconds = (description: string, max = MAX_TIMEOUT_SECONDS) =>
  Type.Number({ minimum: 0, maximum: max, description });

const Signal = Type.String({
  pattern: '^SIG[A-Z0-9]{2,8}$',
  description: 'A signal name, e.g. SIGTERM, SIGINT, SIGUSR1, SIGHUP.',
});

/** Where a number is expected, a placeholder such as "{{options.port}}" may stand instead. */
const PortValue = Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ minLength: 1 })]);

export const RestartPolicySchema = Type.Object(
  {
    policy: Type.Optional(
      Type.Union(
        RESTART_POLICIES.map((p) => Type.Literal(p)),
        {
          description:
            'always (the default, like init): after any exit; on-failure: after a non-zero exit or a signal; never.',
        },
      ),
    ),
    max_restarts: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10_000,
        description: 'Restarts allowed within window_s; one more exit makes the service failed. Default 5.',
      }),
    ),
    window_s: Type.Optional(Seconds('The crash-loop window in seconds. Default 60.')),
    delay_s: Type.Optional(
      Seconds('First restart delay; doubled per restart within the window, with jitter. Default 1.', 3600),
    ),
    max_delay_s: Type.Optional(Seconds('Longest restart delay. Default 30.', 3600)),
  },
  { title: 'RestartPolicy', additionalProperties: false },
);
export type RestartPolicy = Static<typeof RestartPolicySchema>;

export const HealthCheckSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('tcp'), Type.Literal('http')], {
      description:
        'tcp: a connection to 127.0.0.1:port succeeds; http: GET http://127.0.0.1:port<path> answers 2xx.',
    }),
    port: PortValue,
    path: Type.Optional(Type.String({ pattern: '^/', description: 'For http; default /.' })),
    interval_s: Type.Optional(Seconds('Between attempts. Default 0.5.', 3600)),
    timeout_s: Type.Optional(
      Seconds('The check must pass this soon after the start, else the start failed. Default 30.'),
    ),
  },
  {
    title: 'HealthCheck',
    additionalProperties: false,
    description: 'Gates starting → running; without one a service is running once spawned.',
  },
);
export type HealthCheck = Static<typeof HealthCheckSchema>;

const RelativePath = (description: string) => Type.String({ minLength: 1, maxLength: 1024, description });

export const PrepareStepSchema = Type.Union(
  [
    Type.Object(
      {
        copy: RelativePath('A file or directory of the artifact (relative to its root).'),
        to: RelativePath('Where in the runtime directory.'),
        overwrite: Type.Optional(
          Type.Boolean({ description: 'Replace what is there; default false: an existing target is kept.' }),
        ),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        template: RelativePath('A text file of the artifact whose {{placeholders}} are filled in.'),
        to: RelativePath('Where in the runtime directory; rendered again on every start.'),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        archive: Type.String({
          minLength: 1,
          description: 'http(s) URL of a zip of saved state (a backup).',
        }),
        sha256: Type.String({ minLength: 1, description: 'Its SHA-256 (hex); a mismatch fails the start.' }),
        to: RelativePath('A directory of the runtime directory; left alone when it exists.'),
      },
      { additionalProperties: false },
    ),
  ],
  {
    title: 'PrepareStep',
    description:
      'Pre-populates the runtime directory before the service starts; every step is idempotent and a failing ' +
      'one leaves the service not started.',
  },
);
export type PrepareStep = Static<typeof PrepareStepSchema>;

export const ServiceLogLimitsSchema = Type.Object(
  {
    max_bytes: Type.Optional(
      Type.Integer({ minimum: 4096, description: 'Size of one log file before rotation.' }),
    ),
    files: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'Rotated files kept.' })),
  },
  { title: 'ServiceLogLimits', additionalProperties: false },
);

/** The fields of `ur-service.json` (the manifest at an artifact's root) that a start request may override. */
const specFields = {
  command: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'What to run: relative to the artifact root when it contains a slash (bin/server), a name looked up ' +
        'on PATH otherwise (node), or absolute.',
    }),
  ),
  args: Type.Optional(
    Type.Array(Type.String(), { description: 'Arguments; {{placeholders}} are filled in.' }),
  ),
  env: Type.Optional(
    Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String(), {
      description: 'Added to the small environment the agent gives services; {{placeholders}} are filled in.',
    }),
  ),
  ports: Type.Optional(
    Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]+$' }), PortValue, {
      description: 'Named ports the service listens on (reported in its status; usable as {{ports.NAME}}).',
    }),
  ),
  stop_signal: Type.Optional(Signal),
  stop_timeout_s: Type.Optional(Seconds('After the stop signal, SIGKILL to the group. Default 10.', 3600)),
  drain_signal: Type.Optional(Signal),
  drain_timeout_s: Type.Optional(Seconds('How long a drain waits for the service to exit. Default 60.')),
  health: Type.Optional(HealthCheckSchema),
  prepare: Type.Optional(Type.Array(PrepareStepSchema, { maxItems: 100 })),
  restart: Type.Optional(RestartPolicySchema),
  logs: Type.Optional(ServiceLogLimitsSchema),
};

export const ServiceOverridesSchema = Type.Object(specFields, {
  title: 'ServiceOverrides',
  additionalProperties: false,
  description: 'Replaces the same fields of the manifest (a whole field at a time).',
});
export type ServiceOverrides = Static<typeof ServiceOverridesSchema>;

/** `ur-service.json` at the root of an artifact: how to run it as a service. */
export const ServiceManifestSchema = Type.Object(
  {
    ...specFields,
    options: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'Default options; the start request’s options are merged over them (top-level keys).',
      }),
    ),
  },
  { title: 'ServiceManifest', additionalProperties: false },
);
export type ServiceManifest = Static<typeof ServiceManifestSchema>;

const timeout = Type.Optional(
  Type.Number({
    exclusiveMinimum: 0,
    maximum: MAX_TIMEOUT_SECONDS,
    description: 'Seconds the agent may take to answer (for logs with stream: how long to follow).',
  }),
);

const coordinateOnly = { coordinate: ServiceCoordinate, timeout };

export const ServiceStartRequestSchema = Type.Object(
  {
    type: Type.Literal('service.start'),
    coordinate: ServiceCoordinate,
    artifact: ArtifactCoordinate,
    options: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'The service’s options: written to <runtime>/options.json, usable as {{options.KEY}}.',
      }),
    ),
    restart: Type.Optional(RestartPolicySchema),
    overrides: Type.Optional(ServiceOverridesSchema),
    timeout,
  },
  { title: 'ServiceStartRequest' },
);
export type ServiceStartRequest = Static<typeof ServiceStartRequestSchema>;

export const ServiceStopRequestSchema = Type.Object(
  {
    type: Type.Literal('service.stop'),
    ...coordinateOnly,
    forget: Type.Optional(
      Type.Boolean({ description: 'Also forget the service (its runtime directory stays).' }),
    ),
  },
  { title: 'ServiceStopRequest' },
);
export type ServiceStopRequest = Static<typeof ServiceStopRequestSchema>;

export const ServiceDrainRequestSchema = Type.Object(
  {
    type: Type.Literal('service.drain'),
    ...coordinateOnly,
    drain_timeout: Type.Optional(Seconds('How long to wait for it to exit; default its drain_timeout_s.')),
  },
  { title: 'ServiceDrainRequest' },
);
export type ServiceDrainRequest = Static<typeof ServiceDrainRequestSchema>;

export const ServiceRestartRequestSchema = Type.Object(
  { type: Type.Literal('service.restart'), ...coordinateOnly },
  { title: 'ServiceRestartRequest' },
);
export type ServiceRestartRequest = Static<typeof ServiceRestartRequestSchema>;

export const ServiceStatusRequestSchema = Type.Object(
  { type: Type.Literal('service.status'), ...coordinateOnly },
  { title: 'ServiceStatusRequest' },
);
export type ServiceStatusRequest = Static<typeof ServiceStatusRequestSchema>;

export const ServiceListRequestSchema = Type.Object(
  { type: Type.Literal('service.list'), timeout },
  { title: 'ServiceListRequest' },
);
export type ServiceListRequest = Static<typeof ServiceListRequestSchema>;

export const ServiceLogsRequestSchema = Type.Object(
  {
    type: Type.Literal('service.logs'),
    ...coordinateOnly,
    lines: Type.Optional(
      Type.Integer({ minimum: 0, maximum: MAX_LOG_LINES, description: 'The last N lines. Default 100.' }),
    ),
    stream: Type.Optional(
      Type.Boolean({
        description:
          'Send the lines, then what the service writes, as progress output events until the timeout or a cancel.',
      }),
    ),
  },
  { title: 'ServiceLogsRequest' },
);
export type ServiceLogsRequest = Static<typeof ServiceLogsRequestSchema>;

export const ServiceExitSchema = Type.Object(
  {
    at: Type.String({ description: 'ISO 8601 time.' }),
    exit_status: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Null when killed by a signal, or unknown (it ended while the agent was not its parent).',
    }),
    signal: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'ServiceExit' },
);
export type ServiceExit = Static<typeof ServiceExitSchema>;

/** What a node says about one service (the result of `service.status`, an item of `service.list`). */
export const ServiceInfoSchema = Type.Object(
  {
    coordinate: Type.String(),
    artifact: Type.String(),
    state: ServiceStateSchema,
    desired: Type.Union([Type.Literal('running'), Type.Literal('stopped')]),
    since: Type.String({ description: 'When it entered its state (ISO 8601).' }),
    pid: Type.Union([Type.Integer(), Type.Null()], { description: 'Its main process (and group), if any.' }),
    started_at: Type.Union([Type.String(), Type.Null()], { description: 'When that process started.' }),
    restarts: Type.Integer({
      minimum: 0,
      description: 'Restarts by the supervisor since the last start request.',
    }),
    last_exits: Type.Array(ServiceExitSchema, { description: 'Newest last; at most 10.' }),
    runtime_dir: Type.String(),
    software_dir: Type.String(),
    ports: Type.Record(Type.String(), Type.Integer()),
    restart: Type.Object({
      policy: Type.Union(RESTART_POLICIES.map((p) => Type.Literal(p))),
      max_restarts: Type.Integer(),
      window_s: Type.Number(),
      delay_s: Type.Number(),
      max_delay_s: Type.Number(),
    }),
    options: Type.Record(Type.String(), Type.Unknown()),
  },
  { title: 'ServiceInfo' },
);
export type ServiceInfo = Static<typeof ServiceInfoSchema>;

export const PreparedStepSchema = Type.Object(
  {
    step: Type.Integer({ minimum: 0 }),
    to: Type.String(),
    action: Type.Union(
      ['copied', 'rendered', 'restored', 'kept'].map((a) => Type.Literal(a)),
      { description: 'kept: the target was there already (the step is idempotent).' },
    ),
  },
  { title: 'PreparedStep' },
);
export type PreparedStep = Static<typeof PreparedStepSchema>;

export const ServiceStartResultSchema = Type.Composite(
  [
    ServiceInfoSchema,
    Type.Object({
      already_running: Type.Boolean({
        description: 'Nothing was done: it runs with the same artifact and options.',
      }),
      prepared: Type.Array(PreparedStepSchema),
    }),
  ],
  { title: 'ServiceStartResult' },
);
export type ServiceStartResult = Static<typeof ServiceStartResultSchema>;

export const ServiceListResultSchema = Type.Object(
  { services: Type.Array(ServiceInfoSchema) },
  { title: 'ServiceListResult' },
);
export type ServiceListResult = Static<typeof ServiceListResultSchema>;

export const ServiceStopResultSchema = Type.Composite(
  [ServiceInfoSchema, Type.Object({ forgotten: Type.Boolean() })],
  { title: 'ServiceStopResult' },
);
export type ServiceStopResult = Static<typeof ServiceStopResultSchema>;

export const ServiceLogsResultSchema = Type.Object(
  {
    coordinate: Type.String(),
    lines: Type.Array(Type.String(), { description: 'The last lines, oldest first, without newlines.' }),
    truncated: Type.Boolean({ description: 'Fewer lines than asked for fit in a reply (1 MiB).' }),
    followed_ms: Type.Integer({ minimum: 0, description: 'How long new output was followed (stream).' }),
  },
  { title: 'ServiceLogsResult' },
);
export type ServiceLogsResult = Static<typeof ServiceLogsResultSchema>;

/**
 * `ur.event.<node-id>.service`: one state transition of a service. Sent
 * with publisher confirms and re-sent after a reconnect; after an agent
 * restart every known service is reported once with `from: null`.
 */
export const ServiceEventSchema = Type.Object(
  {
    type: Type.Literal('service'),
    node_id: Type.String(),
    coordinate: Type.String(),
    artifact: Type.String(),
    from: Type.Union([ServiceStateSchema, Type.Null()], {
      description: 'Null: the first report since the agent started.',
    }),
    to: ServiceStateSchema,
    exit_status: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
    signal: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    pid: Type.Union([Type.Integer(), Type.Null()]),
    restarts: Type.Integer({ minimum: 0 }),
    forgotten: Type.Optional(Type.Boolean({ description: 'The service was stopped and forgotten.' })),
    at: Type.String({ description: 'ISO 8601 time of the transition.' }),
    seq: Type.Integer({ minimum: 0, description: 'Increases per event since the agent started.' }),
  },
  { title: 'ServiceEvent' },
);
export type ServiceEvent = Static<typeof ServiceEventSchema>;

/** Services by state, in the heartbeat (states with none are left out). */
export const ServiceCountsSchema = Type.Partial(
  Type.Object(Object.fromEntries(SERVICE_STATES.map((s) => [s, Type.Integer({ minimum: 0 })]))),
  { title: 'ServiceCounts' },
);
export type ServiceCounts = Partial<Record<ServiceState, number>>;
