/**
 * @advlab/ui: the server of `advlab ui` — a read-only API over training runs, their metrics live as
 * server-sent events, their models and files — and the built web app it serves (dashboard and playground).
 */
export { APP_CSP, CSP, createUiServer, defaultAppDir, MAX_URL_LENGTH, type UiServer, type UiServerOptions } from './server/server.ts';
export { type RunInfo, type RunStatus, type MetricsEntry, MAX_DEPTH } from './server/runs.ts';
export type { MetricsEvent } from './server/events.ts';
export { type ModelInfo, type SamplesResponse, SAMPLE_COUNT } from './server/models.ts';
export { PathRefusedError, PathNotFoundError } from './server/paths.ts';
