// Network interference: TCP retransmission bursts on a node with GPU work (NCCL or data loading
// over TCP slows down when segments are lost).
import { sampleIds, type AnalysisContext } from '../context.ts';
import type { Finding } from '../types.ts';
import { count, dur } from '../words.ts';
import { makeFinding } from './make-finding.ts';

export function detectNetworkInterference(ctx: AnalysisContext): Finding[] {
  const th = ctx.th;
  const op = ctx.opId('tcp_retransmit');
  if (op === undefined) return [];
  const out: Finding[] = [];
  for (const node of [...ctx.facts.nodes.keys()]) {
    const [id, ts] = ctx.columns((g) => g.node === node && g.op === op, ['id', 'ts']);
    const n = ts!.length;
    if (n < th.tcpRetransmits) continue;
    const proc = ctx.gpuProcesses.find((p) => p.node_id === node);
    out.push(
      makeFinding(ctx, {
        kind: 'network-interference',
        severity: n >= 10 * th.tcpRetransmits ? 'HIGH' : 'MEDIUM',
        node_id: node,
        pid: proc?.pid ?? 0,
        op: '',
        from_ns: ts![0]!,
        to_ns: ts![n - 1]!,
        summary: `${count(n, 'TCP retransmission')} on ${ctx.nodeName(node)} over ${dur(ts![n - 1]! - ts![0]!)}`,
        root_cause: 'Packet loss on the host network: collective communication or remote data loading over TCP waits for retransmissions.',
        evidence: [{ layer: 'NET', kind: 'retransmits', op: 'tcp_retransmit', detail: `${count(n, 'TCP segment')} retransmitted.`, values: { retransmits: n }, from_ns: ts![0]!, to_ns: ts![n - 1]!, event_ids: sampleIds(id!), node_id: node }],
        recommendations: ['Check the NIC counters (ethtool -S) and MTU settings along the path.', 'For NCCL, choose the right interface (NCCL_SOCKET_IFNAME) or use InfiniBand/RoCE if present.'],
        impact_ns: 0,
      }),
    );
  }
  return out;
}
