import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalFileSource } from '../../io/local-source.js';
import { UsageError } from '../../util/errors.js';
import { BINARY_LAYOUT, BINARY_META_FILE, openBinaryBatches } from './binary-batches.js';
import { findSplitRoot, hasClassFolders, openClassFolders, openImageFolder } from './image-folder.js';
import { isImageFileName, SPLITS } from './image-folder-listing.js';
import type { ImageSource, ImageSourceKind, Split } from './labeled-image.js';
import type { DataLocation } from './named-files.js';
import { PYTHON_LAYOUT, PYTHON_META_FILE, openPythonBatches } from './python-batches.js';
import { listTar, memberPathParts } from './tar.js';
import type { InputLimits } from '../limits.js';

export const PYTHON_DIR = 'cifar-10-batches-py';
export const BINARY_DIR = 'cifar-10-batches-bin';
/** How many archive members to look at before giving up on recognising the layout. */
const PEEK_MEMBERS = 64;

const PYTHON_FILES = new Set([...PYTHON_LAYOUT.train, PYTHON_LAYOUT.test, PYTHON_META_FILE]);
const BINARY_FILES = new Set([...BINARY_LAYOUT.train, BINARY_LAYOUT.test, BINARY_META_FILE]);
const EXPECTED =
  `expected ${PYTHON_DIR}/ (python version), ${BINARY_DIR}/ (binary version), ` +
  'train|test/<class>/<image> folders, or one of those as a .tar or .tar.gz archive; ' +
  'or a directory of <class>/<image> folders';

export interface DetectedLayout {
  kind: ImageSourceKind;
  location: DataLocation;
}

/** The layout an archive member's path belongs to, if it tells. */
export function classifyMember(name: string): ImageSourceKind | undefined {
  const parts = memberPathParts(name);
  const base = parts[parts.length - 1] ?? '';
  if (parts.length <= 2 && PYTHON_FILES.has(base)) return 'python';
  if (parts.length <= 2 && BINARY_FILES.has(base)) return 'binary';
  const fromSplit = parts.length === 4 ? parts.slice(1) : parts;
  if (fromSplit.length === 3 && (SPLITS as readonly string[]).includes(fromSplit[0]) && isImageFileName(base)) return 'image-folder';
  return undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

async function detectDirectory(path: string): Promise<DetectedLayout> {
  const nested: DetectedLayout[] = [];
  if (await isDirectory(join(path, PYTHON_DIR))) nested.push({ kind: 'python', location: { kind: 'dir', path: join(path, PYTHON_DIR) } });
  if (await isDirectory(join(path, BINARY_DIR))) nested.push({ kind: 'binary', location: { kind: 'dir', path: join(path, BINARY_DIR) } });
  if (nested.length > 1) throw new UsageError(`${path}: holds both ${PYTHON_DIR} and ${BINARY_DIR}; pass one of them`);
  if (nested.length === 1) return nested[0];
  const names = await readdir(path);
  if (names.some((name) => BINARY_FILES.has(name))) return { kind: 'binary', location: { kind: 'dir', path } };
  if (names.some((name) => PYTHON_FILES.has(name))) return { kind: 'python', location: { kind: 'dir', path } };
  if ((await findSplitRoot(path)) !== undefined) return { kind: 'image-folder', location: { kind: 'dir', path } };
  // Split folders win over class folders: a tree with train/ and test/ is never read as two classes.
  if (await hasClassFolders(path)) return { kind: 'class-folder', location: { kind: 'dir', path } };
  throw new UsageError(`${path}: not a recognised CIFAR-10 source: ${EXPECTED}`);
}

async function detectArchive(path: string): Promise<DetectedLayout> {
  const source = new LocalFileSource(path);
  try {
    const head = await source.read(0, 263);
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    const tar = head.length >= 262 && head.toString('latin1', 257, 262) === 'ustar';
    if (!gzip && !tar) throw new UsageError(`${path}: not a directory, .tar or .tar.gz archive: ${EXPECTED}`);
    let seen = 0;
    for await (const entry of listTar(source)) {
      const kind = classifyMember(entry.name);
      if (kind !== undefined) return { kind, location: { kind: 'archive', path } };
      if (++seen >= PEEK_MEMBERS) break;
    }
    throw new UsageError(`${path}: no CIFAR-10 layout among the first ${seen} files of the archive: ${EXPECTED}`);
  } finally {
    await source.close();
  }
}

/** Recognises the layout of a directory or archive from its names, reading as little as it can. */
export async function detectLayout(from: string): Promise<DetectedLayout> {
  const info = await stat(from).catch(() => undefined);
  if (info === undefined) throw new UsageError(`${from}: no such file or directory`);
  return info.isDirectory() ? detectDirectory(from) : detectArchive(from);
}

/**
 * Opens one split of CIFAR-10 in any of its layouts: the official python or binary
 * version (directory or archive), an image-folder tree (directory or archive), or a
 * directory of class folders (which is one split by itself).
 */
export async function openImageSource(from: string, opts: { split: Split; limits?: InputLimits }): Promise<ImageSource> {
  const { kind, location } = await detectLayout(from);
  switch (kind) {
    case 'python':
      return openPythonBatches(location, opts.split, opts.limits);
    case 'binary':
      return openBinaryBatches(location, opts.split, opts.limits);
    case 'image-folder':
      return openImageFolder(location, opts.split, opts.limits);
    case 'class-folder':
      // One split only: --split does not apply.
      return openClassFolders(location.path, opts.limits);
  }
}
