// Readable short forms of long C++ symbol names for narrow displays and agents' contexts:
// template arguments and parameter lists are elided (`<…>`, `(…)`), the qualified name and the
// outermost structure stay, so `at::native::foo<float, 4>(at::Tensor const&)` reads
// `at::native::foo<…>(…)`. Front ends offer the full name on request.

/** Names at or under this length are shown as they are. */
export const SHORT_SYMBOL_CHARS = 80;

const ANONYMOUS = '(anonymous namespace)';

export function shortSymbol(name: string, max = SHORT_SYMBOL_CHARS): string {
  if (name.length <= max) return name;
  let out = '';
  let depth = 0;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    if (depth === 0 && name.startsWith(ANONYMOUS, i)) {
      out += ANONYMOUS;
      i += ANONYMOUS.length - 1;
      continue;
    }
    const open = ch === '<' || ch === '(';
    const close = ch === '>' || ch === ')';
    // `operator<`, `operator()` and `->` are names and arrows, not brackets.
    const operator = name.slice(Math.max(0, i - 8), i).endsWith('operator') || (ch === '>' && name[i - 1] === '-');
    if (open && !operator) {
      if (depth === 0) out += `${ch}…`;
      depth++;
    } else if (close && !operator && depth > 0) {
      depth--;
      if (depth === 0) out += ch;
    } else if (depth === 0) out += ch;
  }
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}
