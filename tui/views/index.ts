// The views, in the order of their number keys.
import { eventsView } from './events-view.tsx';
import { findingsView } from './findings-view.tsx';
import { infoView } from './info-view.tsx';
import { opsView } from './ops-view.tsx';
import { stacksView } from './stacks-view.tsx';
import { timelineView } from './timeline-view.tsx';
import type { ViewPlugin } from './view-plugin.ts';

export const VIEWS: readonly ViewPlugin[] = [findingsView, opsView, timelineView, eventsView, stacksView, infoView];
