import type { ExecuteReply, ServiceEvent } from '@ur/protocol';
import type { WireClient } from '@ur/testkit';

export { markedProcesses, serviceZip, SERVICE_MANIFEST, SERVICE_SCRIPT, uniqueMarker } from '@ur/testkit';

export const serviceEvents = (client: WireClient, nodeId: string, coordinate: string): ServiceEvent[] =>
  client.messages
    .filter((m) => m.routingKey === `ur.event.${nodeId}.service`)
    .map((m) => m.body as ServiceEvent)
    .filter((e) => e.coordinate === coordinate);

/** Resolves with the first event of `coordinate` entering `state` after the first `skip` events. */
export function waitForState(
  client: WireClient,
  nodeId: string,
  coordinate: string,
  state: ServiceEvent['to'],
  skip = 0,
  timeoutMs = 15_000,
): Promise<ServiceEvent> {
  let seen = 0;
  return client
    .waitFor(
      `${coordinate} ${state}`,
      (m) => {
        if (m.routingKey !== `ur.event.${nodeId}.service`) return false;
        const e = m.body as ServiceEvent;
        if (e.coordinate !== coordinate) return false;
        seen += 1;
        return seen > skip && e.to === state;
      },
      timeoutMs,
    )
    .then((m) => m.body as ServiceEvent);
}

export const replyOf = (m: { body: unknown }): ExecuteReply => m.body as ExecuteReply;
