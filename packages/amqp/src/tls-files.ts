import { readFile } from 'node:fs/promises';

/** What an `amqps://` connection needs beyond the URL; passed to `tls.connect`. */
export interface TlsOptions {
  /** CA certificates the broker's certificate must chain to (else the system's). */
  ca?: Buffer[];
  /** Client certificate and key, for brokers that verify peers. */
  cert?: Buffer;
  key?: Buffer;
}

export interface TlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** Thrown when a TLS file cannot be read or the files do not go together. */
export class TlsConfigError extends Error {
  readonly file: string | undefined;

  constructor(message: string, file?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TlsConfigError';
    this.file = file;
  }
}

async function read(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new TlsConfigError(`cannot read the ${what} ${file}: ${(err as Error).message}`, file, {
      cause: err,
    });
  }
}

/**
 * Reads the PEM files named by the TLS options of the agent and headnode.
 * A certificate needs its key (and the other way round); with no file named
 * there are no options (plain `amqps://` then trusts the system CAs).
 */
export async function readTlsFiles(files: TlsFiles): Promise<TlsOptions | undefined> {
  const { caFile, certFile, keyFile } = files;
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new TlsConfigError('a TLS client certificate and its key go together: give both or neither');
  }
  if (caFile === undefined && certFile === undefined) return undefined;
  const options: TlsOptions = {};
  if (caFile !== undefined) options.ca = [await read(caFile, 'CA certificate')];
  if (certFile !== undefined && keyFile !== undefined) {
    options.cert = await read(certFile, 'client certificate');
    options.key = await read(keyFile, 'client key');
  }
  return options;
}
