import { createServer, type Server } from 'node:http';
import type { Logger } from '@ur/protocol/wire';

/** Serves `GET /status` (and `GET /`) on 127.0.0.1 as JSON; nothing else. */
export class StatusServer {
  readonly #server: Server;
  readonly #log: Logger;

  constructor(document: () => unknown, logger: Logger) {
    this.#log = logger;
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const found = req.method === 'GET' && (path === '/status' || path === '/');
      const body = found
        ? document()
        : {
            code: 'NOT_FOUND',
            message: `no route ${req.method ?? '?'} ${path ?? ''}; this endpoint is read-only: GET /status`,
          };
      const text = JSON.stringify(body, null, 2);
      res.writeHead(found ? 200 : 404, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(text);
    });
  }

  /**
   * Listens on 127.0.0.1 only: the status is for someone on the node. A busy
   * port is logged, not fatal: the agent's job is running commands.
   */
  listen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const onError = (err: Error): void => {
        this.#log.warn('status endpoint not available', { port, error: err.message });
        resolve(false);
      };
      this.#server.once('error', onError);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', onError);
        this.#log.info('status endpoint listening', { url: `http://127.0.0.1:${port}/status` });
        resolve(true);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
