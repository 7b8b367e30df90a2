// provenance/proofs/verdict.py: one check per link of a proof, each with a stable reason code.

export const CHECKS = [
  "leaf",
  "inclusion",
  "signature",
  "source-status",
  "log-inclusion",
  "checkpoint-signature",
  "anchor",
  "confirmations",
  "lineage",
];

export const SNAPSHOT_CHECKS = [
  "signature",
  "source-status",
  "log-inclusion",
  "checkpoint-signature",
  "anchor",
  "confirmations",
];

export const VALID = "valid";
export const INVALID = "invalid";
export const ABSENT = "absent";
export const PENDING = "pending";
export const SKIPPED = "skipped";
export const NOT_APPLICABLE = "not-applicable";
export const WARNING = "warning"; // only in a verdict's warnings: worth knowing, not a failure

/** A check as Check.to_json() writes it. */
export const check = (name, status, reason = "", detail = "") => ({ check: name, status, reason, detail });
export const valid = (name, detail = "") => check(name, VALID, "", detail);
export const invalid = (name, reason, detail) => check(name, INVALID, reason, detail);

function passing(offline) {
  return offline ? [VALID, NOT_APPLICABLE, SKIPPED, ABSENT] : [VALID, NOT_APPLICABLE, SKIPPED];
}

/** Verdict.status: invalid when a check failed (retracted when the only failure is the source's
 * retraction), valid when every one passed, else incomplete. */
export function verdictStatus(checks, offline) {
  const failed = checks.filter((c) => c.status === INVALID);
  if (failed.length) return failed.every((c) => c.reason === "anchor.retracted") ? "retracted" : "invalid";
  const ok = passing(offline);
  return checks.every((c) => ok.includes(c.status)) ? "valid" : "incomplete";
}

/** Verdict.to_json(). */
export function verdict(checks, upstream = [], offline = false, warnings = []) {
  const out = { status: verdictStatus(checks, offline), offline, checks, upstream };
  if (warnings.length) out.warnings = warnings;
  return out;
}

/** verify.warnings_of: the warnings among a snapshot's checks (disputes). */
export const warningsOf = (checks) => Object.values(checks).filter((c) => c.status === WARNING);

/** The checks of a verdict that are not passing (Verdict.failed). */
export function failed(v) {
  const ok = passing(v.offline);
  return v.checks.filter((c) => !ok.includes(c.status));
}
