// What `/` filters a list by: "op:cudaMemcpy pid:1234 tid:1240 >1ms sync" — op name parts,
// process and thread ids, a minimum duration (events only; ingero's time grammar, a bare number
// in seconds) and words found in the row's text.
// Every term must match; several pid: (or tid:) terms mean any of those ids.
import { durationNs } from '../analyze/format-units.ts';

export interface ListFilter {
  /** The text as typed (shown in the header, kept for editing). */
  readonly text: string;
  /** Lower-cased parts of an op name. */
  readonly ops: readonly string[];
  readonly pids: readonly number[];
  readonly tids: readonly number[];
  readonly minDurNs: number | null;
  /** Lower-cased words each row's text must contain. */
  readonly words: readonly string[];
}

export const NO_FILTER: ListFilter = { text: '', ops: [], pids: [], tids: [], minDurNs: null, words: [] };

export const FILTER_SYNTAX = 'op:NAME pid:N tid:N >DURATION (events) and words, all must match';

/** The filter a prompt's text describes, or why it is not one. */
export function parseFilter(text: string): ListFilter | { readonly error: string } {
  const ops: string[] = [];
  const pids: number[] = [];
  const tids: number[] = [];
  const words: string[] = [];
  let minDurNs: number | null = null;
  for (const term of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^(op|pid|tid|dur|min)?(>=|[:=>])(.*)$/i.exec(term);
    const field = m?.[1]?.toLowerCase();
    const value = m?.[3] ?? '';
    if (m && (field === 'pid' || field === 'tid')) {
      if (!/^\d+$/.test(value)) return { error: `${field}: takes a number, got ${JSON.stringify(value)}` };
      (field === 'pid' ? pids : tids).push(Number(value));
    } else if (m && field === 'op') {
      if (!value) return { error: 'op: takes (part of) an op name' };
      ops.push(value.toLowerCase());
    } else if (m && (field === 'dur' || field === 'min' || (!field && m[2]!.startsWith('>')))) {
      const ns = durationNs(value);
      if (ns === null) return { error: `a minimum duration is written like >1ms, >250us or >2s; got ${JSON.stringify(term)}` };
      minDurNs = Number(ns);
    } else {
      words.push(term.toLowerCase());
    }
  }
  return { text: text.trim(), ops, pids, tids, minDurNs, words };
}

/** What a list row offers the filter: its op, ids, duration and the text shown for it. */
export interface FilterableRow {
  readonly op?: string;
  readonly pid?: number;
  readonly tid?: number;
  readonly durNs?: number;
  readonly text: string;
}

export function matchesFilter(f: ListFilter, r: FilterableRow): boolean {
  const op = r.op?.toLowerCase() ?? '';
  const text = r.text.toLowerCase();
  return (
    f.ops.every((o) => op.includes(o)) &&
    (!f.pids.length || (r.pid !== undefined && f.pids.includes(r.pid))) &&
    (!f.tids.length || (r.tid !== undefined && f.tids.includes(r.tid))) &&
    (f.minDurNs === null || (r.durNs !== undefined && r.durNs >= f.minDurNs)) &&
    f.words.every((w) => text.includes(w))
  );
}

export function isEmptyFilter(f: ListFilter): boolean {
  return !f.ops.length && !f.pids.length && !f.tids.length && f.minDurNs === null && !f.words.length;
}
