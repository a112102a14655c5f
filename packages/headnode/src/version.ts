import { createRequire } from 'node:module';

// Both src/ and dist/ sit next to package.json.
const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

export const HEADNODE_VERSION: string = pkg.version;
export const HEADNODE_APP_ID = `ur-headnode/${HEADNODE_VERSION}`;
