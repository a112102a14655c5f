/** The journal could not be written (disk full, I/O error): nothing that depended on it happened. */
export class JournalWriteError extends Error {
  readonly path: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`cannot write the journal ${path}: ${reason}`, options);
    this.name = 'JournalWriteError';
    this.path = path;
  }
}

/** The journal was written by an agent with an incompatible record format. */
export class JournalFormatError extends Error {
  readonly path: string;
  readonly format: number;

  constructor(path: string, format: number) {
    super(
      `the journal ${path} has format ${format}, which this agent does not read; move it away to start afresh`,
    );
    this.name = 'JournalFormatError';
    this.path = path;
    this.format = format;
  }
}
