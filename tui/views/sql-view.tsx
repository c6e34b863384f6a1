// SQL: one read-only statement over the bundle database at a time (the statement runner of
// `ingero sql`: its guard and time limit, in a child process; sql-console.ts), its rows in a table that scrolls both
// ways, and the statements run before on ↑/↓. While the line is being typed every printable key
// is text; Esc leaves the line for the table (then q, digits and the other keys work again).
import { Box, Text } from 'ink';
import { editLine, lineOf, remember, type LineState } from '../line-editor.ts';
import { ScrollList } from '../scroll-list.tsx';
import { SQL_LIMITS, startStatement, type SqlJob, type SqlReply } from '../sql-console.ts';
import { useColour, useKeptState, useSession, useViewKeys, type Session } from '../session.ts';
import { fit } from '../text.ts';
import { VIEW_IDS } from '../view-ids.ts';
import type { ViewPlugin } from './view-plugin.ts';

const EXAMPLE = 'SELECT op_id, count(*) AS n, sum(dur_ns) AS total_ns FROM events GROUP BY op_id ORDER BY total_ns DESC';

/** Widest a result column gets; wider values are cut (the whole row reads with ingero sql). */
const MAX_COLUMN = 40;

interface Result {
  readonly sql: string;
  readonly reply: SqlReply;
}

function run(s: Session, sql: string): void {
  const { store, trace } = s;
  if (!sql.trim()) return store.set('app.note', `type a statement, e.g. ${EXAMPLE}`);
  store.get<SqlJob | null>('sql.job', null)?.cancel();
  const job = startStatement(trace.bundle.databasePath, sql);
  store.set('sql.job', job);
  store.onClose(job.cancel);
  store.set('sql.history', remember(store.get<string[]>('sql.history', []), sql));
  store.set('sql.line', lineOf(sql, store.get<string[]>('sql.history', []).length));
  const started = performance.now();
  store.set('sql.started', started);
  void job.done.then((reply) => {
    if (store.get('sql.job', null) !== job) return;
    store.set('sql.job', null);
    store.set('sql.result', { sql, reply } satisfies Result);
    store.set('sql.row', 0);
    store.set('sql.column', 0);
  });
}

/** Column widths for the result: each as wide as its widest shown value, within bounds. */
function widthsOf(columns: readonly string[], rows: readonly string[][]): number[] {
  return columns.map((c, i) => Math.min(MAX_COLUMN, Math.max(c.length, ...rows.slice(0, 500).map((r) => r[i]!.length))));
}

