/**
 * The MIME type an offer announces, from the file's extension. Informative only: the
 * receiver saves bytes, it never opens or runs them, so a short table of common types
 * is enough and an unknown extension is plain `application/octet-stream`.
 */
import { extname } from 'node:path';

export const DEFAULT_MIME = 'application/octet-stream';

const TYPES: Record<string, string> = {
  '.txt': 'text/plain', '.md': 'text/markdown', '.csv': 'text/csv', '.log': 'text/plain',
  '.html': 'text/html', '.htm': 'text/html', '.css': 'text/css', '.xml': 'application/xml',
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.ts': 'text/plain', '.json': 'application/json',
  '.yaml': 'application/yaml', '.yml': 'application/yaml', '.toml': 'application/toml',
  '.pdf': 'application/pdf', '.rtf': 'application/rtf',
  '.doc': 'application/msword', '.xls': 'application/vnd.ms-excel', '.ppt': 'application/vnd.ms-powerpoint',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.pptx': 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  '.odt': 'application/vnd.oasis.opendocument.text',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.webp': 'image/webp', '.svg': 'image/svg+xml', '.bmp': 'image/bmp', '.ico': 'image/vnd.microsoft.icon',
  '.heic': 'image/heic', '.avif': 'image/avif', '.tif': 'image/tiff', '.tiff': 'image/tiff',
  '.mp3': 'audio/mpeg', '.wav': 'audio/wav', '.ogg': 'audio/ogg', '.flac': 'audio/flac', '.m4a': 'audio/mp4',
  '.opus': 'audio/opus',
  '.mp4': 'video/mp4', '.webm': 'video/webm', '.mkv': 'video/x-matroska', '.mov': 'video/quicktime',
  '.avi': 'video/x-msvideo',
  '.zip': 'application/zip', '.gz': 'application/gzip', '.tgz': 'application/gzip', '.tar': 'application/x-tar',
  '.bz2': 'application/x-bzip2', '.xz': 'application/x-xz', '.zst': 'application/zstd', '.7z': 'application/x-7z-compressed',
  '.rar': 'application/vnd.rar',
  '.wasm': 'application/wasm', '.bin': 'application/octet-stream'
};

/** The MIME type for a file name, lower-case, e.g. `image/png`; DEFAULT_MIME when unknown. */
export function mimeType(fileName: string): string {
  return TYPES[extname(fileName).toLowerCase()] ?? DEFAULT_MIME;
}
