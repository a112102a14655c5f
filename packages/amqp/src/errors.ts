/** Thrown when publishing while the session has no broker connection. */
export class BrokerUnavailableError extends Error {
  constructor(message = 'no broker connection', options?: ErrorOptions) {
    super(message, options);
    this.name = 'BrokerUnavailableError';
  }
}

/** Thrown when the broker refuses (nacks) a published message. */
export class PublishNackedError extends Error {
  readonly routingKey: string;

  constructor(routingKey: string, options?: ErrorOptions) {
    super(`broker did not accept the message for ${routingKey}`, options);
    this.name = 'PublishNackedError';
    this.routingKey = routingKey;
  }
}
