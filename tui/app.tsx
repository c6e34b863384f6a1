// The terminal UI: a tab bar, the active view, and a status bar with the scope and the keys.
// The analysis runs in the background (background-analysis.ts), so the screen shows a loading
// line at once whatever the bundle's size; views that need the results say so until they are ready.
import { Box, Text, useApp, useInput } from 'ink';
import { basename } from 'node:path';
import { useEffect, useMemo, useState } from 'react';
import { formatDuration } from '../cli/format-units.ts';
import { startAnalysis, type Analysis } from './background-analysis.ts';
import { KeptStore, SessionContext, type Session } from './session.ts';
import { fit } from './text.ts';
import { WHOLE_BUNDLE, type Scope, type TraceContext } from './trace-context.ts';
import { useTerminalSize } from './use-terminal-size.ts';
import { VIEWS } from './views/index.ts';
import type { ViewPlugin } from './views/view-plugin.ts';

export interface AppProps {
  /** The opened bundle and the analyzer's results over it. */
  readonly trace: TraceContext;
  /** View shown first (a view id from views/index.ts); Findings by default. */
  readonly initialView?: string;
  /** Bundles with this many events or more are analysed in a child process (see background-analysis.ts). */
  readonly childProcessMinEvents?: number;
}

/** Lines the bars take: tab bar, status bar, and one left free so Ink never scrolls the screen. */
const CHROME_LINES = 3;

const GLOBAL_KEYS: readonly (readonly [string, string])[] = [
  ['1–6', VIEWS.map((v, i) => `${i + 1} ${v.title}`).join(', ')],
  ['Tab / Shift+Tab', 'next or previous view'],
  ['x', "clear an open finding's narrowing (keep the op)"],
  ['?', 'this help (Esc or ? closes it)'],
  ['q / Ctrl+C', 'quit'],
];

export function App({ trace, initialView, childProcessMinEvents }: AppProps) {
  const { exit } = useApp();
  const { columns, rows } = useTerminalSize();
  const [viewIndex, setViewIndex] = useState(() => Math.max(0, VIEWS.findIndex((v) => v.id === initialView)));
  const [helpOpen, setHelpOpen] = useState(false);
  const [scope, setScope] = useState<Scope>(WHOLE_BUNDLE);
  const [analysis, setAnalysis] = useState<Analysis>();
  const [analysisError, setAnalysisError] = useState<string>();
  const store = useMemo(() => new KeptStore(), []);

  // The analysis runs in the background; once it is done, the top finding's op (else the
  // busiest op) becomes the scope unless the user already picked one.
  useEffect(() => {
    const job = startAnalysis(trace, childProcessMinEvents);
    job.done.then(
      (a) => {
        const top = a.report.findings.find((f) => f.op);
        const busiest = [...a.stats.ops].sort((x, y) => y.total_ns - x.total_ns)[0];
        const opId = (top && trace.bundle.opIdsByName(top.op)[0]) ?? busiest?.op_id ?? null;
        setScope((s) => (s.opId === null && s.finding === null ? { opId, finding: null } : s));
        setAnalysis(a);
      },
      (err: unknown) => setAnalysisError(err instanceof Error ? err.message : String(err)),
    );
    return () => job.cancel();
  }, [trace]);

  const show = (id: string) => {
    const i = VIEWS.findIndex((v) => v.id === id);
    if (i >= 0) setViewIndex(i);
  };

  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) exit();
    else if (helpOpen) {
      if (input === '?' || key.escape) setHelpOpen(false);
    } else if (input === '?') setHelpOpen(true);
    else if (/^[1-9]$/.test(input) && Number(input) <= VIEWS.length) setViewIndex(Number(input) - 1);
    else if (key.tab) setViewIndex((i) => (i + (key.shift ? VIEWS.length - 1 : 1)) % VIEWS.length);
    else if (input === 'x' && scope.finding) setScope({ opId: scope.opId, finding: null });
  });

  const view = VIEWS[viewIndex]!;
  const height = Math.max(3, rows - CHROME_LINES);
  const session: Session = { trace, analysis, analysisError, scope, setScope, show, width: columns, height, keysActive: !helpOpen, store };
  return (
    <SessionContext.Provider value={session}>
      <Box flexDirection="column" width={columns}>
        <TabBar path={trace.bundle.path} active={viewIndex} state={analysisError ? 'failed' : analysis ? 'ready' : 'running'} width={columns} />
        <Box flexDirection="column" height={height}>
          {helpOpen ? <Help view={view} width={columns} height={height} /> : <view.Component key={view.id} />}
        </Box>
        <StatusBar session={session} view={view} />
      </Box>
    </SessionContext.Provider>
  );
}

function TabBar({ path, active, state, width }: { readonly path: string; readonly active: number; readonly state: 'running' | 'ready' | 'failed'; readonly width: number }) {
  const tabs = VIEWS.map((v, i) => ` ${i + 1} ${v.title} `);
  const tabsWidth = tabs.reduce((n, t) => n + t.length, 0);
  const note = state === 'ready' ? '' : state === 'failed' ? ' analysis failed ' : ' analysing… ';
  const name = fit(`ingero ${basename(path)}`, Math.max(0, width - tabsWidth - note.length - 2));
  return (
    <Text wrap="truncate-end">
      <Text bold color="cyan">
        {name}{' '}
      </Text>
      {tabs.map((t, i) => (
        <Text key={i} inverse={i === active} bold={i === active}>
          {t}
        </Text>
      ))}
      <Text color={state === 'failed' ? 'red' : 'yellow'}>{note}</Text>
    </Text>
  );
}

function StatusBar({ session, view }: { readonly session: Session; readonly view: ViewPlugin }) {
  const { trace, scope, width } = session;
  const f = scope.finding;
  const scopeText = `${scope.opId === null ? 'all ops' : trace.bundle.opName(scope.opId)}${f ? ` · ${f.kind} · pid ${f.pid} · ${formatDuration(f.from_ns)}→${formatDuration(f.to_ns)} (x clears)` : ''}`;
  return (
    <Text wrap="truncate-end">
      <Text inverse>{fit(` ${scopeText} `, Math.max(10, Math.floor(width / 2)))}</Text>
      <Text dimColor>{fit(` ${view.hints} · Tab/1–6 views · ? help · q quit`, Math.max(0, width - Math.min(Math.max(10, Math.floor(width / 2)), scopeText.length + 2)))}</Text>
    </Text>
  );
}

function Help({ view, width, height }: { readonly view: ViewPlugin; readonly width: number; readonly height: number }) {
  const line = ([k, what]: readonly [string, string]) => fit(`  ${k.padEnd(20)} ${what}`, width);
  const lines = ['Keys everywhere', ...GLOBAL_KEYS.map(line), '', `Keys in ${view.title}`, ...view.help.map(line)];
  return (
    <Box flexDirection="column" height={height}>
      {lines.slice(0, height).map((l, i) => (
        <Text key={i} bold={l.startsWith('Keys')} wrap="truncate-end">
          {l || ' '}
        </Text>
      ))}
    </Box>
  );
}
