// The terminal UI: a tab bar, the active view, and a status bar with the scope and the keys.
// The analysis runs in the background (background-analysis.ts), so the screen shows a loading
// line at once whatever the bundle's size; views that need the results say so until they are ready.
// Keys come in through one subscription and are handled one at a time (keys.ts): an open prompt
// or help screen first, then the active view, then the keys that work everywhere.
import { Box, Text, useApp, useInput } from 'ink';
import { basename } from 'node:path';
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { formatDuration } from '../analyze/format-units.ts';
import { CHILD_PROCESS_MIN_EVENTS, startAnalysis, type Analysis } from './background-analysis.ts';
import { parseJump, JUMP_SYNTAX } from './jump-target.ts';
import { KeyHandlers, splitKeys, type Key } from './keys.ts';
import { editLine, lineOf, remember, type LineState } from './line-editor.ts';
import { FILTER_SYNTAX, NO_FILTER, parseFilter, type ListFilter } from './list-filter.ts';
import { filterKey, KeptStore, SessionContext, type Session } from './session.ts';
import { fit, wrap } from './text.ts';
import { WHOLE_BUNDLE, type Scope, type TraceContext } from './trace-context.ts';
import { useTerminalSize } from './use-terminal-size.ts';
import { VIEWS } from './views/index.ts';
import type { ViewPlugin } from './views/view-plugin.ts';

export interface AppProps {
  /** The opened bundle and the analyzer's results over it. */
  readonly trace: TraceContext;
  /** View shown first (a view id from views/index.ts); Findings by default. */
  readonly initialView?: string;
  /** Bundles with this many events or more are analysed (and the Timeline computed) in child processes (see background-analysis.ts). */
  readonly childProcessMinEvents?: number;
  /** Draw in colour (false: monochrome, see colour-mode.ts). */
  readonly colour?: boolean;
}

/** Lines the bars take: tab bar, status bar, and one left free so Ink never scrolls the screen. */
const CHROME_LINES = 3;

/** The filter (`/`) or jump (`g`, `:`) prompt while it is open, with what it last said. */
interface Prompt {
  readonly kind: 'filter' | 'jump';
  readonly line: LineState;
  readonly error?: string;
}

export const GLOBAL_KEYS: readonly (readonly [string, string])[] = [
  [`1–${VIEWS.length}`, VIEWS.map((v, i) => `${i + 1} ${v.title}`).join(', ')],
  ['Tab / Shift+Tab', 'next or previous view'],
  ['/', `filter the current list: ${FILTER_SYNTAX}; Enter applies, Esc cancels, an empty filter clears it`],
  ['g or :', `jump to ${JUMP_SYNTAX} (in Events; in the Timeline and GPU views, the window of a time)`],
  ['↑/↓ in a prompt', 'earlier filters or jumps; ←/→ Home/End Ctrl+U edit the line'],
  ['x', "clear an open finding's narrowing (keep the op)"],
  ['?', 'this help (Esc or ? closes it)'],
  ['q / Ctrl+C', 'quit (in the SQL console while typing: Esc first, or Ctrl+C)'],
];

