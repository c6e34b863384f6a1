// assignClaims (analyze/claims.ts) on findings made here: a throughput drop that a stall of the
// same process covers is that stall's symptom whatever their ranks, and keeps its gravity in
// it; no event id is cited by two findings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignClaims } from '../analyze/claims.ts';
import type { Finding } from '../analyze/types.ts';

function finding(kind: Finding['kind'], severity: Finding['severity'], from: number, to: number, ids: number[], impact: number): Finding {
  return {
    id: `${kind}:0:10:`, severity, kind, op: kind === 'throughput-drop' ? 'cudaLaunchKernel' : '', node_id: 0, node: 'n', pid: 10, process: 'python3', from_ns: from, to_ns: to,
    summary: kind, root_cause: kind, recommendations: [], caveats: [], impact_ns: impact, count: 0, p50_ns: 0, p99_ns: 0, confidence: 'medium', alternatives: [],
    evidence: [{ layer: 'HOST', kind: 'x', op: '', detail: '', values: {}, from_ns: from, to_ns: to, event_ids: ids }],
  };
}

test('a drop ranked above the stall that covers it folds into the stall', () => {
  const drop = finding('throughput-drop', 'HIGH', 9e9, 14e9, [5, 6], 4.4e9);
  const stall = finding('gpu-thread-stall', 'HIGH', 9.6e9, 14e9, [6], 4.39e9);
  const out = assignClaims([drop, stall]);
  assert.deepEqual(out.map((f) => f.kind), ['gpu-thread-stall']);
  assert.ok(out[0]!.alternatives.some((a) => a.cause === 'throughput-drop'));
  assert.deepEqual(out[0]!.evidence.flatMap((e) => e.event_ids ?? []).sort(), [5, 6], 'the drop\'s other events join the stall, none twice');
});

test('a milder stall takes the place and the severity of the graver drop it explains', () => {
  const drop = finding('throughput-drop', 'HIGH', 9e9, 14e9, [5], 4.4e9);
  const other = finding('cold-start', 'MEDIUM', 0, 1e9, [1], 1e9);
  const stall = finding('gpu-thread-stall', 'MEDIUM', 9.6e9, 14e9, [6], 3.9e9);
  const out = assignClaims([drop, other, stall]);
  assert.deepEqual(out.map((f) => `${f.severity} ${f.kind}`), ['HIGH gpu-thread-stall', 'MEDIUM cold-start']);
});

test('a stall covering less than half of the drop leaves both', () => {
  const drop = finding('throughput-drop', 'HIGH', 0, 14e9, [5], 9e9);
  const stall = finding('gpu-thread-stall', 'HIGH', 9.6e9, 14e9, [5, 6], 4.39e9);
  const out = assignClaims([drop, stall]);
  assert.deepEqual(out.map((f) => f.kind), ['throughput-drop', 'gpu-thread-stall']);
  assert.deepEqual(out[1]!.evidence.flatMap((e) => e.event_ids ?? []), [6], 'event 5 stays with the higher finding');
});
