#!/usr/bin/env node
// Entry point: loads the TypeScript CLI through tsx's loader (Node 20 cannot strip types itself).
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// The repository's tsconfig, wherever the command runs from (its JSX setting loads the TUI).
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../cli/main.ts');
