/** Light/dark theme: follows prefers-color-scheme unless the user picked one (a display preference, not a secret). */
export type Theme = 'system' | 'light' | 'dark';
const KEY = 'tidings-theme';

export function theme(): Theme {
  const t = localStorage.getItem(KEY);
  return t === 'light' || t === 'dark' ? t : 'system';
}

export function applyTheme(t: Theme = theme()): void {
  if (t === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
}

export function setTheme(t: Theme): void {
  if (t === 'system') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, t);
  applyTheme(t);
}

/** Cycles system -> the opposite of what shows now -> system. */
export function toggleTheme(): Theme {
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  const current = theme();
  const next: Theme = current !== 'system' ? 'system' : dark ? 'light' : 'dark';
  setTheme(next);
  return next;
}
