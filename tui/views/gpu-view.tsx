// GPU: one track per device of each node, how busy it was in each time window (gpu-tracks.ts,
// busy as analyze/gpu-activity.ts counts it), over the same windows of the whole bundle as the
// Timeline; windows with no GPU work at all inside a device's active span are dotted, so idle
// gaps show. Only bundles with GPU-side records (PyTorch profiler imports) have tracks.
import { Box, Text } from 'ink';
import { GPU_WORK_OPS } from '../../analyze/gpu-activity.ts';
import type { GpuDeviceActivity } from '../../analyze/index.ts';
import { formatDuration } from '../../analyze/format-units.ts';
import type { GpuTrack, GpuTracks } from '../gpu-tracks.ts';
import type { JumpTarget } from '../jump-target.ts';
import { NO_FILTER } from '../list-filter.ts';
import { filterKey, useColour, useDeferred, useKeptState, useSession, useViewKeys, type Session } from '../session.ts';
import { fit } from '../text.ts';
import { jumpToWindow } from '../window-jump.ts';
import { eventsView } from './events-view.tsx';
import type { ViewPlugin } from './view-plugin.ts';

const LEVELS = '▁▂▃▄▅▆▇█';
/** A window inside the device's active span with no GPU work at all. */
const IDLE = '·';
/** Lines under the tracks: cursor, time axis, two on the device, one on the window. */
const FOOTER_LINES = 5;

/** The cell of one window: its busy share in eighths (any work shows at least ▁). */
export function busyCell(busyNs: number, windowNs: number, inSpan: boolean): string {
  if (busyNs <= 0) return inSpan ? IDLE : ' ';
  const eighths = Math.max(1, Math.min(8, Math.round((busyNs / windowNs) * 8)));
  return LEVELS[eighths - 1]!;
}

/** A device's track: one cell per window (busyCell). */
export function trackLine(t: GpuTrack, tracks: GpuTracks): string {
  let line = '';
  for (let i = 0; i < tracks.windows; i++) {
    const start = tracks.from_ns + i * tracks.window_ns;
    line += busyCell(t.busy[i]!, tracks.window_ns, start + tracks.window_ns > t.from_ns && start < t.to_ns);
  }
  return line;
}

function plural(n: number, what: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? what : what === 'copy' ? 'copies' : `${what}s`}`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)} %`;
}

/** Where the tracks start: the longest device label, at most 16 cells. */
function labelWidth(labels: readonly string[]): number {
  return Math.min(16, Math.max(6, ...labels.map((l) => l.length)));
}

/** Windows across the tracks at this terminal width, after the device labels. */
export function trackWindows(width: number, labels: readonly string[]): number {
  return Math.max(8, width - labelWidth(labels) - 1);
}

/** "GPU 0", or "node GPU 0" when the bundle's GPUs are on several nodes (node names from stats.gpus). */
function deviceLabel(gpus: readonly GpuDeviceActivity[], t: Pick<GpuTrack, 'node_id' | 'device'>): string {
  const device = t.device < 0 ? 'GPU ?' : `GPU ${t.device}`;
  const several = gpus.some((g) => g.node_id !== gpus[0]!.node_id);
  return several ? `${gpus.find((g) => g.node_id === t.node_id)?.node ?? `node ${t.node_id}`} ${device}` : device;
}

/** The device list once the analysis is done (its stats.gpus): what a key may use before the tracks are read. */
function devices(s: Pick<Session, 'analysis'>): readonly GpuDeviceActivity[] | undefined {
  return s.analysis?.stats.gpus;
}

function layout(s: Session, gpus: readonly GpuDeviceActivity[]): { label: number; windows: number } {
  const labels = gpus.map((g) => deviceLabel(gpus, g));
  return { label: labelWidth(labels), windows: trackWindows(s.width, labels) };
}