export function App({ trace, initialView, childProcessMinEvents = CHILD_PROCESS_MIN_EVENTS, colour = true }: AppProps) {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize();
  const store = useMemo(() => new KeptStore(), []);
  const keys = useMemo(() => new KeyHandlers(), []);
  const kept = <T,>(key: string, initial: T) => useSyncExternalStore(store.subscribe, () => store.get(key, initial));
  const initialIndex = Math.max(0, VIEWS.findIndex((v) => v.id === initialView));
  const viewIndex = kept('app.view', initialIndex);
  const helpOpen = kept('app.help', false);
  const prompt = kept<Prompt | null>('app.prompt', null);
  const note = kept('app.note', '');
  const scope = kept<Scope>('scope', WHOLE_BUNDLE);
  const analysis = kept<Analysis | undefined>('app.analysis', undefined);
  const analysisError = kept<string | undefined>('app.analysisError', undefined);

  // The analysis runs in the background. When it is done nothing on screen moves: views that
  // need an op and have none yet (the Timeline) show the top finding's op until one is picked.
  useEffect(() => {
    const job = startAnalysis(trace, childProcessMinEvents);
    job.done.then(
      (a) => store.set('app.analysis', a),
      (err: unknown) => store.set('app.analysisError', err instanceof Error ? err.message : String(err)),
    );
    return () => {
      job.cancel();
      store.close();
    };
  }, [trace]);

  const view = VIEWS[viewIndex]!;
  const height = Math.max(3, rows - CHROME_LINES);
  const session: Session = {
    trace,
    analysis,
    analysisError,
    scope,
    currentScope: () => store.get('scope', WHOLE_BUNDLE),
    setScope: (s) => store.set('scope', s),
    show: (id) => {
      const i = VIEWS.findIndex((v) => v.id === id);
      if (i >= 0) store.set('app.view', i);
    },
    width: columns,
    height,
    keysActive: !helpOpen && !prompt,
    keys,
    store,
    colour,
    childProcessMinEvents,
  };
  const sessionRef = useRef(session);
  sessionRef.current = session;

  const onKey = useCallback((input: string, key: Key) => {
    const s = sessionRef.current;
    const activeView = VIEWS[store.get('app.view', initialIndex)]!;
    const open = store.get<Prompt | null>('app.prompt', null);
    if (key.ctrl && input === 'c') return exit();
    if (open) return promptKey(s, activeView, open, input, key);
    if (store.get('app.help', false)) {
      if (input === '?' || key.escape) store.set('app.help', false);
      else if (input === 'q') exit();
      return;
    }
    // Only the active view's handlers are registered (they unregister while a prompt or help is open).
    if (keys.dispatch(input, key)) return;
    store.set('app.note', '');
    if (input === 'q') exit();
    else if (input === '?') store.set('app.help', true);
    else if (/^[1-9]$/.test(input) && Number(input) <= VIEWS.length) store.set('app.view', Number(input) - 1);
    else if (key.tab) store.set('app.view', (store.get('app.view', initialIndex) + (key.shift ? VIEWS.length - 1 : 1)) % VIEWS.length);
    else if (input === 'x' && s.currentScope().finding) s.setScope({ opId: s.currentScope().opId, finding: null });
    else if (input === '/') {
      if (!activeView.filters) store.set('app.note', `${activeView.title} has no list to filter`);
      else store.set('app.prompt', { kind: 'filter', line: lineOf(store.get<ListFilter>(filterKey(activeView.id), NO_FILTER).text, history(store, 'filter').length) });
    } else if (input === 'g' || input === ':') store.set('app.prompt', { kind: 'jump', line: lineOf('', history(store, 'jump').length) });
  }, []);

  useInput((input, key) => {
    for (const [i, k] of splitKeys(input, key)) onKey(i, k);
  });

  return (
    <SessionContext.Provider value={session}>
      <Box flexDirection="column" width={columns}>
        <TabBar path={trace.bundle.path} active={viewIndex} state={analysisError ? 'failed' : analysis ? 'ready' : 'running'} width={columns} colour={colour} />
        <Box flexDirection="column" height={height}>
          {helpOpen ? <Help view={view} width={columns} height={height} /> : <view.Component key={view.id} />}
        </Box>
        {prompt ? <PromptLine prompt={prompt} view={view} width={columns} /> : <StatusBar session={session} view={view} note={note} />}
      </Box>
    </SessionContext.Provider>
  );
}

function history(store: KeptStore, kind: Prompt['kind']): string[] {
  return store.get<string[]>(`app.history.${kind}`, []);
}

/** A key while the filter or jump prompt is open: edit, walk the history, apply or cancel. */
function promptKey(s: Session, view: ViewPlugin, p: Prompt, input: string, key: Key): void {
  const { store } = s;
  const past = history(store, p.kind);
  if (key.escape) return store.set('app.prompt', null);
  if (!key.return) {
    const line = editLine(p.line, input, key, past);
    if (line) store.set('app.prompt', { kind: p.kind, line });
    return;
  }
  const text = p.line.text;
  if (p.kind === 'filter') {
    const f = parseFilter(text);
    if ('error' in f) return store.set('app.prompt', { ...p, error: f.error });
    store.set(filterKey(view.id), f.text ? f : NO_FILTER);
    store.set('app.note', f.text ? `filter: ${f.text}` : 'filter cleared');
  } else {
    const target = parseJump(text);
    if ('error' in target) return store.set('app.prompt', { ...p, error: target.error });
    const handler = view.jump ?? VIEWS.find((v) => v.id === 'events')!.jump!;
    if (!view.jump) s.show('events');
    store.set('app.note', handler(s, target) ?? '');
  }
  store.set(`app.history.${p.kind}`, remember(past, text));
  store.set('app.prompt', null);
}

