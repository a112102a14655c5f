import { Type, type Static } from '@sinclair/typebox';
import {
  ArtifactInstallRequestSchema,
  ArtifactInstallResultSchema,
  ArtifactRemoveResultSchema,
  InstalledArtifactSchema,
} from './messages/artifact.js';

/** Schemas of the headnode's artifact routes (`/v1/nodes/:id/artifacts`). */
const RequestRef = Type.Object({ node_id: Type.String(), request_id: Type.String() });

export const ArtifactInstallBodySchema = Type.Pick(
  ArtifactInstallRequestSchema,
  ['coordinate', 'url', 'sha256', 'timeout'],
  { title: 'ArtifactInstallBody' },
);
export type ArtifactInstallBody = Static<typeof ArtifactInstallBodySchema>;

export const ArtifactInstallResponseSchema = Type.Composite([RequestRef, ArtifactInstallResultSchema], {
  title: 'ArtifactInstallResponse',
});
export type ArtifactInstallResponse = Static<typeof ArtifactInstallResponseSchema>;

export const ArtifactRemoveResponseSchema = Type.Composite([RequestRef, ArtifactRemoveResultSchema], {
  title: 'ArtifactRemoveResponse',
});
export type ArtifactRemoveResponse = Static<typeof ArtifactRemoveResponseSchema>;

export const ArtifactListResponseSchema = Type.Composite(
  [RequestRef, Type.Object({ artifacts: Type.Array(InstalledArtifactSchema) })],
  { title: 'ArtifactListResponse' },
);
export type ArtifactListResponse = Static<typeof ArtifactListResponseSchema>;
