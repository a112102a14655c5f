import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  CommandListQuerySchema,
  CommandListSchema,
  CommandRecordSchema,
  normalizeReply,
  WORD_PATTERN,
  type CommandList,
  type CommandListQuery,
  type CommandRecord,
} from '@ur/protocol';
import { ApiError } from '../errors.js';
import type { CommandRow } from '../store/command-store.js';
import type { HeadnodeStores } from '../store/stores.js';
import { errors } from './node-routes.js';

function toRecord(row: CommandRow): CommandRecord {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const sent = row.sent_at ?? row.issued_at;
  const elapsed = (row.finished_at ?? sent) - sent;
  return {
    request_id: row.request_id,
    node_id: row.node_id,
    type: row.type,
    status: row.status,
    issued_by: row.issued_by,
    issued_at: new Date(row.issued_at).toISOString(),
    finished_at: iso(row.finished_at),
    recorded_by: row.recorded_by,
    reply: row.reply === null ? null : normalizeReply(JSON.parse(row.reply), elapsed),
    job_id: row.job_id,
    state: row.state,
  };
}

/** Commands as recorded by every headnode sharing the store. */
export function registerCommandRoutes(app: FastifyInstance, stores: HeadnodeStores): void {
  app.get<{ Querystring: CommandListQuery }>(
    '/v1/commands',
    {
      schema: {
        summary: 'Recorded commands, newest first',
        querystring: CommandListQuerySchema,
        response: { 200: CommandListSchema, ...errors(400) },
      },
    },
    async (request): Promise<CommandList> => {
      const rows = await stores.commands.list({
        nodeId: request.query.node_id,
        limit: request.query.limit ?? 100,
      });
      return { commands: rows.map(toRecord) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/commands/:id',
    {
      schema: {
        summary: 'One command and its result, whichever headnode sent it or recorded the reply',
        params: Type.Object({ id: Type.String({ pattern: WORD_PATTERN }) }),
        response: { 200: CommandRecordSchema, ...errors(400, 404) },
      },
    },
    async (request): Promise<CommandRecord> => {
      const row = await stores.commands.get(request.params.id);
      if (!row) throw new ApiError('COMMAND_NOT_FOUND', `no command ${request.params.id} is recorded`);
      return toRecord(row);
    },
  );
}