function PromptLine({ prompt, view, width }: { readonly prompt: Prompt; readonly view: ViewPlugin; readonly width: number }) {
  const lead = prompt.kind === 'filter' ? `filter ${view.title}: /` : 'jump to: ';
  const { text, at } = prompt.line;
  const room = Math.max(1, width - lead.length - 1);
  const start = Math.max(0, at - room + 1);
  const shown = fit(text.slice(start), room);
  const caret = at - start;
  const hint = prompt.error ?? (prompt.kind === 'filter' ? FILTER_SYNTAX : JUMP_SYNTAX);
  return (
    <Text wrap="truncate-end">
      <Text bold>{lead}</Text>
      {shown.slice(0, caret)}
      <Text inverse>{shown[caret] ?? ' '}</Text>
      {shown.slice(caret + 1)}
      <Text dimColor> {fit(`${prompt.error ? '' : 'Enter · Esc · '}${hint}`, Math.max(0, width - lead.length - shown.length - 2))}</Text>
    </Text>
  );
}

function TabBar({ path, active, state, width, colour }: { readonly path: string; readonly active: number; readonly state: 'running' | 'ready' | 'failed'; readonly width: number; readonly colour: boolean }) {
  const full = VIEWS.map((v, i) => ` ${i + 1} ${v.title} `);
  // Titles cut to four letters only when the full ones leave too little room for the file name.
  const tabs = width - full.join('').length >= 14 ? full : VIEWS.map((v, i) => ` ${i + 1} ${v.title.slice(0, 4)} `);
  const tabsWidth = tabs.reduce((n, t) => n + t.length, 0);
  const note = state === 'ready' ? '' : state === 'failed' ? ' analysis failed ' : ' analysing… ';
  const name = fit(`ingero ${basename(path)}`, Math.max(0, width - tabsWidth - note.length - 2));
  return (
    <Text wrap="truncate-end">
      <Text bold color={colour ? 'cyan' : undefined}>
        {name}{' '}
      </Text>
      {tabs.map((t, i) => (
        <Text key={i} inverse={i === active} bold={i === active}>
          {t}
        </Text>
      ))}
      <Text color={colour ? (state === 'failed' ? 'red' : 'yellow') : undefined}>{note}</Text>
    </Text>
  );
}

function StatusBar({ session, view, note }: { readonly session: Session; readonly view: ViewPlugin; readonly note: string }) {
  const { trace, scope, width, store } = session;
  const f = scope.finding;
  const filter = store.get<ListFilter>(filterKey(view.id), NO_FILTER);
  const scopeText = `${scope.opId === null ? 'all ops' : trace.bundle.opName(scope.opId)}${f ? ` · ${f.kind} · pid ${f.pid} · ${formatDuration(f.from_ns)}→${formatDuration(f.to_ns)} (x clears)` : ''}${filter.text ? ` · /${filter.text}` : ''}`;
  const left = Math.min(Math.max(10, Math.floor(width / 2)), scopeText.length + 2);
  return (
    <Text wrap="truncate-end">
      <Text inverse>{fit(` ${scopeText} `, left)}</Text>
      <Text dimColor={!note} bold={Boolean(note)}>
        {fit(` ${note || `? help · q quit · ${view.hints}${view.filters ? ' · / filter' : ''} · g jump`}`, Math.max(0, width - left))}
      </Text>
    </Text>
  );
}

function Help({ view, width, height }: { readonly view: ViewPlugin; readonly width: number; readonly height: number }) {
  const line = ([k, what]: readonly [string, string]) => `  ${k.padEnd(20)} ${what}`;
  const own: (readonly [string, string])[] = [...view.help];
  if (view.filters) own.push(['/', `filters: ${view.filters}`]);
  const text = ['Keys everywhere', ...GLOBAL_KEYS.map(line), '', `Keys in ${view.title}`, ...own.map(line)];
  // Wrapped, so a narrow terminal still shows every key (long lines continue indented).
  const lines = text.flatMap((l) => wrap(l, width, ' '.repeat(Math.min(23, Math.floor(width / 3)))));
  const shown = lines.length > height ? [...lines.slice(0, height - 1), fit(`… ${lines.length - height + 1} more lines: make the terminal taller`, width)] : lines;
  return (
    <Box flexDirection="column" height={height}>
      {shown.map((l, i) => (
        <Text key={i} bold={l.startsWith('Keys')} wrap="truncate-end">
          {l || ' '}
        </Text>
      ))}
    </Box>
  );
}
