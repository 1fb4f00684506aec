/**
 * Reading a command line the way the trainer's parser does: a flag's value is the next
 * word unless that is another flag, and a bare flag is true.
 */

/** The value following `flag`, or true for a bare flag, or undefined when absent. */
export function flagValue(args: readonly string[], flag: string): string | true | undefined {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const next = args[i + 1];
  return next === undefined || next.startsWith('--') ? true : next;
}

/** Every `--flag` in `args`, in order; a lone `--` (npm's separator) is not a flag. */
export function flagNames(args: readonly string[]): string[] {
  return args.filter((arg) => arg.startsWith('--') && arg !== '--');
}
