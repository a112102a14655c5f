import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { isEventPattern, matchesAnyEventPattern, type Logger } from '@ur/protocol';
import { ApiError } from '../errors.js';
import type { EventBus } from '../event-bus.js';
import type { EventStore } from '../store/event-store.js';
import { followEvents } from './follow-events.js';
import { errors } from './node-routes.js';
import { resumeAfter, type SseStreams } from './sse.js';

export interface EventRoutesDeps {
  bus: EventBus;
  events: EventStore;
  sse: SseStreams;
  log: Logger;
}

const EventsQuery = Type.Object({
  types: Type.Optional(
    Type.String({ description: 'Comma-separated event type patterns (node.*, job.completed); default all.' }),
  ),
  after: Type.Optional(
    Type.String({ description: 'Replay stored events after this id first (as the Last-Event-ID header).' }),
  ),
});

export function parsePatterns(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const patterns = text.split(',').map((p) => p.trim());
  const bad = patterns.find((p) => !isEventPattern(p));
  if (bad !== undefined)
    throw new ApiError('VALIDATION_FAILED', `invalid event type pattern ${JSON.stringify(bad)}`);
  return patterns;
}

/** `GET /v1/events`: every event (node.*, job.*) live as Server-Sent Events, resumable by id. */
export function registerEventRoutes(app: FastifyInstance, deps: EventRoutesDeps): void {
  app.get<{ Querystring: { types?: string; after?: string } }>(
    '/v1/events',
    {
      schema: {
        summary:
          'Events as Server-Sent Events: id (resume with Last-Event-ID), event (the type), data (the event)',
        description:
          'Without Last-Event-ID (or after) only events from now on; with it, the stored events after that id ' +
          'first. Each SSE message has `id` (the event id), `event` (its type) and `data` (the event JSON).',
        querystring: EventsQuery,
        response: { ...errors(400) },
      },
    },
    async (request, reply) => {
      const patterns = parsePatterns(request.query.types);
      const after = resumeAfter(request);
      const stream = deps.sse.open(reply);
      try {
        await followEvents(stream, deps.bus, {
          after,
          history: (id, limit) => deps.events.after(id, limit),
          accept: (event) => patterns === undefined || matchesAnyEventPattern(patterns, event.type),
          onEvent: (event) => stream.send({ id: event.id, event: event.type, data: event }),
        });
      } catch (err) {
        deps.log.warn('event stream failed', { error: String(err) });
        stream.close();
      }
    },
  );
}
