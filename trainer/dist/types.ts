/** Receives one human-readable line per event worth logging (refused connections, lost peers). */
export type LogFn = (line: string) => void;
