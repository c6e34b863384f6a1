// Times and durations as a person types them in the filter and jump prompts, read the way
// explain prints them (formatDuration: "13.37 s", "1 min 5 s", "250.0 µs"), unit optional
// where the prompt says what a bare number means.

const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9, sec: 1e9, m: 60e9, min: 60e9, h: 3600e9 };

/** ns from "13.37s", "13.37 s", "250 µs", "1 min 5 s"; a bare number is in `bareUnit`; null if not a time. */
export function parseNs(text: string, bareUnit: keyof typeof UNIT_NS | null = null): number | null {
  const t = text.trim().toLowerCase();
  const parts = [...t.matchAll(/(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|sec|s|min|m|h)?\s*/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== t.replace(/^\s+/, '')) return null;
  let ns = 0;
  for (const p of parts) {
    const unit = p[2] ?? (parts.length === 1 ? bareUnit : null);
    if (!unit) return null;
    ns += Number(p[1]) * UNIT_NS[unit]!;
  }
  return Number.isFinite(ns) ? Math.round(ns) : null;
}
