// The views in the order of their number keys. Kept apart from the view modules so the CLI can
// validate --view without loading Ink and React.
export const VIEW_IDS = ['findings', 'ops', 'timeline', 'events', 'stacks', 'info', 'sql', 'gpu'] as const;
export type ViewId = (typeof VIEW_IDS)[number];
