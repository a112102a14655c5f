export const LOCAL_BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';

/** The broker the tests use: chosen by the global setup (or by the caller) in AMQP_URL. */
export function brokerUrl(): string {
  return process.env.AMQP_URL ?? LOCAL_BROKER_URL;
}
