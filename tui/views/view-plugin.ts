// A view is a plugin over the shared session: a title, the keys it adds to the status bar, and a
// component that draws into the width × height the app gives it. Its key handler runs before
// the app's own keys and may take a key for itself (the SQL console takes typed text).
import type { ComponentType } from 'react';
import type { JumpTarget } from '../jump-target.ts';
import type { Session } from '../session.ts';

export interface ViewPlugin {
  /** Stable id, used by session.show() and kept-state keys. */
  readonly id: string;
  readonly title: string;
  /** Its own keys, for the status bar, e.g. "s sort · r reverse". */
  readonly hints: string;
  /** Its own keys with what they do, for the help screen. */
  readonly help: readonly (readonly [string, string])[];
  readonly Component: ComponentType;
  /** What `/` matches in this view's list (absent: the view has no list to filter). */
  readonly filters?: string;
  /**
   * Goes to a jump target (`g`/`:`) in this view; returns a note for the status line, or null.
   * Views without one hand the jump to Events.
   */
  readonly jump?: (session: Session, target: JumpTarget) => string | null;
}
