// Severity colours shared by the views (same meaning as in ingero explain).
import type { Severity } from '../analyze/index.ts';

export const SEVERITY_COLOUR: Readonly<Record<Severity, string>> = { HIGH: 'red', MEDIUM: 'yellow', LOW: 'cyan' };
