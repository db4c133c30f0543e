/** The web page's files, read once: a page, its script, its style and its icon, no framework. */
import { readFileSync } from 'node:fs';

export interface WebAsset {
  path: string;
  type: string;
  body: string;
}

const FILES: [string, string, string][] = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/app.js', 'app.js', 'text/javascript; charset=utf-8'],
  ['/app.css', 'app.css', 'text/css; charset=utf-8'],
  // Named by the page, so browsers do not ask for /favicon.ico and log its 404.
  ['/favicon.svg', 'favicon.svg', 'image/svg+xml']
];

let cached: WebAsset[] | undefined;

export function webAssets(): WebAsset[] {
  cached ??= FILES.map(([path, file, type]) => ({ path, type, body: readFileSync(new URL(`./web/${file}`, import.meta.url), 'utf8') }));
  return cached;
}
