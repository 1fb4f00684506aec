import type { Split } from './labeled-image.js';

export const SPLITS: readonly Split[] = ['train', 'test'];
const IMAGE_EXTENSION = /\.(jpe?g|png)$/i;

/** A file found under an image folder's root, with its path split into components. */
export interface FolderFile {
  /** Path components below the root: [split, class, file] for an image in the layout. */
  parts: readonly string[];
  /** How to find the file again: a filesystem path or an archive member name. */
  ref: string;
}

export interface ListedImage {
  ref: string;
  /** `<split>/<class>/<file>`. */
  name: string;
  label: number;
}

export interface FolderListing {
  classNames: string[];
  /** The split's images, by class then file name; the array position is the image's index. */
  images: ListedImage[];
  /** Files of the split that are not `<class>/<file>.jpg|jpeg|png`. */
  skipped: number;
}

export function isImageFileName(name: string): boolean {
  return IMAGE_EXTENSION.test(name);
}

/** Byte order of the UTF-8 names (as Python sorts str), which JS string order is not for all of Unicode. */
function byteOrder(names: Iterable<string>): string[] {
  return [...names]
    .map((name) => ({ name, key: Buffer.from(name, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((entry) => entry.name);
}

function isLayoutImage(parts: readonly string[]): boolean {
  return parts.length === 3 && (SPLITS as readonly string[]).includes(parts[0]) && isImageFileName(parts[2]);
}

/**
 * How many leading components to drop so that paths start at the split folders: 0, or 1
 * when everything sits in one top-level directory (as in many archives); undefined when
 * there are no `<split>/<class>/<image>` files either way.
 */
export function splitRootDepth(paths: readonly (readonly string[])[]): 0 | 1 | undefined {
  if (paths.some(isLayoutImage)) return 0;
  const top = new Set(paths.map((parts) => parts[0]));
  if (top.size === 1 && paths.some((parts) => isLayoutImage(parts.slice(1)))) return 1;
  return undefined;
}

/**
 * Labels and orders a folder of class folders, `<class>/<file>` (no split level), as
 * im2rec --recursive and torchvision's ImageFolder do: classes that hold images, sorted by
 * name (byte order), files sorted within each class. Other files are counted as skipped.
 */
export function listClassFolders(files: readonly FolderFile[]): FolderListing {
  const byClass = new Map<string, Map<string, string>>(); // class -> file name -> ref
  let skipped = 0;
  for (const file of files) {
    if (file.parts.length !== 2 || !isImageFileName(file.parts[1])) {
      skipped++;
      continue;
    }
    const [cls, name] = file.parts;
    let inClass = byClass.get(cls);
    if (inClass === undefined) byClass.set(cls, (inClass = new Map()));
    inClass.set(name, file.ref);
  }
  const classNames = byteOrder(byClass.keys());
  const images: ListedImage[] = [];
  classNames.forEach((cls, label) => {
    const inClass = byClass.get(cls) as Map<string, string>;
    for (const name of byteOrder(inClass.keys())) images.push({ ref: inClass.get(name) as string, name: `${cls}/${name}`, label });
  });
  return { classNames, images, skipped };
}

/**
 * Labels and orders an image folder as MXNet's im2rec does: class folders sorted by name
 * (byte order), files sorted within each class. Class names are the union over both
 * splits, so that train and test of one source agree on labels even if a class is empty
 * in one of them.
 */
export function listImageFolder(files: readonly FolderFile[], split: Split): FolderListing {
  const classes = new Set<string>();
  for (const file of files) if (isLayoutImage(file.parts)) classes.add(file.parts[1]);
  const classNames = byteOrder(classes);
  const label = new Map(classNames.map((name, i) => [name, i]));

  const byClass = new Map<string, Map<string, string>>(); // class -> file name -> ref
  let skipped = 0;
  for (const file of files) {
    if (file.parts[0] !== split) continue;
    if (!isLayoutImage(file.parts)) {
      skipped++;
      continue;
    }
    const [, cls, name] = file.parts;
    let inClass = byClass.get(cls);
    if (inClass === undefined) byClass.set(cls, (inClass = new Map()));
    inClass.set(name, file.ref);
  }
  const images: ListedImage[] = [];
  for (const cls of classNames) {
    const inClass = byClass.get(cls);
    if (inClass === undefined) continue;
    for (const name of byteOrder(inClass.keys())) {
      images.push({ ref: inClass.get(name) as string, name: `${split}/${cls}/${name}`, label: label.get(cls) as number });
    }
  }
  return { classNames, images, skipped };
}
