// list_bundles: what this server serves (one bundle, or the .ingero files of --dir).
import { z } from 'zod';
import type { ToolDef } from '../tool-kit.ts';

const output = {
  mode: z.enum(['single', 'directory']).describe('single: one bundle, omit the bundle argument; directory: pass bundle to every tool.'),
  bundles: z.array(z.object({ name: z.string().describe('Pass as the bundle argument.'), bytes: z.number().describe('File size in bytes.'), open: z.boolean().describe('Already opened by this server (later calls are faster).') })),
};

export const listBundles: ToolDef<{}, typeof output> = {
  name: 'list_bundles',
  title: 'List bundles',
  description: 'The bundles served; pass a name as bundle to other tools.',
  input: {},
  output,
  run(_args, ctx) {
    return { mode: ctx.registry.dir === null ? 'single' : 'directory', bundles: ctx.registry.list() };
  },
};
