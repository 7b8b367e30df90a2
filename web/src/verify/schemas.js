// Copies of provenance/schemas/*.json (tests/web/verify.test.mjs fails when they drift apart):
// the browser cannot read the package's files, and schema.js interprets these. 2^64-1 is a
// BigInt: as a JS number it would be 2^64.

export const PROOF_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://provenance-ledger.invalid/schemas/provenance-proof-v1.schema.json",
  title: "provenance-proof/v1",
  description:
    "A self-contained proof that one record is part of a signed, anchored dataset snapshot. Hashes are 0x-prefixed lowercase or uppercase hex; the checkpoint is a C2SP signed note.",
  type: "object",
  required: ["format", "record", "manifest", "log", "anchor"],
  additionalProperties: false,
  properties: {
    format: {
      const: "provenance-proof/v1",
    },
    record: {
      type: "object",
      required: ["dataset", "version", "key", "entry", "leafIndex", "treeSize", "inclusionPath"],
      additionalProperties: false,
      properties: {
        dataset: {
          $ref: "#/$defs/datasetName",
        },
        version: {
          $ref: "#/$defs/uint64",
        },
        key: {
          type: "array",
          minItems: 1,
          maxItems: 64,
          items: {
            type: ["string", "integer", "number", "boolean"],
          },
        },
        entry: {
          type: "object",
          required: ["record"],
          additionalProperties: false,
          properties: {
            record: {
              type: "object",
            },
            salt: {
              type: "string",
              pattern: "^[0-9a-f]{64}$",
            },
            derived_from: {
              type: "array",
              maxItems: 1024,
              items: {
                $ref: "#/$defs/datumRef",
              },
            },
          },
        },
        leafIndex: {
          $ref: "#/$defs/uint64",
        },
        treeSize: {
          $ref: "#/$defs/uint64",
        },
        inclusionPath: {
          $ref: "#/$defs/path",
        },
      },
    },
    manifest: {
      type: "object",
      required: ["manifest", "domain", "signature", "signer"],
      additionalProperties: false,
      properties: {
        manifest: {
          type: "object",
        },
        domain: {
          type: "object",
          required: ["name", "version", "chainId", "verifyingContract"],
          additionalProperties: false,
          properties: {
            name: {
              const: "ProvenanceRegistry",
            },
            version: {
              const: "1",
            },
            chainId: {
              type: "integer",
              minimum: 1,
            },
            verifyingContract: {
              $ref: "#/$defs/address",
            },
          },
        },
        digest: {
          $ref: "#/$defs/hash",
        },
        signature: {
          type: "string",
          pattern: "^0x[0-9a-fA-F]*$",
          maxLength: 1024,
        },
        signer: {
          $ref: "#/$defs/address",
        },
      },
    },
    log: {
      oneOf: [
        {
          type: "null",
        },
        {
          type: "object",
          required: ["index", "treeSize", "inclusionPath", "checkpoint", "logKey"],
          additionalProperties: false,
          properties: {
            index: {
              $ref: "#/$defs/uint64",
            },
            treeSize: {
              $ref: "#/$defs/uint64",
            },
            inclusionPath: {
              $ref: "#/$defs/path",
            },
            checkpoint: {
              type: "string",
              maxLength: 65536,
            },
            logKey: {
              type: "string",
              maxLength: 512,
            },
          },
        },
      ],
    },
    anchor: {
      oneOf: [
        {
          type: "null",
        },
        {
          type: "object",
          required: ["mode", "chainId", "contract", "txHash", "blockNumber", "blockHash"],
          additionalProperties: false,
          properties: {
            mode: {
              enum: ["checkpoint", "direct"],
            },
            chainId: {
              type: "integer",
              minimum: 1,
            },
            contract: {
              $ref: "#/$defs/address",
            },
            txHash: {
              $ref: "#/$defs/hash",
            },
            blockNumber: {
              $ref: "#/$defs/uint64",
            },
            blockHash: {
              $ref: "#/$defs/hash",
            },
            checkpointIndex: {
              $ref: "#/$defs/uint64",
            },
          },
        },
      ],
    },
    upstream: {
      type: "array",
      maxItems: 256,
      items: {
        type: "object",
      },
    },
  },
  $defs: {
    uint64: {
      type: "integer",
      minimum: 0,
      maximum: 18446744073709551615n,
    },
    hash: {
      type: "string",
      pattern: "^0x[0-9a-fA-F]{64}$",
    },
    address: {
      type: "string",
      pattern: "^0x[0-9a-fA-F]{40}$",
    },
    path: {
      type: "array",
      maxItems: 128,
      items: {
        $ref: "#/$defs/hash",
      },
    },
    datasetName: {
      type: "string",
      pattern: "^[a-z0-9][a-z0-9._/-]{0,127}$",
    },
    datumRef: {
      type: "object",
      required: ["dataset", "version", "key"],
      additionalProperties: false,
      properties: {
        dataset: {
          $ref: "#/$defs/datasetName",
        },
        version: {
          $ref: "#/$defs/uint64",
        },
        key: {
          type: "array",
          minItems: 1,
          maxItems: 64,
        },
        leaf: {
          type: "string",
          pattern: "^0x[0-9a-f]{64}$",
          description: "leaf hash of the upstream record (pinned by the ledger at ingest)",
        },
      },
    },
  },
};

