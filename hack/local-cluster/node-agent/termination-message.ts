/**
 * The message a terminated container leaves in its status, chosen as the kubelet does:
 * the termination-message file, or for FallbackToLogsOnError, when the file is empty and
 * the container failed, the tail of its output. Pure.
 */

/** The kubelet's caps: 4 KiB of file, 80 lines / 2 KiB of log tail. */
export const MAX_MESSAGE_BYTES = 4096;
export const FALLBACK_LOG_LINES = 80;
export const FALLBACK_LOG_BYTES = 2048;

/** The last `maxBytes` of `text` on a UTF-8 character boundary. */
export function tailBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let start = buf.length - maxBytes;
  // Skip UTF-8 continuation bytes so the cut never splits a character.
  while (start < buf.length && (buf[start] & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}

export function logTail(log: string, maxLines = FALLBACK_LOG_LINES, maxBytes = FALLBACK_LOG_BYTES): string {
  const lines = log.replace(/\n+$/, '').split('\n');
  return tailBytes(lines.slice(-maxLines).join('\n'), maxBytes);
}

export function terminationMessage(input: {
  policy: string | undefined;
  exitCode: number;
  /** Contents of the termination-message file; '' when missing. */
  file: string;
  /** Recent output of the container (the agent keeps its stderr). */
  logTail: string;
}): string {
  const file = tailBytes(input.file, MAX_MESSAGE_BYTES);
  if (file.trim() !== '' || input.policy !== 'FallbackToLogsOnError' || input.exitCode === 0) return file;
  return logTail(input.logTail);
}
