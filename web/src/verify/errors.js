// The two kinds of failure the Python verifier distinguishes (provenance/errors.py): an error it
// raises on purpose, with a stable code, and anything else. A check that hits "anything else"
// reports `<check>.error`, so the JS must throw a non-ProvenanceError exactly where Python would
// raise a TypeError, ValueError or CanonicalError.

export class ProvenanceError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "ProvenanceError";
    this.code = code;
  }
}

/** An exception Python would raise that is not a ProvenanceError (TypeError, ValueError, ...). */
export class PyError extends Error {
  constructor(pyType, message) {
    super(message);
    this.name = pyType;
    this.pyType = pyType;
  }
}

/** provenance.records.canonical.CanonicalError: a ValueError, not a ProvenanceError. */
export class CanonicalError extends PyError {
  constructor(reason, code) {
    super("CanonicalError", reason);
    this.code = code;
  }
}

export const formatError = (message, code) => new ProvenanceError(message, code);

/** Python's `type(e).__name__: e` for the detail of a failed-closed check. */
export function describe(e) {
  return `${e?.pyType ?? e?.name ?? "Error"}: ${e?.message ?? String(e)}`;
}
