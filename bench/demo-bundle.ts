// The synthetic bundles the benches measure on: a demo scenario scaled to about the wanted
// number of events, written once into bench/out (ignored by git) and reused by later runs.
import { existsSync } from 'node:fs';
import { scenarioByName, writeDemoBundle } from '../analyze/index.ts';

/** Events per unit of demo scale, measured (a scale-1 scenario covers 30 simulated seconds). */
const EVENTS_PER_SCALE = { 'cpu-contention': 95_000, healthy: 66_800, 'sync-stall': 103_500 } as const;

export type BenchScenario = keyof typeof EVENTS_PER_SCALE;

/** Writes the scenario's bundle at path (seed 1 unless given) unless it is there already; nodeName stands it for one machine of a fleet. */
export async function ensureDemoBundle(path: string, scenario: BenchScenario, eventsWanted: number, options: { readonly seed?: number; readonly nodeName?: string } = {}): Promise<void> {
  if (existsSync(path)) return;
  const t0 = performance.now();
  const r = await writeDemoBundle(path, scenarioByName(scenario)!, { seed: options.seed ?? 1, scale: eventsWanted / EVENTS_PER_SCALE[scenario], nodeName: options.nodeName });
  console.log(`generated ${path}: ${r.events.toLocaleString('en-US')} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
