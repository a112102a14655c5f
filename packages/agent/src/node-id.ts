import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isWord } from '@ur/protocol/wire';

/** /etc/machine-id is 32 hex digits; Triton node ids are UUIDs. */
export function machineIdToUuid(machineId: string): string | undefined {
  const hex = machineId.trim().toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function smbiosUuid(): Promise<string | undefined> {
  const si = (await import('systeminformation')).default;
  const uuid = (await si.system()).uuid.trim().toLowerCase();
  return uuid !== '' && isWord(uuid) && !/^[0-]+$/.test(uuid) ? uuid : undefined;
}

/**
 * The default node id: the SMBIOS UUID, else /etc/machine-id as a UUID, else
 * a UUID generated once and kept in `idFile` so it survives restarts.
 */
export async function resolveNodeId(idFile: string, machineIdFile = '/etc/machine-id'): Promise<string> {
  const fromSmbios = await smbiosUuid().catch(() => undefined);
  if (fromSmbios !== undefined) return fromSmbios;
  const machineId = await readText(machineIdFile);
  const fromMachineId = machineId === undefined ? undefined : machineIdToUuid(machineId);
  if (fromMachineId !== undefined) return fromMachineId;
  const kept = (await readText(idFile))?.trim();
  if (kept !== undefined && isWord(kept)) return kept;
  const generated = randomUUID();
  await mkdir(dirname(idFile), { recursive: true, mode: 0o700 });
  await writeFile(idFile, `${generated}\n`, { mode: 0o600 });
  return generated;
}
