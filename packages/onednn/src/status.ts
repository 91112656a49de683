/**
 * Whether the native addon can be used, without registering anything — importable even when the addon is
 * not built (`@advlab/onednn/status`), unlike the package's main entry, which throws on import then (so
 * that "the package imports" means "the backend exists", as advlab's useBackend expects).
 */
import { addon, loadError } from './native.ts';

/** Whether the native addon loaded (built, and libdnnl.so found). */
export function isAvailable(): boolean {
  return addon !== null;
}

/** Why the addon is unavailable (with how to build it), or null. */
export function unavailableReason(): string | null {
  return loadError;
}
