import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalFileSource } from '../../io/local-source.js';
import { readWhole } from '../../io/read-whole.js';
import { DEFAULT_INPUT_LIMITS, LIMIT_FLAGS, type InputLimits } from '../limits.js';
import { DataFormatError, UsageError } from '../../util/errors.js';
import { heldBound, inOrder } from './in-order.js';
import { isImageFileName, listClassFolders, listImageFolder, splitRootDepth, SPLITS, type FolderFile, type FolderListing, type ListedImage } from './image-folder-listing.js';
import { sniffImageFormat, type ImageSource, type LabeledImage, type Split } from './labeled-image.js';
import type { DataLocation } from './named-files.js';
import { listTar, memberPathParts, memberUri, scanTar } from './tar.js';

async function kindOf(entry: Dirent, path: string): Promise<'file' | 'dir' | 'other'> {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (!entry.isSymbolicLink()) return 'other';
  const target = await stat(path).catch(() => undefined);
  return target?.isFile() ? 'file' : target?.isDirectory() ? 'dir' : 'other';
}

async function entriesOf(dir: string): Promise<Dirent[]> {
  return readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    throw err;
  });
}

/** The directory holding the split folders: `root`, or its only subdirectory. */
export async function findSplitRoot(root: string): Promise<string | undefined> {
  const hasSplit = async (dir: string): Promise<boolean> => {
    for (const split of SPLITS) if ((await stat(join(dir, split)).catch(() => undefined))?.isDirectory()) return true;
    return false;
  };
  if (await hasSplit(root)) return root;
  const dirs: string[] = [];
  for (const entry of await entriesOf(root)) if ((await kindOf(entry, join(root, entry.name))) === 'dir') dirs.push(entry.name);
  if (dirs.length === 1 && (await hasSplit(join(root, dirs[0])))) return join(root, dirs[0]);
  return undefined;
}

/** Files at `<split>/<file>` and `<split>/<class>/<file>` below `root`; deeper directories are not searched. */
async function walkSplits(root: string): Promise<FolderFile[]> {
  const files: FolderFile[] = [];
  for (const split of SPLITS) {
    const splitDir = join(root, split);
    for (const entry of await entriesOf(splitDir)) {
      const path = join(splitDir, entry.name);
      const kind = await kindOf(entry, path);
      if (kind === 'file') files.push({ parts: [split, entry.name], ref: path });
      if (kind !== 'dir') continue;
      for (const file of await entriesOf(path)) {
        const filePath = join(path, file.name);
        if ((await kindOf(file, filePath)) === 'file') files.push({ parts: [split, entry.name, file.name], ref: filePath });
      }
    }
  }
  return files;
}

/** Files at `<file>` and `<class>/<file>` below `root`; deeper directories are not searched. */
async function walkClasses(root: string): Promise<FolderFile[]> {
  const files: FolderFile[] = [];
  for (const entry of await entriesOf(root)) {
    const path = join(root, entry.name);
    const kind = await kindOf(entry, path);
    if (kind === 'file') files.push({ parts: [entry.name], ref: path });
    if (kind !== 'dir') continue;
    for (const file of await entriesOf(path)) {
      const filePath = join(path, file.name);
      if ((await kindOf(file, filePath)) === 'file') files.push({ parts: [entry.name, file.name], ref: filePath });
    }
  }
  return files;
}

/** True when some subdirectory of `root` directly holds a .jpg/.jpeg/.png file. */
export async function hasClassFolders(root: string): Promise<boolean> {
  for (const entry of await entriesOf(root)) {
    const path = join(root, entry.name);
    if ((await kindOf(entry, path)) !== 'dir') continue;
    for (const file of await entriesOf(path)) {
      if (isImageFileName(file.name) && (await kindOf(file, join(path, file.name))) === 'file') return true;
    }
  }
  return false;
}

function encodedImage(listed: ListedImage, index: number, bytes: Buffer, uri: string): LabeledImage {
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new DataFormatError(uri, 0, `not a JPEG or PNG file (starts with ${bytes.subarray(0, 4).toString('hex') || 'nothing'})`);
  }
  return { index, label: listed.label, name: listed.name, encoded: { bytes, format } };
}

