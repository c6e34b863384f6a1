// ingero demo: writes a synthetic bundle whose root cause is known, so that people without a
// GPU can try every command, and so that the analyzer has a labelled test set.
import { BundleWriter, opId, type SealResult } from '../../format/index.ts';
import { ImportLikeDegrader } from './degrade.ts';
import { Random } from './random.ts';
import { AS_WRITTEN, drawVariation, SCENARIOS, scenarioByName, scenarioCauses, type Scenario } from './scenarios.ts';
import { S, World } from './world.ts';

export { SCENARIOS, scenarioByName, scenarioCauses, type Scenario };

export interface DemoOptions {
  readonly seed?: number;
  /** Multiplies the simulated time (and so the event count); 1 gives 12–30 s per scenario. */
  readonly scale?: number;
  /** Version string recorded as the producer version. */
  readonly version?: string;
  readonly compressionLevel?: number;
  /** Store the events the way an Ingero import does (analyze/demo/degrade.ts): sampled, counted, no prev_state. */
  readonly importLike?: boolean;
  /** Node (and host) name, so that demo bundles can stand for the machines of a fleet; default demo-gpu-01. */
  readonly nodeName?: string;
  /** Vary the fault's intensity and onset and the background noise with the seed (the labelled corpus); default as written. */
  readonly vary?: boolean;
}

export interface DemoResult extends SealResult {
  readonly scenario: string;
  readonly events: number;
}

/** Fixed origin (2026-03-02T09:00:00Z) so that the same seed gives the same bytes of data. */
const ORIGIN_UNIX_NS = 1772442000000000000n;
const WINDOW = 0.25 * S;

export async function writeDemoBundle(outPath: string, scenario: Scenario, opts: DemoOptions = {}): Promise<DemoResult> {
  const seed = opts.seed ?? 1;
  const scale = opts.scale ?? 1;
  const writer = BundleWriter.create(outPath, {
    originUnixNs: ORIGIN_UNIX_NS,
    producer: { name: 'ingero', version: opts.version ?? '0', command: 'demo' },
    nodeName: opts.nodeName ?? HOST['host.hostname'] as string,
    compressionLevel: opts.compressionLevel,
  });
  try {
    const world = new World(writer, new Random(seed));
    const degrader = opts.importLike ? new ImportLikeDegrader() : null;
    if (degrader) world.store = (e) => degrader.accept(e);
    const end = scenario.seconds * scale * S;
    writer.setMetadata('demo.scenario', scenario.name);
    writer.setMetadata('demo.root_cause', scenario.rootCause ?? 'none');
    writer.setMetadata('demo.description', scenario.description);
    writer.setMetadata('demo.seed', seed);
    writer.setMetadata('demo.synthetic', true);
    if (opts.importLike) writer.setMetadata('demo.import_like', true);
    for (const [k, v] of Object.entries(HOST)) writer.setMetadata(k, v);
    if (opts.nodeName !== undefined) writer.setMetadata('host.hostname', opts.nodeName);
    // Drawn from a generator of its own: the scenario's events keep the seed's stream.
    const variation = opts.vary ? drawVariation(new Random(seed * 7919 + 104729)) : AS_WRITTEN;
    if (opts.vary) for (const [k, x] of Object.entries(variation)) writer.setMetadata(`demo.variation.${k}`, Math.round(x * 1000) / 1000);
    if (scenario.secondCause) writer.setMetadata('demo.second_cause', scenario.secondCause);
    const setup = scenario.build(world, writer, end, variation);
    for (let t = WINDOW; t < setup.end + WINDOW; t += WINDOW) {
      for (const a of setup.actors) a.runUntil(t);
      world.flushBefore(t);
    }
    world.flushBefore(Infinity);
    degrader?.finish(writer);
    writer.addCaptureLoss({ probe: 'demo', source_id: null, emitted: world.events, dropped: 0, note: 'synthetic data: nothing was dropped' });
    const sealed = await writer.seal();
    return { ...sealed, scenario: scenario.name, events: world.events };
  } catch (err) {
    writer.abort();
    throw err;
  }
}

/** A plausible single-GPU training box; demo.* keys mark the bundle as synthetic. */
const HOST: Record<string, unknown> = {
  'host.hostname': 'demo-gpu-01',
  'host.kernel': '6.8.0-49-generic',
  'host.os': 'Ubuntu 22.04.5 LTS',
  'host.cpu_model': 'AMD EPYC 7713 64-Core Processor',
  'host.cpus': 8,
  'host.memory_bytes': 549755813888,
  'gpu.model': 'NVIDIA A100-SXM4-80GB',
  'gpu.count': 1,
  'gpu.driver_version': '550.127.05',
  'cuda.runtime_version': '12.4',
  'recorder.ops': ['cudaMalloc', 'cudaFree', 'cudaLaunchKernel', 'cudaMemcpy', 'cudaMemcpyAsync', 'cudaStreamSynchronize', 'cudaDeviceSynchronize', 'sched_switch', 'mm_page_alloc', 'oom_kill', 'process_fork', 'process_exec', 'process_exit', 'block_write'].map((n) => ({ name: n, op_id: opId(n) })),
};
