#!/usr/bin/env node
// Entry point: loads the TypeScript CLI through tsx's loader (Node 20 cannot strip types itself).
// tsx is given the repository's tsconfig explicitly: it otherwise looks for one from the current
// directory, so run from anywhere else the .tsx files compiled with the classic JSX runtime
// ("React is not defined" in ingero tui).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../cli/main.ts');
