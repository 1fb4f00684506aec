/**
 * Names that come from the input (class folders, archive members, files) are printed in
 * logs, listings and errors. Shown raw, a control character in such a name can move the
 * cursor, recolour the terminal or start a fake log line, so it is shown as an escape.
 */

// C0 and C1 controls, DEL, the line and paragraph separators and the bidirectional
// overrides and isolates (which reorder what a reader sees); and the backslash, so that an
// escape in the output cannot be mistaken for one that was in the name.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `name` with every unprintable character replaced by a visible escape (\n, \x1b, \u202e). */
export function printable(name: string): string {
  return name.replace(UNPRINTABLE, escape);
}

/**
 * A message (one log or error line) with its control characters escaped, so that a name
 * quoted inside it cannot break it into several lines; backslashes are left as they are.
 */
export function printableLine(message: string): string {
  return message.replace(UNPRINTABLE, (c) => (c === '\\' ? c : escape(c)));
}

function escape(c: string): string {
  const short = SHORT[c];
  if (short !== undefined) return short;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}
