import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DataFormatError } from '../../../trainer/util/errors.js';
import { isObject, type JsonObject } from './json.js';

/**
 * Reads every CustomResourceDefinition in the YAML/JSON files of a directory, in file
 * name order. Other kinds are returned separately so the caller can say it skipped them.
 */
export async function readCrdFiles(dir: string): Promise<{ crds: Array<{ file: string; crd: JsonObject }>; skipped: string[] }> {
  const files = (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort();
  const crds: Array<{ file: string; crd: JsonObject }> = [];
  const skipped: string[] = [];
  for (const f of files) {
    const path = join(dir, f);
    const docs = parseAllDocuments(await readFile(path, 'utf8'));
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      if (doc.errors.length > 0) throw new DataFormatError(path, doc.errors[0].pos[0], `document ${i}: ${doc.errors[0].message}`);
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return;
      if (!isObject(value)) throw new DataFormatError(path, undefined, `document ${i} is not a mapping`);
      if (value.kind === 'CustomResourceDefinition') crds.push({ file: path, crd: value });
      else skipped.push(`${path}: document ${i} (${String(value.kind)})`);
    });
  }
  return { crds, skipped };
}
