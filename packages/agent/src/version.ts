import { createRequire } from 'node:module';

// Both src/ and dist/ sit next to package.json.
const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

export const AGENT_VERSION: string = pkg.version;
export const AGENT_APP_ID = `ur-agent/${AGENT_VERSION}`;
