import winston from 'winston';

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  service: string;
  /** @default 'info' */
  level?: LogLevel | undefined;
  /** JSON lines for machines, or one readable line per event. @default 'json' */
  format?: LogFormat | undefined;
}

/** The binaries' logger: JSON lines on stdout by default, human-readable with `pretty`. */
export function createLogger(options: LoggerOptions): winston.Logger {
  const pretty = winston.format.combine(
    winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
    winston.format.colorize(),
    winston.format.printf(({ timestamp, level, message, service, ...meta }) => {
      const extra = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
      return `${String(timestamp)} ${String(service)} ${level} ${String(message)}${extra}`;
    }),
  );
  return winston.createLogger({
    level: options.level ?? 'info',
    defaultMeta: { service: options.service },
    format:
      options.format === 'pretty'
        ? pretty
        : winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}
