import { createRequire } from 'node:module';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** tapgate's version, from package.json. */
export const version: string = pkg.version;