function source(uri: string, split: Split, listing: FolderListing, images: () => AsyncIterable<LabeledImage>): ImageSource {
  if (listing.images.length === 0) {
    throw new UsageError(`${uri}: split '${split}' not found: no ${split}/<class>/<image>.jpg|jpeg|png files`);
  }
  return { kind: 'image-folder', uri, classNames: listing.classNames, count: listing.images.length, skipped: listing.skipped, images };
}

/** An archive of images: members are images, so the image size limit bounds each. */
function tarLimits(limits: InputLimits) {
  return { maxMemberBytes: limits.maxImageBytes, maxArchiveBytes: limits.maxArchiveBytes, memberFlag: LIMIT_FLAGS.maxImageBytes };
}

function listedImages(listing: FolderListing, limits: InputLimits): () => AsyncIterable<LabeledImage> {
  return async function* () {
    for (const [index, listed] of listing.images.entries()) {
      const file = new LocalFileSource(listed.ref);
      try {
        yield encodedImage(listed, index, await readWhole(file, limits.maxImageBytes, LIMIT_FLAGS.maxImageBytes), listed.ref);
      } finally {
        await file.close();
      }
    }
  };
}

async function openDirectory(path: string, split: Split, limits: InputLimits): Promise<ImageSource> {
  const root = await findSplitRoot(path);
  if (root === undefined) throw new UsageError(`${path}: not an image folder: no train/ or test/ directory`);
  const listing = listImageFolder(await walkSplits(root), split);
  return source(root, split, listing, listedImages(listing, limits));
}

/**
 * Opens a directory of class folders, `<root>/<class>/*.jpg|jpeg|png`, the layout of
 * im2rec --recursive and torchvision's ImageFolder: there is no split level, so the whole
 * tree is one split. Labels follow the sorted class names; bytes pass through unchanged.
 */
export async function openClassFolders(root: string, limits: InputLimits = DEFAULT_INPUT_LIMITS): Promise<ImageSource> {
  const listing = listClassFolders(await walkClasses(root));
  if (listing.images.length === 0) throw new UsageError(`${root}: no <class>/<image>.jpg|jpeg|png files`);
  return { kind: 'class-folder', uri: root, classNames: listing.classNames, count: listing.images.length, skipped: listing.skipped, images: listedImages(listing, limits) };
}

async function openArchive(path: string, split: Split, limits: InputLimits): Promise<ImageSource> {
  const archive = new LocalFileSource(path);
  const members: FolderFile[] = [];
  try {
    for await (const entry of listTar(archive, tarLimits(limits))) members.push({ parts: memberPathParts(entry.name), ref: entry.name });
  } finally {
    await archive.close();
  }
  const depth = splitRootDepth(members.map((m) => m.parts));
  if (depth === undefined) throw new UsageError(`${path}: not an image folder archive: no <split>/<class>/<image> members`);
  const listing = listImageFolder(
    members.map((m) => ({ parts: m.parts.slice(depth), ref: m.ref })),
    split,
  );
  const position = new Map(listing.images.map((listed, i) => [listed.ref, i]));
  return source(path, split, listing, async function* () {
    const reading = new LocalFileSource(path);
    try {
      const ordered = inOrder(scanTar(reading, (e) => position.has(e.name), tarLimits(limits)), {
        position: (m) => (m.bytes === undefined ? undefined : position.get(m.entry.name)),
        total: listing.images.length,
        missing: (i) => new DataFormatError(path, undefined, `member ${listing.images[i].ref} not found on reading the archive again`),
        duplicate: (m) => new DataFormatError(path, m.entry.offset, `member ${m.entry.name} appears twice`),
        ...heldBound(path, limits, (i) => listing.images[i].ref),
      });
      for await (const { entry, bytes } of ordered) {
        const at = position.get(entry.name) as number;
        const listed = listing.images[at];
        yield encodedImage(listed, at, bytes as Buffer, memberUri(path, listed.ref));
      }
    } finally {
      await reading.close();
    }
  });
}

/**
 * Opens an image-folder tree `<root>/<split>/<class>/*.jpg|jpeg|png`, from a directory or a
 * .tar/.tar.gz archive (optionally inside one top-level directory). Labels follow the
 * sorted class folder names and images come in sorted order; their bytes are passed
 * through unchanged, with the format taken from the magic bytes.
 */
export async function openImageFolder(location: DataLocation, split: Split, limits: InputLimits = DEFAULT_INPUT_LIMITS): Promise<ImageSource> {
  return location.kind === 'dir' ? openDirectory(location.path, split, limits) : openArchive(location.path, split, limits);
}
