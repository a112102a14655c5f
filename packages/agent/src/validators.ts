import type { check, decodeExecuteRequest, PingRequestSchema } from '@ur/protocol';

export interface Validators {
  decodeExecuteRequest: typeof decodeExecuteRequest;
  check: typeof check;
  PingRequestSchema: typeof PingRequestSchema;
}

let loading: Promise<Validators> | undefined;

/**
 * The schema validators, loaded on first use. Loading TypeBox and ajv takes
 * tens of milliseconds, so the agent starts this right after announcing
 * itself instead of before: start-up to `ur.startup` stays short.
 */
export function loadValidators(): Promise<Validators> {
  loading ??= import('@ur/protocol');
  return loading;
}
