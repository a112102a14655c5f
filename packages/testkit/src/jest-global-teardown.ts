/** Stops the RabbitMQ container the global setup started, if any. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__urRabbitContainer?.stop();
}
