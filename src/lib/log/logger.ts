/** Logger interface (injected) and a line-oriented console implementation on stderr. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

function format(level: string, message: string, fields?: Record<string, unknown>): string {
  const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
  return `${new Date().toISOString()} ${level} ${message}${extra}\n`;
}

export function consoleLogger(out: NodeJS.WritableStream = process.stderr): Logger {
  return {
    info: (m, f) => out.write(format('info', m, f)),
    warn: (m, f) => out.write(format('warn', m, f)),
    error: (m, f) => out.write(format('error', m, f)),
  };
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
