// Best-effort Itanium C++ demangling for display names: qualified names with template
// arguments and parameters elided ("at::native::copy_impl(...)"). Anything it does not
// understand (operators, substitutions, local names) is returned unchanged; the mangled
// name is always kept beside it as the bundle's system_name.

/** GCC clone suffixes (foo.constprop.0, foo.cold): the same source function for a reader. */
const CLONE_SUFFIX = /\.(cold|constprop|isra|part|lto_priv)[.0-9a-z_]*$/;

class Unsupported extends Error {}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  private peek(n = 0): string {
    return this.s[this.i + n] ?? '';
  }

  private sourceName(): string {
    let len = 0;
    while (/[0-9]/.test(this.peek())) len = len * 10 + Number(this.s[this.i++]);
    if (len === 0 || this.i + len > this.s.length) throw new Unsupported();
    const name = this.s.slice(this.i, this.i + len);
    this.i += len;
    return name.startsWith('_GLOBAL__N') ? '(anonymous namespace)' : name;
  }

  /** Skips a balanced template argument list starting at 'I', returning '<...>'. */
  private templateArgs(): string {
    let depth = 0;
    do {
      const c = this.s[this.i++];
      if (c === undefined) throw new Unsupported();
      if (c === 'I' || c === 'X') depth++;
      else if (c === 'E') depth--;
      else if (/[0-9]/.test(c)) {
        this.i--;
        this.sourceName(); // skip names whole: their letters are not structure
      }
    } while (depth > 0);
    return '<...>';
  }

  /** Skips an ABI tag (B5cxx11): it changes linkage, not the name a reader knows. */
  private abiTag(): void {
    this.i++;
    this.sourceName();
  }

  /** One component of a name: a source name, std, a constructor or destructor. */
  private component(parts: string[]): string {
    const c = this.peek();
    if (/[0-9]/.test(c)) return this.sourceName();
    if (c === 'C' && /[1-5]/.test(this.peek(1))) {
      this.i += 2;
      return parts[parts.length - 1] ?? '';
    }
    if (c === 'D' && /[0-5]/.test(this.peek(1))) {
      this.i += 2;
      return `~${parts[parts.length - 1] ?? ''}`;
    }
    throw new Unsupported();
  }

  private name(): string {
    const parts: string[] = [];
    if (this.peek() === 'N') {
      this.i++;
      while (/[rVKRO]/.test(this.peek())) this.i++; // cv- and ref-qualifiers of methods
      if (this.s.startsWith('St', this.i)) {
        this.i += 2;
        parts.push('std');
      }
      while (this.peek() !== 'E') {
        if (this.peek() === 'I') parts[parts.length - 1] += this.templateArgs();
        else if (this.peek() === 'B') this.abiTag();
        else parts.push(this.component(parts));
      }
      this.i++;
    } else {
      if (this.s.startsWith('St', this.i)) {
        this.i += 2;
        parts.push('std');
      }
      parts.push(this.component(parts));
      if (this.peek() === 'I') parts[parts.length - 1] += this.templateArgs();
    }
    return parts.join('::');
  }

  encoding(): string {
    const name = this.name();
    const rest = this.s.slice(this.i).replace(CLONE_SUFFIX, '');
    if (rest === '') return name; // a data object or a name with no parameters
    return rest === 'v' ? `${name}()` : `${name}(...)`;
  }
}

export function demangle(symbol: string): string {
  if (!symbol.startsWith('_Z')) return symbol.replace(CLONE_SUFFIX, '');
  try {
    return new Parser(symbol.slice(2)).encoding();
  } catch (e) {
    if (e instanceof Unsupported) return symbol;
    throw e;
  }
}
