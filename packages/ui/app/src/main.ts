/**
 * advlab ui's single page: a hash router between the runs dashboard and the playground. The playground's
 * module (tf.js, its webgl backend, @advlab/core) is loaded only when that page is first opened.
 */
import './style.css';
import { mountDashboard } from './dashboard/index.ts';

type Page = 'dashboard' | 'playground';
const mounted = new Set<Page>();

function pageOf(hash: string): Page {
  return hash.startsWith('#/playground') ? 'playground' : 'dashboard';
}

async function show(page: Page): Promise<void> {
  for (const p of ['dashboard', 'playground'] as const) {
    document.getElementById(p)!.hidden = p !== page;
    document.querySelector(`nav a[data-page="${p}"]`)?.classList.toggle('active', p === page);
  }
  if (mounted.has(page)) return;
  mounted.add(page);
  const root = document.getElementById(page)!;
  if (page === 'dashboard') await mountDashboard(root);
  else await (await import('./playground/index.ts')).mountPlayground(root);
}

window.addEventListener('hashchange', () => void show(pageOf(location.hash)));
void show(pageOf(location.hash));
