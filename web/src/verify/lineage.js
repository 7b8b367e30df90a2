// provenance/lineage.py: the rules a record-level lineage edge must satisfy (check_refs,
// check_edge). An upstream is {dataset, version, key, datasetId, root, status, leaf}.

import { equal, hexStr } from "./bytes.js";
import { keyText } from "./canonical.js";
import { get, numEq, numKey, pyRepr } from "./py.js";

/** The dictionary key Python's (dataset, version, key text) tuple makes. */
export const refKey = (dataset, version, key) => JSON.stringify([dataset, numKey(version), keyText(key)]);

/** The first broken edge among refs as [reason code, detail], or null. */
export function checkRefs(refs, parents, upstream) {
  const byRef = new Map(upstream.map((u) => [refKey(u.dataset, u.version, u.key), u]));
  for (const ref of refs) {
    const found = byRef.get(refKey(ref.dataset, ref.version, ref.key));
    if (found === undefined) {
      return [
        "lineage.missing-upstream",
        `no upstream bundle for ${ref.dataset} v${ref.version} ${pyRepr(ref.key)}`,
      ];
    }
    const broken = checkEdge(ref, parents, found);
    if (broken !== null) return broken;
  }
  return null;
}

/** One edge: the pinned leaf is the upstream record's, it verified, its snapshot is a parent. */
export function checkEdge(ref, parents, found) {
  const pinned = get(ref, "leaf", null);
  if (pinned !== null && pinned !== hexStr(found.leaf)) {
    return [
      "lineage.leaf-mismatch",
      `the ref pins leaf ${pinned}, the upstream record's is ${hexStr(found.leaf)}`,
    ];
  }
  if (found.status === "retracted") {
    return [
      "lineage.upstream-retracted",
      `the upstream snapshot ${found.dataset}@${found.version} was retracted by its source`,
    ];
  }
  if (found.status !== "valid") return ["lineage.upstream-invalid", `the upstream record is ${found.status}`];
  const isParent = parents.some(
    (p) =>
      equal(p.datasetId, found.datasetId) && numEq(p.version, found.version) && equal(p.root, found.root),
  );
  if (!isParent) {
    return [
      "lineage.not-a-parent",
      `${ref.dataset} v${ref.version} (root ${hexStr(found.root)}) is not a parent`,
    ];
  }
  return null;
}
