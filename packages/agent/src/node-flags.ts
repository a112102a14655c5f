/**
 * Node flags to launch ur-agent with. V8 reads them only at process start
 * (set later through v8.setFlagsFromString they changed nothing, measured),
 * so they belong on the command line: the Dockerfile, the demo, the bench and
 * the end-to-end tests all use these.
 *
 * --max-opt=2 keeps V8 from using its top-tier optimising compiler. The agent's
 * own JavaScript is thin glue around native work (JSON, crypto, spawn), so it
 * lost no throughput in the bench, while the compiler's code and its output
 * are ~4 MiB less RSS after start and ~10 MiB less after a burst; a smaller
 * process also forks each command a little faster.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-opt=2'];
