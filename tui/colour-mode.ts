// Whether the UI draws in colour: never when NO_COLOR is set (https://no-color.org, as ingero
// explain reads it: set and not empty), nor on a terminal that has no colours (TERM=dumb, a
// -mono terminal, or one Node finds without colour support). Monochrome keeps every piece of
// information: severities are written out, selection is reverse video, marks are characters.

export function colourWanted(stdout: { getColorDepth?: (env?: object) => number; isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (/^dumb$|-mono$|-m$/.test(env.TERM ?? '')) return false;
  const { NO_COLOR: _ignored, ...rest } = env;
  return Boolean(stdout.isTTY) && (stdout.getColorDepth?.(rest) ?? 1) > 1;
}
