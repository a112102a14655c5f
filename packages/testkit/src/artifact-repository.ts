import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { sha256Hex } from './zip-fixtures.js';

/** How the repository answers one path. */
export type RepositoryRoute =
  | { kind: 'body'; body: Buffer; contentLength?: boolean }
  | { kind: 'file'; path: string; size: number }
  | { kind: 'status'; status: number }
  /** Sends `after` bytes of the body (with the full Content-Length), then resets the connection. */
  | { kind: 'reset'; body: Buffer; after: number }
  /** Sends `after` bytes, then nothing more, keeping the connection open. */
  | { kind: 'stall'; body: Buffer; after: number }
  /** Resets the first `failures` requests mid-body, then serves the body. */
  | { kind: 'flaky'; body: Buffer; failures: number };

/**
 * A real HTTP artifact repository for tests, laid out as Nodee's:
 * `/<groupId>/<artifactId>/<version>/<artifactId>-<version>.zip` with an
 * optional `.sha256` sidecar. Counts requests per path.
 */
export class ArtifactRepository {
  readonly #server: Server;
  readonly #routes = new Map<string, RepositoryRoute>();
  readonly #hits = new Map<string, number>();
  readonly #sockets = new Set<Socket>();
  readonly url: string;

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res));
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
  }

  static async start(): Promise<ArtifactRepository> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new ArtifactRepository(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }

  /** The path of a coordinate's archive. */
  static archivePath(coordinate: string): string {
    const [group, artifact, version] = coordinate.split(':');
    return `/${group}/${artifact}/${version}/${artifact}-${version}.zip`;
  }

  route(path: string, route: RepositoryRoute): void {
    this.#routes.set(path, route);
  }

  /** Serves a coordinate's zip, with a `.sha256` sidecar unless `sidecar` is false (or a given text). */
  publish(coordinate: string, zip: Buffer, sidecar: boolean | string = true): string {
    const path = ArtifactRepository.archivePath(coordinate);
    this.route(path, { kind: 'body', body: zip });
    if (sidecar !== false) {
      const text = typeof sidecar === 'string' ? sidecar : `${sha256Hex(zip)}  ${path.split('/').pop()}\n`;
      this.route(`${path}.sha256`, { kind: 'body', body: Buffer.from(text) });
    } else {
      this.#routes.delete(`${path}.sha256`);
    }
    return path;
  }

  hits(path: string): number {
    return this.#hits.get(path) ?? 0;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.url).pathname;
    const hits = (this.#hits.get(path) ?? 0) + 1;
    this.#hits.set(path, hits);
    const route = this.#routes.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const zipHead = (length: number): void => {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(length) });
    };
    switch (route.kind) {
      case 'body':
        if (route.contentLength === false) res.writeHead(200, { 'content-type': 'application/zip' });
        else zipHead(route.body.length);
        res.end(route.body);
        return;
      case 'file':
        zipHead(route.size);
        createReadStream(route.path).pipe(res);
        return;
      case 'status':
        res.writeHead(route.status, { 'content-type': 'text/plain' }).end(`HTTP ${route.status}\n`);
        return;
      case 'reset':
        zipHead(route.body.length);
        res.write(route.body.subarray(0, route.after), () => req.socket.resetAndDestroy());
        return;
      case 'stall':
        zipHead(route.body.length);
        res.write(route.body.subarray(0, route.after));
        return;
      case 'flaky':
        zipHead(route.body.length);
        if (hits <= route.failures) {
          res.write(route.body.subarray(0, route.body.length >> 1), () => req.socket.resetAndDestroy());
        } else {
          res.end(route.body);
        }
        return;
    }
  }
}
