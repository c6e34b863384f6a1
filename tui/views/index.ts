// The views, in the order of their number keys (tui/view-ids.ts).
import { VIEW_IDS, type ViewId } from '../view-ids.ts';
import { eventsView } from './events-view.tsx';
import { findingsView } from './findings-view.tsx';
import { gpuView } from './gpu-view.tsx';
import { infoView } from './info-view.tsx';
import { opsView } from './ops-view.tsx';
import { sqlView } from './sql-view.tsx';
import { stacksView } from './stacks-view.tsx';
import { timelineView } from './timeline-view.tsx';
import type { ViewPlugin } from './view-plugin.ts';

const BY_ID: Readonly<Record<ViewId, ViewPlugin>> = {
  findings: findingsView,
  ops: opsView,
  timeline: timelineView,
  events: eventsView,
  stacks: stacksView,
  info: infoView,
  sql: sqlView,
  gpu: gpuView,
};

export const VIEWS: readonly ViewPlugin[] = VIEW_IDS.map((id) => BY_ID[id]);
