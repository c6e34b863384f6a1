// A view is a plugin over the shared session: a title, the keys it adds to the status bar, and a
// component that draws into the width × height the app gives it.
import type { ComponentType } from 'react';

export interface ViewPlugin {
  /** Stable id, used by session.show() and kept-state keys. */
  readonly id: string;
  readonly title: string;
  /** Its own keys, for the status bar, e.g. "s sort · r reverse". */
  readonly hints: string;
  /** Its own keys with what they do, for the help screen. */
  readonly help: readonly (readonly [string, string])[];
  readonly Component: ComponentType;
}
