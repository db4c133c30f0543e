/**
 * Turns a file name chosen by a remote peer into a name that is safe to create inside the
 * downloads directory. Pure: no I/O.
 *
 * The result is one path segment (no `/` or `\`, never `.` or `..`), non-empty, without
 * control, format (bidi overrides, zero-width) or line-separator characters, without a
 * leading dot (no hidden files, and no clash with `.partial-*`), without characters or
 * device names Windows refuses, NFC-normalized, and at most MAX_SAVED_NAME_BYTES of UTF-8
 * with its extension kept.
 */
import { MAX_SAVED_NAME_BYTES } from './constants.ts';

/** The name used when nothing printable is left. */
export const FALLBACK_NAME = 'file';

/** Longest extension kept apart when a name is shortened, in UTF-8 bytes (dot included). */
const MAX_EXTENSION_BYTES = 16;

/** C0, DEL, C1 and lone surrogates become `_`; Windows-reserved punctuation too. */
const REPLACED = /[\p{Cc}\p{Cs}\p{Zl}\p{Zp}<>:"|?*]/gu;
/** Format characters (bidi controls, zero-width joiners) are dropped: they only disguise. */
const DROPPED = /\p{Cf}/gu;
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

const utf8 = new TextEncoder();
const bytesOf = (text: string): number => utf8.encode(text).byteLength;

/** A safe base name for `remoteName`; never throws. */
export function safeFileName(remoteName: string, maxBytes = MAX_SAVED_NAME_BYTES): string {
  const segments = remoteName.split(/[/\\]/);
  // "dir/" names its last non-empty segment; dots-only segments name nothing.
  const last = segments.findLast((s) => s.replace(/\./g, '').trim() !== '') ?? '';
  let name = last.normalize('NFC').replace(DROPPED, '').replace(REPLACED, '_');
  // Leading dots and spaces, trailing dots and spaces (Windows drops those silently).
  name = name.replace(/^[.\s]+/u, '').replace(/[.\s]+$/u, '');
  if (name === '') return FALLBACK_NAME;
  if (WINDOWS_DEVICE.test(name)) name = `_${name}`;
  return shorten(name, maxBytes);
}

/** `name` cut to `maxBytes` of UTF-8 at a code-point boundary, its extension kept when short. */
function shorten(name: string, maxBytes: number): string {
  if (bytesOf(name) <= maxBytes) return name;
  const { stem, ext } = splitExtension(name);
  const keep = bytesOf(ext) <= MAX_EXTENSION_BYTES ? ext : '';
  const base = keep === '' ? name : stem;
  const budget = maxBytes - bytesOf(keep);
  let out = '';
  let used = 0;
  for (const c of base) {
    const size = bytesOf(c);
    if (used + size > budget) break;
    out += c;
    used += size;
  }
  out = out.replace(/[.\s]+$/u, '');
  return out === '' ? FALLBACK_NAME + keep : out + keep;
}

/**
 * `photo.jpg` -> `photo` + `.jpg`, `logs.tar.gz` -> `logs` + `.tar.gz`; a name without a
 * dot past its first character has no extension.
 */
export function splitExtension(name: string): { stem: string, ext: string } {
  let dot = name.lastIndexOf('.');
  if (dot <= 0) return { stem: name, ext: '' };
  if (dot > 4 && name.slice(dot - 4, dot).toLowerCase() === '.tar') dot -= 4;
  return { stem: name.slice(0, dot), ext: name.slice(dot) };
}

/** Candidate `n` for a name not yet taken: `name` itself for 0, else `stem (n).ext`. */
export function candidateName(name: string, n: number): string {
  if (n === 0) return name;
  const { stem, ext } = splitExtension(name);
  return `${stem} (${n})${ext}`;
}

/** The first candidate of `name` for which `exists` is false, trying at most `attempts`. */
export function uniqueName(name: string, exists: (candidate: string) => boolean, attempts = 10_000): string {
  for (let n = 0; n < attempts; n++) {
    const candidate = candidateName(name, n);
    if (!exists(candidate)) return candidate;
  }
  throw new Error(`no free name like ${JSON.stringify(name)} after ${attempts} attempts`);
}
