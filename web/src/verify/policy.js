// provenance/policy.py, the grading half: a dataset's published verification policy (levels of
// requirements) applied to a verified datum, with the same reasons. The policy's own bundle is
// verified like any bundle first, and must be a record of ledger/policy/<dataset> signed by the
// datum's signer (trusted_policy).

export const POLICY_PREFIX = "ledger/policy/";

/** trusted_policy: the policy a verified policy bundle publishes for the datum's dataset. */
export function trustedPolicy(policyBundle, policyStatus, datum) {
  if (policyStatus !== "valid") throw new Error(`the policy's own bundle is ${policyStatus}, not valid`);
  const want = POLICY_PREFIX + datum.record.dataset;
  if (policyBundle.record.dataset !== want) {
    throw new Error(`the bundle is a record of ${policyBundle.record.dataset}, not of ${want}`);
  }
  if (policyBundle.manifest.signer !== datum.manifest.signer) {
    throw new Error(`the policy is signed by ${policyBundle.manifest.signer}, the data by ${datum.manifest.signer}`);
  }
  const policy = policyBundle.record.entry.record;
  if (policy?.format !== "provenance-policy/v1" || !Array.isArray(policy.levels) || !policy.levels.length) {
    throw new Error("the policy record is not a provenance-policy/v1 document");
  }
  return policy;
}

function unmet(key, want, facts) {
  if (key === "signers") {
    const signers = want.map((a) => a.toLowerCase());
    return signers.includes(facts.signer.toLowerCase()) ? null : `signed by ${facts.signer}, not a listed signer`;
  }
  if (key === "anchorMode") {
    return facts.anchorMode === want ? null : `anchored ${facts.anchorMode || "nowhere"}, not ${want}`;
  }
  if (key === "minConfirmations") {
    const got = facts.confirmations;
    return got != null && got >= want ? null : `${got ?? "unknown"} of ${want} confirmations`;
  }
  if (key === "maxAnchorDelay") {
    const got = facts.anchorDelay;
    if (got == null) return "the anchor's time is unknown";
    return got <= want ? null : `anchored ${got} s after createdAt, more than ${want} s`;
  }
  if (facts.qualityPassed == null) return "the schema has no quality rules";
  return facts.qualityPassed ? null : "the quality report lists failed rules";
}

/** evaluate: each level with why it is not met (empty when met), and the highest met. */
export function evaluatePolicy(policy, facts) {
  const levels = policy.levels.map((level) => {
    const reasons = [];
    if (policy.dataset !== facts.dataset) reasons.push(`the policy is ${policy.dataset}'s, the datum is ${facts.dataset}'s`);
    if (!facts.valid) reasons.push("the datum did not verify");
    for (const [key, want] of Object.entries(level)) {
      if (key === "name") continue;
      const why = unmet(key, want, facts);
      if (why) reasons.push(why);
    }
    return { name: level.name, met: !reasons.length, unmet: reasons };
  });
  let met = null;
  for (const level of levels) {
    if (!level.met) break;
    met = level.name;
  }
  return { dataset: policy.dataset, met, levels };
}

/** facts_of: what a verification established about a bundle, as a policy reads it. */
export function factsOf(datum, valid, depth, anchoredAt) {
  const m = datum.manifest.manifest;
  return {
    dataset: m.dataset,
    valid,
    signer: datum.manifest.signer,
    anchorMode: datum.anchor ? datum.anchor.mode : null,
    confirmations: depth,
    anchorDelay: anchoredAt == null ? null : anchoredAt - Number(m.createdAt),
    qualityPassed: m.quality ? m.quality.failedRules.length === 0 : null,
  };
}