/** Moves the cursor to the window of a time or of an event's start. */
function jump(s: Session, target: JumpTarget): string | null {
  const gpus = devices(s);
  if (!gpus?.length) return s.analysis ? 'this bundle has no GPU activity to jump in' : 'wait for the analysis (the tab bar says when it is done)';
  return jumpToWindow(s, target, { fromNs: s.trace.bundle.startNs(), toNs: s.trace.bundle.endNs(), count: layout(s, gpus).windows, cursorKey: 'gpu.cursor' });
}

/** Opens Events on the kernels from the start of a window on (all devices; each row names its device and stream). */
function kernelsAt(s: Session, tracks: GpuTracks, window: number): string {
  s.setScope({ opId: GPU_WORK_OPS.kernel, finding: null });
  s.store.set('events.allOps', false);
  s.store.set(filterKey('events'), NO_FILTER);
  s.show('events');
  const at = tracks.from_ns + window * tracks.window_ns;
  return eventsView.jump!(s, { kind: 'time', ns: at }) ?? `kernels from ${formatDuration(at)} on, every device (ARGS names each one's device and stream)`;
}

function GpuView() {
  const session = useSession();
  const { trace, width, height, analysis, analysisError } = session;
  const colour = useColour();
  const gpus = devices(session);
  const { label, windows } = layout(session, gpus ?? []);
  const [cursorAt, setCursorAt] = useKeptState<number | null>('gpu.cursor', null);
  const [deviceAt, setDeviceAt] = useKeptState('gpu.device', 0);
  // The tracks are read only once the analysis says there is GPU work: a bundle without any
  // would otherwise be scanned in full for nothing.
  const key = gpus?.length ? `gpu:${windows}` : 'gpu:none';
  const data = useDeferred(key, () => (gpus?.length ? trace.gpuTracksOf(windows) : null));
  const tracks = data.value ?? null;
  const all = tracks?.tracks ?? [];
  const device = Math.max(0, Math.min(all.length - 1, deviceAt));
  const selected = all[device];
  const busiest = selected ? selected.busy.reduce((best, v, i, a) => (v > a[best]! ? i : best), 0) : 0;
  const cursor = Math.max(0, Math.min(windows - 1, cursorAt ?? busiest));
  const clamp = (i: number) => Math.max(0, Math.min(windows - 1, i));
  useViewKeys((input, k) => {
    if (k.leftArrow || input === 'h') setCursorAt((c) => clamp((c ?? busiest) - 1));
    else if (k.rightArrow || input === 'l') setCursorAt((c) => clamp((c ?? busiest) + 1));
    else if (k.upArrow || input === 'k') setDeviceAt((d) => Math.max(0, Math.min(all.length - 1, d) - 1));
    else if (k.downArrow || input === 'j') setDeviceAt((d) => Math.min(Math.max(0, all.length - 1), d + 1));
    else if (k.home) setCursorAt(0);
    else if (k.end || input === 'G') setCursorAt(windows - 1);
    else if (input === 'p') setCursorAt(null);
    else if (k.return && tracks) session.store.set('app.note', kernelsAt(session, tracks, session.store.get<number | null>('gpu.cursor', null) ?? cursor));
    else return false;
    return true;
  });
  if (analysisError) return <Text color={colour('red')}>{fit(`The analysis failed (${analysisError}): the GPU devices are not known.`, width)}</Text>;
  if (!analysis) return <Text>{fit('Waiting for the analysis to list the GPUs…', width)}</Text>;
  if (!gpus?.length) {
    return (
      <Box flexDirection="column">
        <Text>{fit('No GPU activity in this bundle: it has no GPU-side kernel, memcpy or memset records.', width)}</Text>
        <Text dimColor>{fit('They come from PyTorch profiler (Kineto) traces: ingero import trace.json -o run.ingero. The CUDA calls the host made are in Ops and Events.', width)}</Text>
      </Box>
    );
  }
  if (data.error) return <Text color={colour('red')}>{fit(`Reading the GPU activity failed: ${data.error}`, width)}</Text>;
  if (!tracks) return <Text>{fit(`Reading the GPU activity of ${gpus.length} device${gpus.length === 1 ? '' : 's'}…`, width)}</Text>;
  const rows = Math.max(1, height - 1 - FOOTER_LINES);
  const top = Math.max(0, Math.min(all.length - rows, device - Math.floor(rows / 2)));
  const shown = all.slice(top, top + rows);
  const stats = selected && gpus.find((g) => g.node_id === selected.node_id && g.device === selected.device);
  const windowStart = tracks.from_ns + cursor * tracks.window_ns;
  const to = tracks.from_ns + tracks.windows * tracks.window_ns;
  const deviceLine = !selected
    ? ''
    : `${deviceLabel(gpus, selected)}: busy ${formatDuration(selected.busy_ns)} of ${formatDuration(selected.to_ns - selected.from_ns)} active (${percent(stats?.busy_share ?? 0)})${selected.longest_gap ? ` · longest idle gap ${formatDuration(selected.longest_gap[1] - selected.longest_gap[0])} at ${formatDuration(selected.longest_gap[0])}` : ' · no idle gap'}`;
  const workLine = stats ? `  ${plural(stats.kernel.count, 'kernel')}, ${plural(stats.memcpy.count, 'copy')}, ${plural(stats.memset.count, 'set')} on ${plural(stats.streams.length, 'stream')}` : '';
  const busyHere = selected?.busy[cursor] ?? 0;
  const windowLine = `window ${formatDuration(windowStart)} +${formatDuration(tracks.window_ns)}: ${busyHere > 0 ? `busy ${formatDuration(busyHere)} (${percent(busyHere / tracks.window_ns)})` : 'idle'}, ${plural(selected?.kernels[cursor] ?? 0, 'kernel')} started — Enter lists them in Events`;
  return (
    <Box flexDirection="column">
      <Text bold wrap="truncate-end">
        {fit(`GPU busy share per ${formatDuration(tracks.window_ns)} window (${IDLE} = no GPU work; busy: kernels, copies and sets, overlapping streams once)`, width)}
      </Text>
      {shown.map((t, r) => {
        const i = top + r;
        return (
          <Text key={`${t.node_id}:${t.device}`} wrap="truncate-end">
            <Text inverse={i === device}>{fit(deviceLabel(gpus, t), label).padEnd(label)}</Text> <Text color={colour('green')}>{trackLine(t, tracks)}</Text>
          </Text>
        );
      })}
      <Text wrap="truncate-end">{`${' '.repeat(label + 1 + cursor)}^`}</Text>
      <Text dimColor wrap="truncate-end">
        {fit(`${' '.repeat(label + 1)}${formatDuration(tracks.from_ns)}`.padEnd(width - formatDuration(to).length) + formatDuration(to), width)}
      </Text>
      <Text wrap="truncate-end">{fit(deviceLine, width)}</Text>
      <Text wrap="truncate-end">{fit(workLine, width)}</Text>
      <Text wrap="truncate-end">{fit(windowLine, width)}</Text>
    </Box>
  );
}

export const gpuView: ViewPlugin = {
  id: 'gpu',
  title: 'GPU',
  hints: '←/→ window · ↑/↓ device · Enter kernels',
  help: [
    ['←/→ h/l', 'move the cursor one window; the lines below give the selected device and window'],
    ['↑/↓ j/k', 'select a device (node and GPU)'],
    ['Home / End G', 'first or last window'],
    ['p', "back to the selected device's busiest window"],
    ['Enter', 'Events on the kernels from the cursor window on: name, device, stream, duration, and (in the detail) the call that launched each'],
    ['g or :', 'cursor to the window of a time or an event (first, last)'],
    ['cells', `${LEVELS[0]}…${LEVELS[7]} share of the window the GPU was busy, ${IDLE} no GPU work at all (an idle gap), blank before the device's first or after its last work`],
  ],
  jump,
  Component: GpuView,
};