export const SNAPSHOT_PROOF_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://provenance-ledger.invalid/schemas/provenance-snapshot-proof-v1.schema.json",
  title: "provenance-snapshot-proof/v1",
  description:
    "Everything of a provenance-proof/v1 bundle but the record: the snapshot's signed manifest, its ledger-log inclusion and signed checkpoint, and its anchor. Whoever holds the data file recomputes the root and checks it against this and the chain (provenance check). Its sections are those of the bundle schema, by reference.",
  type: "object",
  required: ["format", "dataset", "version", "manifest", "log", "anchor"],
  additionalProperties: false,
  properties: {
    format: {
      const: "provenance-snapshot-proof/v1",
    },
    dataset: {
      $ref: "provenance-proof-v1.schema.json#/$defs/datasetName",
    },
    version: {
      $ref: "provenance-proof-v1.schema.json#/$defs/uint64",
    },
    manifest: {
      $ref: "provenance-proof-v1.schema.json#/properties/manifest",
    },
    log: {
      $ref: "provenance-proof-v1.schema.json#/properties/log",
    },
    anchor: {
      $ref: "provenance-proof-v1.schema.json#/properties/anchor",
    },
  },
};

export const PROOFS_SCHEMA = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "https://provenance-ledger.invalid/schemas/provenance-proofs-v1.schema.json",
  title: "provenance-proofs/v1",
  description:
    "A collection of record proofs sharing their snapshot sections: each snapshot's signed manifest, log inclusion, checkpoint and anchor once (provenance-snapshot-proof/v1), then records that point at them. Any record with its snapshot is a provenance-proof/v1 bundle. A lineage collection starts at `root` and holds the upstream records of its refs to `depth` steps.",
  type: "object",
  required: ["format", "snapshots", "records"],
  additionalProperties: false,
  properties: {
    format: {
      const: "provenance-proofs/v1",
    },
    snapshots: {
      type: "array",
      minItems: 1,
      maxItems: 10000,
      items: {
        $ref: "#/$defs/snapshotProof",
      },
    },
    records: {
      type: "array",
      minItems: 1,
      items: {
        $ref: "#/$defs/recordProof",
      },
    },
    root: {
      type: "integer",
      minimum: 0,
      description: "index in records of the datum a lineage collection is about",
    },
    depth: {
      type: "integer",
      minimum: 0,
    },
    truncated: {
      type: "boolean",
      description: "true when a limit cut the lineage: refs of some records point outside the collection",
    },
  },
  $defs: {
    snapshotProof: {
      type: "object",
      required: ["format", "dataset", "version", "manifest", "log", "anchor"],
      additionalProperties: false,
      properties: {
        format: {
          const: "provenance-snapshot-proof/v1",
        },
        dataset: {
          type: "string",
          maxLength: 128,
        },
        version: {
          type: "integer",
          minimum: 1,
          maximum: 18446744073709551615n,
        },
        manifest: {
          type: "object",
        },
        log: {
          type: ["object", "null"],
        },
        anchor: {
          type: ["object", "null"],
        },
      },
    },
    recordProof: {
      type: "object",
      required: ["snapshot", "key", "entry", "leafIndex", "inclusionPath"],
      additionalProperties: false,
      properties: {
        snapshot: {
          type: "integer",
          minimum: 0,
        },
        key: {
          type: "array",
          minItems: 1,
          maxItems: 64,
        },
        entry: {
          type: "object",
        },
        leafIndex: {
          type: "integer",
          minimum: 0,
          maximum: 18446744073709551615n,
        },
        inclusionPath: {
          type: "array",
          maxItems: 64,
          items: {
            type: "string",
          },
        },
      },
    },
  },
};
