import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalFileSource } from '../../io/local-source.js';
import { readWhole } from '../../io/read-whole.js';
import { DataFormatError } from '../../util/errors.js';
import { DEFAULT_INPUT_LIMITS, LIMIT_FLAGS, type InputLimits } from '../limits.js';
import { heldBound, inOrder } from './in-order.js';
import { memberPathParts, memberUri, scanTar } from './tar.js';

/** Where a data set's files are: a directory, or a .tar/.tar.gz archive. */
export interface DataLocation {
  kind: 'dir' | 'archive';
  path: string;
}

export interface NamedFile {
  name: string;
  /** The file path, or the archive and member, for errors. */
  uri: string;
  bytes: Buffer;
}

/**
 * The flat set of files of an official CIFAR-10 layout (data_batch_1, batches.meta, ...),
 * read from a directory or from an archive where they sit at the top or in one directory.
 */
export interface NamedFileSet {
  readonly uri: string;
  /** Base names of the files present. */
  readonly names: ReadonlySet<string>;
  /** Sizes of the files present, by base name. */
  readonly sizes: ReadonlyMap<string, number>;
  /** Files read while opening (see `preload`). */
  readonly preloaded: ReadonlyMap<string, NamedFile>;
  uriOf(name: string): string;
  /** Reads the named files and yields them in the order given. */
  read(names: readonly string[]): AsyncGenerator<NamedFile>;
}

/**
 * Opens a directory or archive of flat data files; files named in `preload` are read at
 * once. Each file is read whole, so none may be larger than `limits.maxFileBytes`.
 */
export async function openNamedFiles(location: DataLocation, preload: readonly string[] = [], limits: InputLimits = DEFAULT_INPUT_LIMITS): Promise<NamedFileSet> {
  return location.kind === 'dir' ? openDir(location.path, preload, limits) : openArchive(location.path, preload, limits);
}

async function readLocal(path: string, limits: InputLimits): Promise<Buffer> {
  const source = new LocalFileSource(path);
  try {
    return await readWhole(source, limits.maxFileBytes, LIMIT_FLAGS.maxFileBytes);
  } finally {
    await source.close();
  }
}

async function openDir(dir: string, preload: readonly string[], limits: InputLimits): Promise<NamedFileSet> {
  const entries = await readdir(dir, { withFileTypes: true });
  const sizes = new Map<string, number>();
  for (const entry of entries) {
    if (entry.isFile()) sizes.set(entry.name, (await stat(join(dir, entry.name))).size);
  }
  const uriOf = (name: string): string => join(dir, name);
  const preloaded = new Map<string, NamedFile>();
  for (const name of preload) {
    if (sizes.has(name)) preloaded.set(name, { name, uri: uriOf(name), bytes: await readLocal(uriOf(name), limits) });
  }
  return {
    uri: dir,
    names: new Set(sizes.keys()),
    sizes,
    preloaded,
    uriOf,
    async *read(names) {
      for (const name of names) yield { name, uri: uriOf(name), bytes: await readLocal(uriOf(name), limits) };
    },
  };
}

/** The base name of a member at the top of the archive or in one directory, else undefined. */
function flatName(memberName: string): string | undefined {
  const parts = memberPathParts(memberName);
  return parts.length === 1 || parts.length === 2 ? parts[parts.length - 1] : undefined;
}

async function openArchive(path: string, preload: readonly string[], limits: InputLimits): Promise<NamedFileSet> {
  const tarLimits = { maxMemberBytes: limits.maxFileBytes, maxArchiveBytes: limits.maxArchiveBytes, memberFlag: LIMIT_FLAGS.maxFileBytes };
  const source = new LocalFileSource(path);
  const members = new Map<string, string>(); // base name -> member name
  const sizes = new Map<string, number>();
  const preloaded = new Map<string, NamedFile>();
  const uriOf = (name: string): string => memberUri(path, members.get(name) ?? name);
  try {
    const wanted = (name: string | undefined): boolean => name !== undefined && preload.includes(name);
    for await (const { entry, bytes } of scanTar(source, (e) => wanted(flatName(e.name)), tarLimits)) {
      const name = flatName(entry.name);
      if (name === undefined) continue;
      const previous = members.get(name);
      if (previous !== undefined) {
        throw new DataFormatError(path, entry.offset, `two members named ${name}: "${previous}" and "${entry.name}"`);
      }
      members.set(name, entry.name);
      sizes.set(name, entry.size);
      if (bytes !== undefined) preloaded.set(name, { name, uri: uriOf(name), bytes });
    }
  } finally {
    await source.close();
  }
  return {
    uri: path,
    names: new Set(members.keys()),
    sizes,
    preloaded,
    uriOf,
    async *read(names) {
      const position = new Map(names.map((name, i) => [members.get(name) ?? name, i]));
      const reading = new LocalFileSource(path);
      try {
        const ordered = inOrder(scanTar(reading, (e) => position.has(e.name), tarLimits), {
          position: (m) => (m.bytes === undefined ? undefined : position.get(m.entry.name)),
          total: names.length,
          missing: (i) => new DataFormatError(path, undefined, `no member named ${names[i]}`),
          duplicate: (m) => new DataFormatError(path, m.entry.offset, `member ${m.entry.name} appears twice`),
          ...heldBound(path, limits, (i) => names[i]),
        });
        for await (const { entry, bytes } of ordered) {
          const name = names[position.get(entry.name) as number];
          yield { name, uri: memberUri(path, entry.name), bytes: bytes as Buffer };
        }
      } finally {
        await reading.close();
      }
    },
  };
}
