// The one-line live status of `ingero record`, for the CLI to redraw in place.
import type { RecordStatus } from './session.ts';

function si(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}

export function formatStatusLine(s: RecordStatus): string {
  const secs = Math.floor(s.elapsedMs / 1000);
  const clock = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
  return `recording ${clock}  ${si(s.eventsPerSecond)} ev/s  ${si(s.events)} events  ${s.dropped} dropped  ${bytes(s.stagingBytes)}  ${s.probes} probes  ${s.pids} process(es)`;
}
