import { Type } from '@sinclair/typebox';
import { ArtifactSummarySchema, check, type ArtifactSummary, type Sysinfo } from '@ur/protocol';

const ArtifactListSchema = Type.Array(ArtifactSummarySchema);

/**
 * The software artifacts a node announced in its sysinfo ("Ur Artifacts",
 * re-sent by the agent after every install and removal). Triton agents and
 * malformed lists give none.
 */
export function artifactsOf(sysinfo: Sysinfo): ArtifactSummary[] {
  const listed = sysinfo['Ur Artifacts'];
  if (listed === undefined) return [];
  const checked = check(ArtifactListSchema, listed);
  return checked.ok ? checked.value : [];
}
