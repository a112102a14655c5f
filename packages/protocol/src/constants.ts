/** Bumped when the agent's wire behaviour changes incompatibly. */
export const PROTOCOL_VERSION = 1;

/**
 * Request types on `ur.execute.<node>.<req>`. Adding one here requires its
 * schema in `requestSchemas` (the compiler checks that every type has one).
 */
export const REQUEST_TYPES = [
  'script',
  'file',
  'cancel',
  'artifact.install',
  'artifact.remove',
  'artifact.list',
  'service.start',
  'service.stop',
  'service.drain',
  'service.restart',
  'service.status',
  'service.list',
  'service.logs',
] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];
