/**
 * The browser's side of the server's JSON API (packages/ui/src/server). Types come from the server's own
 * declarations (type-only imports: nothing of Node reaches the bundle).
 */
import type { RunInfo, MetricsEntry } from '../../src/server/runs.ts';
import type { MetricsEvent } from '../../src/server/events.ts';
import type { ModelInfo, SamplesResponse } from '../../src/server/models.ts';

export type { RunInfo, MetricsEntry, MetricsEvent, ModelInfo, SamplesResponse };

/** An answer of the server that is not 2xx: its stable code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** GET a JSON route of the server (same origin: the cookie carries the token when there is one). */
export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `${path}: HTTP ${res.status}`);
  }
  return body as T;
}

export interface MetricsResponse {
  run: string;
  lines: MetricsEntry[];
  notes: string[];
  offset: number;
  lineCount: number;
}

export const listRuns = () => getJson<{ runs: RunInfo[] }>('/api/runs').then((r) => r.runs);
export const runMetrics = (id: string) => getJson<MetricsResponse>(`/api/runs/${encodeURIComponent(id)}/metrics`);
export const runConfig = (id: string) =>
  getJson<{ run: string; config: Record<string, unknown> | null; notes: string[] }>(`/api/runs/${encodeURIComponent(id)}/config`);
export const runEval = (id: string) => getJson<{ run: string; eval: unknown }>(`/api/runs/${encodeURIComponent(id)}/eval`);
/** The models under the served folders and the playground's default pair (ids, null where none was found). */
export interface ModelsResponse {
  models: ModelInfo[];
  defaults: { standard: string | null; robust: string | null };
}

export const listModels = () => getJson<ModelsResponse>('/api/models');
export const testSamples = () => getJson<SamplesResponse>('/api/samples');
