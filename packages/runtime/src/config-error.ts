/** A configuration value is missing or malformed; `field` names the flag or option. */
export class ConfigError extends Error {
  readonly field: string;

  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field}: ${message}`, options);
    this.name = 'ConfigError';
    this.field = field;
  }
}