function SqlView() {
  const session = useSession();
  const { width, height, store } = session;
  const colour = useColour();
  const [history] = useKeptState<string[]>('sql.history', []);
  const [line] = useKeptState<LineState>('sql.line', lineOf('', 0));
  const [editing, setEditing] = useKeptState('sql.editing', true);
  const [job] = useKeptState<SqlJob | null>('sql.job', null);
  const [result] = useKeptState<Result | null>('sql.result', null);
  const [rowAt, setRowAt] = useKeptState('sql.row', 0);
  const [column, setColumn] = useKeptState('sql.column', 0);
  const reply = result?.reply;
  const rows = reply?.ok ? reply.rows : [];
  const columns = reply?.ok ? reply.columns : [];
  const tableHeight = Math.max(1, height - 4);
  const clampRow = (n: number) => Math.max(0, Math.min(Math.max(0, rows.length - 1), n));
  useViewKeys((input, key) => {
    const editingNow = store.get('sql.editing', true);
    if (key.pageDown) setRowAt((r) => clampRow(r + tableHeight));
    else if (key.pageUp) setRowAt((r) => clampRow(r - tableHeight));
    else if (editingNow) {
      if (key.escape) {
        if (store.get<SqlJob | null>('sql.job', null)) store.get<SqlJob>('sql.job', null!).cancel();
        else setEditing(false);
        return true;
      }
      if (key.return) {
        run(session, store.get<LineState>('sql.line', lineOf('')).text);
        return true;
      }
      const next = editLine(store.get<LineState>('sql.line', lineOf('')), input, key, store.get<string[]>('sql.history', []));
      if (!next) return false;
      store.set('sql.line', next);
    } else if (key.return || input === 'i' || input === 'e') setEditing(true);
    else if (key.escape && store.get<SqlJob | null>('sql.job', null)) store.get<SqlJob>('sql.job', null!).cancel();
    else if (key.downArrow || input === 'j') setRowAt((r) => clampRow(r + 1));
    else if (key.upArrow || input === 'k') setRowAt((r) => clampRow(r - 1));
    else if (key.home) setRowAt(0);
    else if (key.end || input === 'G') setRowAt(clampRow(Number.MAX_SAFE_INTEGER));
    else if (key.rightArrow || input === 'l') setColumn((c) => Math.max(0, Math.min(columns.length - 1, c + 1)));
    else if (key.leftArrow || input === 'h') setColumn((c) => Math.max(0, c - 1));
    else return false;
    return true;
  });
  const lead = 'SQL> ';
  const room = Math.max(1, width - lead.length - 1);
  const start = Math.max(0, line.at - room + 1);
  const shown = fit(line.text.slice(start), room);
  const caret = line.at - start;
  const widths = widthsOf(columns, rows);
  const visible = widths.map((_, i) => i).filter((i) => i >= column);
  const cells = (values: readonly string[], numeric: readonly boolean[] = []) => {
    let out = '';
    for (const i of visible) {
      const w = widths[i]!;
      const v = fit(values[i] ?? '', w);
      const cell = numeric[i] ? v.padStart(w) : v.padEnd(w);
      if (out.length + cell.length > width) break;
      out += (out ? ' ' : '') + cell;
    }
    return out;
  };
  const status = job
    ? `running… (stopped after ${SQL_LIMITS.timeoutMs / 1000} s; Esc stops it now)`
    : !reply
      ? `one read-only statement (SELECT, WITH …), stopped after ${SQL_LIMITS.timeoutMs / 1000} s — e.g. ${EXAMPLE}`
      : reply.ok
        ? `${reply.rows.length.toLocaleString('en-US')}${reply.more ? ' (stopped there: the row or size cap; add LIMIT/OFFSET for more)' : ''} row${reply.rows.length === 1 ? '' : 's'} in ${reply.elapsedMs.toFixed(0)} ms${rows.length ? ` · row ${rowAt + 1}` : ''}${column ? ` · from column ${column + 1} of ${columns.length}` : ''}`
        : reply.error;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>{lead}</Text>
        {editing ? (
          <>
            {shown.slice(0, caret)}
            <Text inverse>{shown[caret] ?? ' '}</Text>
            {shown.slice(caret + 1)}
          </>
        ) : (
          shown
        )}
      </Text>
      <Text wrap="truncate-end" color={colour(reply && !reply.ok && !job ? 'red' : undefined)} bold={Boolean(reply && !reply.ok && !job)}>
        {fit(status, width)}
      </Text>
      <Text underline wrap="truncate-end">
        {columns.length ? cells(columns) || ' ' : ' '}
      </Text>
      <ScrollList lines={rows.map((r) => cells(r, reply?.ok ? reply.numeric : []))} cursor={rows.length && !editing ? rowAt : -1} top={rowAt} height={tableHeight} />
      <Text dimColor wrap="truncate-end">
        {fit(editing ? `Enter runs · ↑/↓ history (${history.length}) · PgUp/PgDn rows · Esc to the table (then q, 1–${VIEW_IDS.length} work)` : 'i or Enter edits · ↑/↓ rows · ←/→ columns · PgUp/PgDn', width)}
      </Text>
    </Box>
  );
}

export const sqlView: ViewPlugin = {
  id: 'sql',
  title: 'SQL',
  hints: 'Enter run · ↑/↓ history · Esc table',
  help: [
    ['typing', 'the statement; ←/→ Home/End Ctrl+A/E move, Ctrl+U/K cut, Backspace/Delete'],
    ['Enter', `run it: one read-only statement, as ingero sql runs it (stopped after ${SQL_LIMITS.timeoutMs / 1000} s, at most ${SQL_LIMITS.maxRows.toLocaleString('en-US')} rows)`],
    ['↑/↓ while typing', 'earlier statements (history)'],
    ['Esc', `stop a running query; else leave the line for the table (q, 1–${VIEW_IDS.length}, / work again)`],
    ['i or Enter', 'back to typing'],
    ['↑/↓ j/k PgUp/PgDn', 'rows of the result'],
    ['←/→ h/l', 'scroll the result columns'],
    ['Home / End G', 'first or last row'],
  ],
  Component: SqlView,
};
