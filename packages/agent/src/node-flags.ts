/**
 * Node flags to launch ur-agent with. V8 reads them only at process start
 * (set later through v8.setFlagsFromString they changed nothing, measured),
 * so they belong on the command line: the Dockerfile, the demo, the bench and
 * the end-to-end tests all use these.
 *
 * --lite-mode runs JavaScript in V8's interpreter only, with lazily
 * allocated feedback. The agent's own JavaScript is thin glue around native
 * work (JSON, crypto, spawn), so it lost no throughput in the bench, while
 * the process is smaller: after start, and above all after a burst of
 * commands, where it stays under the 60 MiB goal (--max-opt=2, used before,
 * went just over it). It also turns WebAssembly off, which Node's fetch
 * needs (undici's HTTP parser): the agent must not use fetch (downloads go
 * through got, on node:http). The end-to-end tests run the agent with these
 * flags, so a fetch slipping in fails them.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ['--lite-mode'];
