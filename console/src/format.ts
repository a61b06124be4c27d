/** How numbers, times and money read on the console's pages. */

const int = new Intl.NumberFormat('en-US');

export const fmtInt = (n: number | null | undefined): string => (n == null ? '—' : int.format(n));

export function fmtMs(ms: number | null | undefined): string {
  if (ms == null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function fmtUsd(usd: number | null | undefined): string {
  if (usd == null) return '—';
  return usd < 0.01 && usd > 0 ? `$${usd.toFixed(6)}` : `$${usd.toFixed(2)}`;
}

export function fmtPct(x: number | null | undefined): string {
  return x == null ? '—' : `${(x * 100).toFixed(x < 0.1 ? 1 : 0)} %`;
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** "3 min ago", for last-used columns. */
export function fmtAgo(iso: string | null | undefined): string {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}
