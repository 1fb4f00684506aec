/**
 * A command's flag table: each flag's name, value, default, bounds and help in one row, from
 * which the parser options, the typed values and the usage text are all derived. Adding a
 * flag is one row; its default cannot differ between help and behaviour.
 */
import { choiceFlag, intFlag, numberFlag, parseFlags, type OptionSpec } from './command.js';

/** One flag. `T` is the type its value has after reading (undefined when it has no default). */
export interface FlagRow<T> {
  readonly type: 'string' | 'boolean';
  /** The value's placeholder in the usage text (N, X, URI); none for a switch. */
  readonly value?: string;
  readonly help: string;
  /** The default as the usage text states it; omitted when there is none to state. */
  readonly defaultText?: string;
  /** Parses the raw value (undefined when the flag is absent); errors name the flag. */
  readonly read: (flag: string, raw: string | boolean | undefined) => T;
}

type Bounds = { min?: number; max?: number; value?: string };

function asString(raw: string | boolean | undefined): string | undefined {
  return typeof raw === 'string' ? raw : undefined;
}

/** A number-valued row: `parse` is intFlag or numberFlag, `placeholder` its usage value. */
function numeric(parse: typeof intFlag, placeholder: string, help: string, o: Bounds & { default?: number; defaultText?: string }): FlagRow<number | undefined> {
  const fallback = o.default;
  return {
    type: 'string',
    value: o.value ?? placeholder,
    help,
    defaultText: o.defaultText ?? (fallback === undefined ? undefined : String(fallback)),
    read: (flag, raw) => {
      const text = asString(raw);
      return text === undefined ? fallback : parse(flag, text, 0, o.min, o.max);
    },
  };
}

/** An integer flag; with a default it always has a value. */
export function int(help: string, o: Bounds & { default: number }): FlagRow<number>;
export function int(help: string, o?: Bounds & { defaultText?: string }): FlagRow<number | undefined>;
export function int(help: string, o: Bounds & { default?: number; defaultText?: string } = {}): FlagRow<number | undefined> {
  return numeric(intFlag, 'N', help, o);
}

/** A number flag; with a default it always has a value. */
export function num(help: string, o: Bounds & { default: number }): FlagRow<number>;
export function num(help: string, o?: Bounds & { defaultText?: string }): FlagRow<number | undefined>;
export function num(help: string, o: Bounds & { default?: number; defaultText?: string } = {}): FlagRow<number | undefined> {
  return numeric(numberFlag, 'X', help, o);
}

/** One of a fixed set of values, with a default. */
export function choice<C extends string>(help: string, choices: readonly C[], fallback: C, defaultText: string = fallback): FlagRow<C> {
  return { type: 'string', value: choices.join('|'), help, defaultText, read: (flag, raw) => choiceFlag(flag, asString(raw), choices, fallback) };
}

/** A free string; undefined when absent unless `defaultText` describes what happens then. */
export function str(help: string, value: string, defaultText?: string): FlagRow<string | undefined> {
  return { type: 'string', value, help, ...(defaultText === undefined ? {} : { defaultText }), read: (_flag, raw) => asString(raw) };
}

/** A switch: true when given. */
export function bool(help: string): FlagRow<boolean> {
  return { type: 'boolean', help, read: (_flag, raw) => raw === true };
}

/** A string parsed by `parse` (given undefined when absent, so it supplies the default). */
export function custom<T>(help: string, value: string, parse: (flag: string, raw: string | undefined) => T, defaultText?: string): FlagRow<T> {
  return { type: 'string', value, help, ...(defaultText === undefined ? {} : { defaultText }), read: (flag, raw) => parse(flag, asString(raw)) };
}

export type FlagTable = Readonly<Record<string, FlagRow<unknown>>>;

/** A table's values after reading: one typed property per flag, keyed by flag name. */
export type FlagValues<T extends FlagTable> = { [K in keyof T]: T[K] extends FlagRow<infer V> ? V : never };

/** Raw values of flags other modules own, typed as parseArgs gives them. */
export type RawValues<E extends OptionSpec> = { [K in keyof E]?: E[K] extends { type: 'boolean' } ? boolean : string };

/** The node:util parseArgs options for a table. */
export function flagOptions(table: FlagTable): OptionSpec {
  return Object.fromEntries(Object.entries(table).map(([name, row]) => [name, { type: row.type }]));
}

/**
 * Parses `argv` strictly against the table plus `extra` options (flags other modules own),
 * returning the table's typed values and the raw values of the extra ones.
 */
export function readFlags<T extends FlagTable, E extends OptionSpec>(
  command: string,
  argv: string[],
  table: T,
  extra: E,
): { flags: FlagValues<T>; extra: RawValues<E> } {
  const { values } = parseFlags(command, argv, { ...flagOptions(table), ...extra });
  const raw = values as Record<string, string | boolean | undefined>;
  const flags = Object.fromEntries(Object.entries(table).map(([name, row]) => [name, row.read(name, raw[name])])) as FlagValues<T>;
  const rest = Object.fromEntries(Object.keys(extra).filter((name) => raw[name] !== undefined).map((name) => [name, raw[name]])) as RawValues<E>;
  return { flags, extra: rest };
}

/** A titled group of rows in the usage text, with optional lines after them. */
export interface FlagSection {
  title: string;
  flags: readonly string[];
  notes?: readonly string[];
}

const HELP_COLUMN = 33;

/** The usage lines for `sections`; every table row must appear in exactly one section. */
export function renderFlagUsage(table: FlagTable, sections: readonly FlagSection[]): string {
  const listed = sections.flatMap((s) => s.flags);
  const missing = Object.keys(table).filter((name) => !listed.includes(name));
  const unknown = listed.filter((name) => !(name in table));
  if (missing.length > 0 || unknown.length > 0) throw new Error(`flag usage sections: missing ${missing.join(', ') || 'none'}; not in the table ${unknown.join(', ') || 'none'}`);
  const lines: string[] = [];
  for (const section of sections) {
    lines.push(`${section.title}:`);
    for (const name of section.flags) {
      const row = table[name];
      const left = `  --${name}${row.value === undefined ? '' : ` ${row.value}`}`;
      const help = row.defaultText === undefined ? row.help : `${row.help} (default ${row.defaultText})`;
      lines.push(left.length < HELP_COLUMN - 1 ? `${left.padEnd(HELP_COLUMN)}${help}` : `${left}\n${' '.repeat(HELP_COLUMN)}${help}`);
    }
    for (const note of section.notes ?? []) lines.push(`  ${note}`);
  }
  return lines.join('\n');
}
