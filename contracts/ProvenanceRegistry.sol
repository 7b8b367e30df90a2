// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title ProvenanceRegistry
/// @author Provenance ledger project
/// @notice On-chain trust root of the provenance ledger. It anchors
///  (a) dataset snapshots signed by registered sources (EIP-712, secp256k1), and
///  (b) checkpoints of the append-only ledger log (RFC 9162 Merkle tree), checking on-chain
///      that every new checkpoint is consistent with the previous one, so anchored history can
///      never be rewritten or forked.
/// @dev Not upgradeable on purpose: one deployment per chain is the trust root.
///  Hash conventions (RFC 9162 §2.1): leaf = SHA-256(0x00 || input), node = SHA-256(0x01 || l || r),
///  empty tree = SHA-256(""). SHA-256 runs through the precompile at address 0x02 with one reused
///  65-byte buffer, which is much cheaper than Solidity's `sha256()` (that allocates per call).
///  Every state change emits an event, so the whole state can be rebuilt from logs alone.
contract ProvenanceRegistry is Ownable2Step, EIP712 {
    // ------------------------------------------------------------------ types

    /// @notice An upstream snapshot a snapshot was derived from.
    struct Parent {
        bytes32 datasetId;
        uint64 version;
        bytes32 root;
    }

    // Snapshot's field order is the signed EIP-712 type; it is only ever calldata, never stored.
    /* solhint-disable gas-struct-packing */
    /// @notice A dataset snapshot manifest, as signed by its source (EIP-712 primary type).
    struct Snapshot {
        bytes32 datasetId;
        uint64 version;
        bytes32 root;
        uint64 size;
        bytes32 schemaHash;
        Parent[] parents;
        bytes32 transformHash;
        uint64 createdAt;
    }
    /// @notice A retraction as signed by the snapshot's source or an authorised signer of its
    ///  dataset (EIP-712 primary type). `reasonHash` commits to the published reason text.
    struct Retraction {
        bytes32 datasetId;
        uint64 version;
        bytes32 root;
        bytes32 reasonHash;
    }
    /* solhint-enable gas-struct-packing */

    /// @notice Lifecycle of a source key. Revocation is final.
    enum SourceStatus {
        Unknown,
        Active,
        Revoked
    }

    /// @dev One slot: the dataset's owner (first source to anchor it) and its latest version.
    struct Dataset {
        address owner;
        uint64 latestVersion;
    }

    /// @dev Two slots, both written once. `size` is narrowed to uint56 and `blockNumber` to uint40
    ///  so that signer, size and block share the second slot: a third fresh slot would cost
    ///  22.1k gas per anchor. 2^56 records and 2^40 blocks are out of reach of any real dataset/chain;
    ///  a manifest with a larger size is refused with {SizeTooLarge} rather than silently truncated.
    struct SnapshotRecord {
        bytes32 root;
        address signer;
        uint56 size;
        uint40 blockNumber;
    }

    // -------------------------------------------------------------- constants

    // The EIP-712 type strings are longer than 32 bytes by nature; they are hashed at compile time.
    /* solhint-disable gas-small-strings */
    /// @dev keccak256 of the EIP-712 type string of {Parent}.
    bytes32 private constant PARENT_TYPEHASH = keccak256("Parent(bytes32 datasetId,uint64 version,bytes32 root)");

    /// @dev keccak256 of the EIP-712 type string of {Snapshot} (referenced types appended, sorted by name).
    bytes32 private constant SNAPSHOT_TYPEHASH =
        keccak256(
            "Snapshot(bytes32 datasetId,uint64 version,bytes32 root,uint64 size,bytes32 schemaHash,"
            "Parent[] parents,bytes32 transformHash,uint64 createdAt)"
            "Parent(bytes32 datasetId,uint64 version,bytes32 root)"
        );

    /// @dev keccak256 of the EIP-712 type string of {Retraction}.
    bytes32 private constant RETRACTION_TYPEHASH =
        keccak256("Retraction(bytes32 datasetId,uint64 version,bytes32 root,bytes32 reasonHash)");
    /* solhint-enable gas-small-strings */

    /// @dev `_checkpointHead` layout (see the storage notes): primary anchorer in bits 0..159,
    ///  latest checkpoint size in bits 160..223, checkpoint count in bits 224..255.
    uint256 private constant SIZE_SHIFT = 160;
    uint256 private constant COUNT_SHIFT = 224;
    uint256 private constant PRIMARY_MASK = (1 << 160) - 1;
    uint256 private constant MAX_COUNT = 0xffffffff;

    // ---------------------------------------------------------------- storage

    mapping(address source => SourceStatus) private _sourceStatus;
    mapping(address account => bool) private _anchorers;
    mapping(bytes32 datasetId => Dataset) private _datasets;
    mapping(bytes32 datasetId => mapping(address signer => bool)) private _signers;
    mapping(bytes32 datasetId => mapping(uint64 version => SnapshotRecord)) private _snapshots;
    mapping(bytes32 datasetId => mapping(uint64 version => bool)) private _retracted;
    // Log keys the owner vouches for, by keccak256 of their C2SP verifier-key text. Verifiers pin
    // the key that signed a checkpoint here instead of trusting the one a bundle carries.
    mapping(bytes32 keyHash => bool) private _logKeys;
    // Checkpoint-mode snapshots live in the ledger log, not in `_snapshots`: their retractions and
    // every snapshot's disputes are keyed by keccak256(abi.encode(datasetId, version, root)).
    mapping(bytes32 snapshotKey => bool) private _retractedLogged;
    mapping(bytes32 snapshotKey => uint256) private _disputes;

    // Checkpoint log. Bar: <= 70k gas per anchor, consistency proof included, at any log size.
    // Fixed costs: 21k transaction base, 2.1k per cold slot read, 2.9k per rewrite of a slot read
    // before, 1.9k for the event; each proof hash adds ~1k (512 calldata + one or two 196-gas
    // SHA-256 calls), and a proof into a 1M-entry log has up to 21 hashes (~55k in all).
    // Only the latest checkpoint is kept in storage. Keeping every root (one fresh slot per anchor,
    // 22.1k) put long proofs over the bar (72.9k at 21 hashes); the storage is not what makes older
    // checkpoints checkable:
    //  - every anchor emits {CheckpointAnchored}(index, size, root), both topics indexed, so the
    //    checkpoint of any index or size is one `eth_getLogs` away (`cast logs`), and
    //  - {verifyCheckpoint} checks any (size, root) against the latest anchored checkpoint with an
    //    RFC 9162 consistency proof, which on-chain consumers can call too. As every anchor was
    //    checked consistent with the one before, an old checkpoint is consistent with the latest
    //    exactly when it was part of the anchored history.
    // Storage:
    //  - `_checkpointHead`: one slot, read once and written once per anchor: the checkpoint count
    //    (uint32, bits 224..255; an anchor costs ~55k gas, so 2^32 of them are out of reach, and the
    //    increment is checked anyway), the latest size (uint64, bits 160..223) and the primary
    //    anchorer (bits 0..159). The primary anchorer is authorised by comparing `msg.sender` with
    //    the head that is read anyway, which saves the cold `_anchorers` read (2.1k) on the common
    //    path; other anchorers still pay that read.
    //  - `_checkpointRoot`: root of the latest checkpoint, read (the consistency proof starts there)
    //    and rewritten once per anchor. Never zero once set: the first anchor refuses a zero root;
    //    later roots are SHA-256 outputs bound by the consistency proof.
    // Per anchor: head read + write (2.1k + 2.9k), root read + write (2.1k + 2.9k).
    uint256 private _checkpointHead;
    bytes32 private _checkpointRoot;

    // ----------------------------------------------------------------- events

    /// @notice `source` may now sign snapshots and claim new datasets.
    /// @param source The source's signing address.
    event SourceRegistered(address indexed source);

    /// @notice `source` is revoked for good: none of its signatures are accepted any more.
    /// @param source The revoked signing address.
    event SourceRevoked(address indexed source);

    // `enabled` is not indexed: nobody filters on it, and topics cost gas.
    /* solhint-disable gas-indexed-events */
    /// @notice `anchorer` may (or may no longer) anchor checkpoints.
    /// @param anchorer The account.
    /// @param enabled Its new permission.
    event AnchorerSet(address indexed anchorer, bool enabled);

    /// @notice `owner` anchored version 1 of `datasetId` and so became the dataset's owner.
    /// @param datasetId keccak256 of the dataset name.
    /// @param owner The source that owns the dataset from now on.
    event DatasetClaimed(bytes32 indexed datasetId, address indexed owner);

    /// @notice The dataset owner authorised `signer` to sign snapshots of `datasetId`.
    /// @param datasetId keccak256 of the dataset name.
    /// @param signer The newly authorised signing address.
    event SignerAuthorized(bytes32 indexed datasetId, address indexed signer);

    /// @notice The dataset owner withdrew the authorisation of `signer` for `datasetId`.
    /// @param datasetId keccak256 of the dataset name.
    /// @param signer The signing address no longer authorised.
    event SignerRemoved(bytes32 indexed datasetId, address indexed signer);

    /// @notice The owner vouches (or no longer vouches) for a log key: checkpoints signed by it are
    ///  the ledger's. The text is in the event so the key can be read back from the logs alone.
    /// @param keyHash keccak256 of `verifierKey`.
    /// @param verifierKey C2SP verifier key (`<name>+<key id hex>+<base64 key>`).
    /// @param trusted Its new standing.
    event LogKeySet(bytes32 indexed keyHash, string verifierKey, bool trusted);

    /// @notice A signed snapshot manifest was anchored.
    /// @param datasetId keccak256 of the dataset name.
    /// @param version Snapshot version (from 1).
    /// @param signer Recovered signer of the manifest.
    /// @param root RFC 9162 root of the snapshot tree.
    /// @param size Number of records (leaves) in the snapshot.
    /// @param digest EIP-712 digest of the manifest (the ledger-log leaf input).
    event SnapshotAnchored(
        bytes32 indexed datasetId,
        uint64 indexed version,
        address indexed signer,
        bytes32 root,
        uint64 size,
        bytes32 digest
    );

    /// @notice A snapshot was retracted. It stays on record, flagged.
    /// @param datasetId keccak256 of the dataset name.
    /// @param version The retracted version.
    /// @param by The account that retracted it.
    /// @param reasonHash Commitment to the reason published off-chain.
    event SnapshotRetracted(bytes32 indexed datasetId, uint64 indexed version, address indexed by, bytes32 reasonHash);

    /// @notice A snapshot anchored through the ledger log was retracted by a signed {Retraction}.
    /// @param datasetId keccak256 of the dataset name.
    /// @param version The retracted version.
    /// @param by The retraction's signer.
    /// @param root The retracted snapshot's root.
    /// @param reasonHash Commitment to the reason published off-chain.
    event LoggedSnapshotRetracted(
        bytes32 indexed datasetId,
        uint64 indexed version,
        address indexed by,
        bytes32 root,
        bytes32 reasonHash
    );

    /// @notice Someone disputes a snapshot. Anyone may; a dispute is a warning, not a verdict.
    /// @param datasetId keccak256 of the dataset name.
    /// @param version The disputed version.
    /// @param by Who raised it.
    /// @param root The disputed snapshot's root.
    /// @param reasonHash Commitment to the dispute's reason.
    /// @param evidenceUri Where the evidence is published.
    event SnapshotDisputed(
        bytes32 indexed datasetId,
        uint64 indexed version,
        address indexed by,
        bytes32 root,
        bytes32 reasonHash,
        string evidenceUri
    );

    /// @notice Checkpoint number `index` (from 0) of the ledger log was anchored. Only the latest
    ///  checkpoint stays in storage: these events are the on-chain record of all the others.
    /// @param index Position of the checkpoint among the anchored ones.
    /// @param size Log size (number of entries) of the checkpoint.
    /// @param root RFC 9162 root of the log at that size.
    event CheckpointAnchored(uint256 indexed index, uint64 indexed size, bytes32 root);
    /* solhint-enable gas-indexed-events */

    // ----------------------------------------------------------------- errors

    error ZeroAddress();
    error SourceAlreadyActive(address source);
    error SourceIsRevoked(address source);
    error SourceNotActive(address source);
    error AnchorerUnchanged(address anchorer, bool enabled);
    error NotAnchorer(address account);
    error NotDatasetOwner(bytes32 datasetId, address account);
    error NotDatasetSigner(bytes32 datasetId, address account);
    error SignerAlreadyAuthorized(bytes32 datasetId, address signer);
    error SignerNotAuthorized(bytes32 datasetId, address signer);
    error InvalidSignature();
    error InvalidSignatureLength(uint256 length);
    error InvalidSignatureS(bytes32 s);
    error UnexpectedVersion(bytes32 datasetId, uint64 expected, uint64 actual);
    error SizeTooLarge(uint64 size);
    error SnapshotNotFound(bytes32 datasetId, uint64 version);
    error AlreadyRetracted(bytes32 datasetId, uint64 version);
    error EmptyCheckpoint();
    error UnexpectedProof();
    error CheckpointSizeUnchanged(uint64 size);
    error CheckpointSizeDecreased(uint64 previousSize, uint64 size);
    error InvalidConsistencyProof();
    error NoCheckpoint();
    error ZeroCheckpointRoot();
    error EmptyLogKey();
    error RetractionMismatch();
    error NotInLog(uint64 index);
    error LogKeyUnchanged(bytes32 keyHash, bool trusted);

    // ------------------------------------------------------------ constructor

    /// @notice Deploys the registry; EIP-712 domain {name: "ProvenanceRegistry", version: "1"}.
    /// @param initialOwner Account that manages sources and anchorers (transfer is two-step).
    constructor(address initialOwner) Ownable(initialOwner) EIP712("ProvenanceRegistry", "1") {}

    // ---------------------------------------------------------------- sources

    /// @notice Registers `signer` as an active source. A revoked source can never come back.
    /// @param signer Address of the source's secp256k1 key.
    function registerSource(address signer) external onlyOwner {
        if (signer == address(0)) revert ZeroAddress();
        SourceStatus status = _sourceStatus[signer];
        if (status == SourceStatus.Revoked) revert SourceIsRevoked(signer);
        if (status == SourceStatus.Active) revert SourceAlreadyActive(signer);
        _sourceStatus[signer] = SourceStatus.Active;
        emit SourceRegistered(signer);
    }

    /// @notice Revokes `signer` for good. Also works on a key that was never a source (e.g. a
    ///  compromised authorised signer), so that no dataset can accept its signatures again.
    /// @param signer Address to revoke.
    function revokeSource(address signer) external onlyOwner {
        if (signer == address(0)) revert ZeroAddress();
        if (_sourceStatus[signer] == SourceStatus.Revoked) revert SourceIsRevoked(signer);
        _sourceStatus[signer] = SourceStatus.Revoked;
        emit SourceRevoked(signer);
    }

    /// @notice Status of a signing address.
    /// @param signer The address.
    /// @return 0 unknown, 1 active, 2 revoked.
    function sourceStatus(address signer) external view returns (uint8) {
        return uint8(_sourceStatus[signer]);
    }

    // -------------------------------------------------------------- anchorers

    /// @notice Allows or disallows `anchorer` to anchor checkpoints. The owner is not implicitly one.
    /// @dev Primary anchorer (its anchors skip one cold storage read, ~2.1k gas): an enabled
    ///  anchorer becomes primary when there is none; disabling the primary leaves the role empty
    ///  until the next enabled anchorer (to promote an existing anchorer, disable and re-enable it).
    ///  The primary is always also in `_anchorers`, so the rule can be replayed from {AnchorerSet}.
    /// @param anchorer Account that submits `anchorCheckpoint` transactions.
    /// @param enabled New permission; setting the current value again is refused.
    function setAnchorer(address anchorer, bool enabled) external onlyOwner {
        if (anchorer == address(0)) revert ZeroAddress();
        if (_anchorers[anchorer] == enabled) revert AnchorerUnchanged(anchorer, enabled);
        _anchorers[anchorer] = enabled;
        uint256 head = _checkpointHead;
        address primary = address(uint160(head));
        if (enabled ? primary == address(0) : primary == anchorer) {
            address newPrimary = enabled ? anchorer : address(0);
            _checkpointHead = (head & ~PRIMARY_MASK) | uint256(uint160(newPrimary));
        }
        emit AnchorerSet(anchorer, enabled);
    }

    /// @notice Whether `account` may anchor checkpoints.
    /// @param account The account.
    /// @return True if it is an anchorer (primary or not).
    function isAnchorer(address account) external view returns (bool) {
        return _anchorers[account];
    }

    /// @notice The primary anchorer: the anchorer whose checkpoint anchors cost ~2.1k gas less.
    /// @return The primary anchorer, or the zero address if there is none.
    function primaryAnchorer() external view returns (address) {
        return address(uint160(_checkpointHead));
    }

    // --------------------------------------------------------------- log keys

    /// @notice Vouches for (or withdraws) the Ed25519 key that signs the ledger log's checkpoints.
    ///  A withdrawn key's checkpoints stop verifying: withdraw a key only when it is compromised.
    /// @param verifierKey C2SP verifier key text, exactly as bundles carry it.
    /// @param trusted New standing; setting the current one again is refused.
    function setLogKey(string calldata verifierKey, bool trusted) external onlyOwner {
        if (bytes(verifierKey).length == 0) revert EmptyLogKey();
        bytes32 keyHash = keccak256(bytes(verifierKey));
        if (_logKeys[keyHash] == trusted) revert LogKeyUnchanged(keyHash, trusted);
        _logKeys[keyHash] = trusted;
        emit LogKeySet(keyHash, verifierKey, trusted);
    }

    /// @notice Whether the owner vouches for a log key (`cast call REG "isLogKey(string)(bool)" KEY`).
    /// @param verifierKey C2SP verifier key text.
    /// @return True if checkpoints signed by it are the ledger's.
    function isLogKey(string calldata verifierKey) external view returns (bool) {
        return _logKeys[keccak256(bytes(verifierKey))];
    }

    // --------------------------------------------------------------- datasets

    /// @notice Lets `signer` sign snapshots of `datasetId` (e.g. a rotated key). Dataset owner only,
    ///  and only while the owner is an active source.
    /// @param datasetId keccak256 of the dataset name.
    /// @param signer Address to authorise; not revoked, not yet authorised.
    function authorizeSigner(bytes32 datasetId, address signer) external {
        _checkActiveDatasetOwner(datasetId);
        if (signer == address(0)) revert ZeroAddress();
        if (_sourceStatus[signer] == SourceStatus.Revoked) revert SourceIsRevoked(signer);
        if (_signers[datasetId][signer]) revert SignerAlreadyAuthorized(datasetId, signer);
        _signers[datasetId][signer] = true;
        emit SignerAuthorized(datasetId, signer);
    }

    /// @notice Withdraws the authorisation of `signer` for `datasetId`. Dataset owner only, while active.
    /// @param datasetId keccak256 of the dataset name.
    /// @param signer A currently authorised address.
    function removeSigner(bytes32 datasetId, address signer) external {
        _checkActiveDatasetOwner(datasetId);
        if (!_signers[datasetId][signer]) revert SignerNotAuthorized(datasetId, signer);
        _signers[datasetId][signer] = false;
        emit SignerRemoved(datasetId, signer);
    }

    /// @notice Owner of a dataset: the source that anchored its version 1.
    /// @param datasetId keccak256 of the dataset name.
    /// @return The owner, or the zero address if nothing was anchored directly yet.
    function datasetOwner(bytes32 datasetId) external view returns (address) {
        return _datasets[datasetId].owner;
    }

    /// @notice Latest directly anchored version of a dataset.
    /// @param datasetId keccak256 of the dataset name.
    /// @return The version, 0 if none.
    function latestVersion(bytes32 datasetId) external view returns (uint64) {
        return _datasets[datasetId].latestVersion;
    }

    /// @notice Whether a signature of `signer` is accepted for `datasetId` now: the owner while it is
    ///  an active source, or an authorised signer that is not revoked.
    /// @param datasetId keccak256 of the dataset name.
    /// @param signer The address.
    /// @return True if `anchorSnapshot` and `retract` accept it for the dataset.
    function isAuthorizedSigner(bytes32 datasetId, address signer) public view returns (bool) {
        SourceStatus status = _sourceStatus[signer];
        if (status == SourceStatus.Revoked) return false;
        if (signer == _datasets[datasetId].owner) return status == SourceStatus.Active;
        return _signers[datasetId][signer];
    }

    // -------------------------------------------------------------- snapshots

    /// @notice Anchors a signed snapshot manifest. Anyone may submit it (relayer); the authority is
    ///  the EIP-712 signature, recovered on-chain.
    /// @dev Signer rules: never a revoked key; for a new dataset an active source, which becomes the
    ///  owner; for an existing dataset its (active) owner or an authorised signer. Versions start at 1
    ///  and increase by exactly one. Parents are signed but not checked against chain state: they may
    ///  have been anchored through a checkpoint only.
    /// @param s The manifest.
    /// @param signature 65-byte (r, s, v) secp256k1 signature with low s.
    /// @return digest The EIP-712 digest that was signed.
    function anchorSnapshot(Snapshot calldata s, bytes calldata signature) external returns (bytes32 digest) {
        digest = _hashTypedDataV4(_hashSnapshot(s));
        address signer = _recover(digest, signature);

        SourceStatus status = _sourceStatus[signer];
        if (status == SourceStatus.Revoked) revert SourceIsRevoked(signer);

        bytes32 datasetId = s.datasetId;
        Dataset memory dataset = _datasets[datasetId];
        if (dataset.owner == address(0)) {
            if (status != SourceStatus.Active) revert SourceNotActive(signer);
            dataset.owner = signer;
            emit DatasetClaimed(datasetId, signer);
        } else if (signer != dataset.owner && !_signers[datasetId][signer]) {
            // An owner is always a registered source, so "not revoked" already means active.
            revert NotDatasetSigner(datasetId, signer);
        }

        uint64 version = s.version;
        if (version != dataset.latestVersion + 1) {
            revert UnexpectedVersion(datasetId, dataset.latestVersion + 1, version);
        }
        uint64 size = s.size;
        if (size > type(uint56).max) revert SizeTooLarge(size);

        _datasets[datasetId] = Dataset({owner: dataset.owner, latestVersion: version});
        _snapshots[datasetId][version] = SnapshotRecord({
            root: s.root,
            signer: signer,
            size: uint56(size),
            blockNumber: uint40(block.number)
        });
        emit SnapshotAnchored(datasetId, version, signer, s.root, size, digest);
    }

    /// @notice EIP-712 digest of a manifest under this contract's domain (what the source signs).
    /// @param s The manifest.
    /// @return The digest (`_hashTypedDataV4` of its struct hash).
    function snapshotDigest(Snapshot calldata s) external view returns (bytes32) {
        return _hashTypedDataV4(_hashSnapshot(s));
    }

    /// @notice A directly anchored snapshot. Reverts with {SnapshotNotFound}.
    /// @param datasetId keccak256 of the dataset name.
    /// @param version The version.
    /// @return root Snapshot tree root.
    /// @return size Number of records (leaves).
    /// @return signer Recovered signer of the manifest.
    /// @return blockNumber Block in which it was anchored.
    /// @return retracted Whether it has been retracted since.
    function snapshotOf(
        bytes32 datasetId,
        uint64 version
    ) external view returns (bytes32 root, uint64 size, address signer, uint64 blockNumber, bool retracted) {
        SnapshotRecord storage r = _snapshots[datasetId][version];
        signer = r.signer;
        if (signer == address(0)) revert SnapshotNotFound(datasetId, version);
        return (r.root, r.size, signer, r.blockNumber, _retracted[datasetId][version]);
    }

    /// @notice Marks an anchored snapshot as retracted (it stays on record). Callable by whoever may
    ///  currently sign for the dataset ({isAuthorizedSigner}); a second retraction is refused.
    /// @param datasetId keccak256 of the dataset name.
    /// @param version A directly anchored version.
    /// @param reasonHash Hash of the published reason (e.g. SHA-256 of a JSON document).
    function retract(bytes32 datasetId, uint64 version, bytes32 reasonHash) external {
        if (!isAuthorizedSigner(datasetId, msg.sender)) revert NotDatasetSigner(datasetId, msg.sender);
        if (_snapshots[datasetId][version].signer == address(0)) revert SnapshotNotFound(datasetId, version);
        if (_retracted[datasetId][version]) revert AlreadyRetracted(datasetId, version);
        _retracted[datasetId][version] = true;
        emit SnapshotRetracted(datasetId, version, msg.sender, reasonHash);
    }

    /// @notice Retracts a directly anchored snapshot by a {Retraction} its source or an authorised
    ///  signer signed; anyone may submit it (the ledger's worker relays it).
    /// @param r The retraction; `root` must be the anchored root.
    /// @param signature EIP-712 signature of `r`.
    function retractSigned(Retraction calldata r, bytes calldata signature) external {
        address signer = _recover(_hashTypedDataV4(_hashRetraction(r)), signature);
        if (!isAuthorizedSigner(r.datasetId, signer)) revert NotDatasetSigner(r.datasetId, signer);
        SnapshotRecord storage record = _snapshots[r.datasetId][r.version];
        if (record.signer == address(0)) revert SnapshotNotFound(r.datasetId, r.version);
        if (record.root != r.root) revert RetractionMismatch();
        if (_retracted[r.datasetId][r.version]) revert AlreadyRetracted(r.datasetId, r.version);
        _retracted[r.datasetId][r.version] = true;
        emit SnapshotRetracted(r.datasetId, r.version, signer, r.reasonHash);
    }

    /// @notice Retracts a snapshot anchored through the ledger log. The contract never saw that
    ///  snapshot, so the call proves it: the signed manifest, whose EIP-712 digest is a log entry
    ///  included in the latest anchored checkpoint. The retraction's signer must be the manifest's
    ///  (still active) signer or an authorised signer of the dataset.
    /// @param r The retraction; dataset, version and root must be the manifest's.
    /// @param signature EIP-712 signature of `r`.
    /// @param s The retracted snapshot's manifest.
    /// @param manifestSignature Its source's EIP-712 signature.
    /// @param index The manifest digest's entry in the ledger log.
    /// @param proof RFC 9162 inclusion proof of that entry in the latest anchored checkpoint.
    function retractLogged(
        Retraction calldata r,
        bytes calldata signature,
        Snapshot calldata s,
        bytes calldata manifestSignature,
        uint64 index,
        bytes32[] calldata proof
    ) external {
        if (s.datasetId != r.datasetId || s.version != r.version || s.root != r.root) revert RetractionMismatch();
        bytes32 digest = _hashTypedDataV4(_hashSnapshot(s));
        if (!_inLatestCheckpoint(digest, index, proof)) revert NotInLog(index);
        address source = _recover(digest, manifestSignature);
        address signer = _recover(_hashTypedDataV4(_hashRetraction(r)), signature);
        bool allowed = signer == source
            ? _sourceStatus[signer] == SourceStatus.Active
            : isAuthorizedSigner(r.datasetId, signer);
        if (!allowed) revert NotDatasetSigner(r.datasetId, signer);
        bytes32 key = _snapshotKey(r.datasetId, r.version, r.root);
        if (_retractedLogged[key]) revert AlreadyRetracted(r.datasetId, r.version);
        _retractedLogged[key] = true;
        emit LoggedSnapshotRetracted(r.datasetId, r.version, signer, r.root, r.reasonHash);
    }

    /// @notice Whether the snapshot (`datasetId`, `version`, `root`) was retracted, in either mode.
    /// @param datasetId keccak256 of the dataset name.
    /// @param version The version.
    /// @param root Its root (a direct anchor's must match the stored one).
    /// @return True once retracted.
    function isRetracted(bytes32 datasetId, uint64 version, bytes32 root) external view returns (bool) {
        if (_retractedLogged[_snapshotKey(datasetId, version, root)]) return true;
        SnapshotRecord storage record = _snapshots[datasetId][version];
        return record.signer != address(0) && record.root == root && _retracted[datasetId][version];
    }

    /// @notice Disputes a snapshot: anyone may, with a reason and where the evidence is.
    /// @param datasetId keccak256 of the dataset name.
    /// @param version The version.
    /// @param root Its root.
    /// @param reasonHash Commitment to the dispute's reason text.
    /// @param evidenceUri Where the evidence is published.
    function dispute(
        bytes32 datasetId,
        uint64 version,
        bytes32 root,
        bytes32 reasonHash,
        string calldata evidenceUri
    ) external {
        ++_disputes[_snapshotKey(datasetId, version, root)];
        emit SnapshotDisputed(datasetId, version, msg.sender, root, reasonHash, evidenceUri);
    }

    /// @notice How many disputes the snapshot (`datasetId`, `version`, `root`) has had.
    /// @param datasetId keccak256 of the dataset name.
    /// @param version The version.
    /// @param root Its root.
    /// @return The number of {SnapshotDisputed} events for it.
    function disputeCount(bytes32 datasetId, uint64 version, bytes32 root) external view returns (uint256) {
        return _disputes[_snapshotKey(datasetId, version, root)];
    }

    /// @notice EIP-712 digest of a retraction under this contract's domain (what its signer signs).
    /// @param r The retraction.
    /// @return The digest.
    function retractionDigest(Retraction calldata r) external view returns (bytes32) {
        return _hashTypedDataV4(_hashRetraction(r));
    }

    // ------------------------------------------------------------ checkpoints

    /// @notice Anchors checkpoint (`size`, `root`) of the ledger log. Anchorers only.
    /// @dev The first checkpoint takes an empty proof. Every later one must be larger than the
    ///  previous and come with an RFC 9162 §2.1.4 consistency proof from it, verified here.
    /// @param size Tree size (number of log entries), >= 1.
    /// @param root RFC 9162 root of the first `size` entries.
    /// @param proof Consistency proof from the previous anchored checkpoint to this one.
    function anchorCheckpoint(uint64 size, bytes32 root, bytes32[] calldata proof) external {
        uint256 head = _checkpointHead;
        // The primary anchorer is checked against the head, which is read anyway; anyone else pays
        // one cold `_anchorers` read. An empty primary matches no one (not even an eth_call from 0x0).
        address primary = address(uint160(head));
        if ((msg.sender != primary || primary == address(0)) && !_anchorers[msg.sender]) {
            revert NotAnchorer(msg.sender);
        }
        uint64 previousSize = uint64(head >> SIZE_SHIFT);
        if (previousSize == 0) {
            if (size == 0) revert EmptyCheckpoint();
            if (proof.length != 0) revert UnexpectedProof();
            if (root == bytes32(0)) revert ZeroCheckpointRoot();
        } else {
            if (size <= previousSize) {
                if (size == previousSize) revert CheckpointSizeUnchanged(size);
                revert CheckpointSizeDecreased(previousSize, size);
            }
            if (!_isConsistent(previousSize, size, _checkpointRoot, root, proof)) {
                revert InvalidConsistencyProof();
            }
        }
        // Store and emit in assembly: scratch-space encoding, no free-memory bookkeeping (~250 gas).
        bytes32 topic = CheckpointAnchored.selector;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let index := shr(COUNT_SHIFT, head)
            // The count is a uint32: never wrap it (Panic 0x11, as checked arithmetic would).
            if eq(index, MAX_COUNT) {
                mstore(0x00, shl(224, 0x4e487b71))
                mstore(0x04, 0x11)
                revert(0x00, 0x24)
            }
            sstore(
                _checkpointHead.slot,
                or(or(shl(COUNT_SHIFT, add(index, 1)), shl(SIZE_SHIFT, size)), and(head, PRIMARY_MASK))
            )
            sstore(_checkpointRoot.slot, root)
            mstore(0x00, root)
            log3(0x00, 0x20, topic, index, size) // emit CheckpointAnchored(index, size, root)
        }
    }

    /// @notice Number of anchored checkpoints.
    /// @return The count; checkpoint indexes run from 0 to count - 1.
    function checkpointCount() external view returns (uint256) {
        return _checkpointHead >> COUNT_SHIFT;
    }

    /// @notice The latest anchored checkpoint. Reverts with {NoCheckpoint} if there is none.
    /// @return index Its index.
    /// @return size Its log size.
    /// @return root Its root.
    function latestCheckpoint() external view returns (uint256 index, uint64 size, bytes32 root) {
        uint256 head = _checkpointHead;
        uint256 count = head >> COUNT_SHIFT;
        if (count == 0) revert NoCheckpoint();
        unchecked {
            index = count - 1;
        }
        size = uint64(head >> SIZE_SHIFT);
        root = _checkpointRoot;
    }

    /// @notice Whether the log of `size` entries with root `root` is a prefix of the latest
    ///  anchored checkpoint: RFC 9162 consistency from (`size`, `root`) to it. This is how an older
    ///  checkpoint (or any log size) is checked against the chain, by anyone, with a proof from the
    ///  log. Returns false (never reverts) when nothing is anchored or the proof does not verify;
    ///  the latest checkpoint itself takes an empty proof.
    /// @param size A log size, from 1 to the latest anchored one.
    /// @param root The log's root at that size.
    /// @param proof Consistency proof from `size` to the latest anchored size.
    /// @return True if the proof is valid.
    function verifyCheckpoint(uint64 size, bytes32 root, bytes32[] calldata proof) external view returns (bool) {
        uint64 latestSize = uint64(_checkpointHead >> SIZE_SHIFT);
        if (size == 0 || size > latestSize) return false;
        if (size == latestSize) return proof.length == 0 && root == _checkpointRoot;
        return _isConsistent(size, latestSize, root, _checkpointRoot, proof);
    }

    // ---------------------------------------------------- RFC 9162 verifiers

    /// @notice RFC 9162 §2.1.3.2: whether `leafHash` is leaf `index` of the tree (`size`, `root`).
    ///  Returns false (never reverts) for index >= size or a proof of the wrong length.
    /// @param root Tree root.
    /// @param size Tree size.
    /// @param index Leaf index (from 0).
    /// @param leafHash SHA-256(0x00 || leaf input).
    /// @param proof Inclusion path, bottom-up.
    /// @return True if the proof is valid.
    function verifyInclusion(
        bytes32 root,
        uint64 size,
        uint64 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        return _includes(root, size, index, leafHash, proof);
    }

    /// @dev RFC 9162 inclusion of `leafHash` at `index` in the tree (`size`, `root`).
    function _includes(
        bytes32 root,
        uint64 size,
        uint64 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) private view returns (bool) {
        if (index >= size) return false;
        // Closed form of the RFC 9162 loop (as in transparency-dev/merkle): below the level where
        // the paths of leaf `index` and of the last leaf part, there are `inner` siblings, each on
        // the side that bit of `index` says; above it, one left sibling per set bit of `index`.
        uint256 last;
        unchecked {
            last = size - 1; // size > index >= 0
        }
        (uint256 inner, uint256 border) = _pathShape(index, last);
        if (proof.length != inner + border) return false;
        return _foldInclusionPath(leafHash, index, inner, proof) == root;
    }

    /// @notice RFC 9162 §2.1.4.2: whether tree (`size2`, `root2`) extends tree (`size1`, `root1`).
    ///  Returns false (never reverts) on any malformed input. As in RFC 9162 implementations, equal
    ///  sizes need an empty proof and equal roots, and the empty tree is consistent with any tree
    ///  given an empty proof.
    /// @param size1 Size of the older tree.
    /// @param size2 Size of the newer tree.
    /// @param root1 Root of the older tree.
    /// @param root2 Root of the newer tree.
    /// @param proof Consistency path.
    /// @return True if the proof is valid.
    function verifyConsistency(
        uint64 size1,
        uint64 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (size2 < size1) return false;
        if (size1 == size2) return proof.length == 0 && root1 == root2;
        if (size1 == 0) return proof.length == 0;
        return _isConsistent(size1, size2, root1, root2, proof);
    }

    // ------------------------------------------------------------- internals

    function _checkActiveDatasetOwner(bytes32 datasetId) private view {
        if (_datasets[datasetId].owner != msg.sender) revert NotDatasetOwner(datasetId, msg.sender);
        if (_sourceStatus[msg.sender] != SourceStatus.Active) revert SourceNotActive(msg.sender);
    }

    /// @dev EIP-712 struct hash of a Snapshot; `parents` is keccak256 of the concatenated Parent hashes.
    /// @dev Whether log entry `digest` is at `index` in the latest anchored checkpoint.
    function _inLatestCheckpoint(bytes32 digest, uint64 index, bytes32[] calldata proof) private view returns (bool) {
        uint256 head = _checkpointHead;
        if (head >> COUNT_SHIFT == 0) return false;
        bytes32 leaf = sha256(abi.encodePacked(bytes1(0x00), digest));
        return _includes(_checkpointRoot, uint64(head >> SIZE_SHIFT), index, leaf, proof);
    }

    function _snapshotKey(bytes32 datasetId, uint64 version, bytes32 root) private pure returns (bytes32) {
        return keccak256(abi.encode(datasetId, version, root));
    }

    function _hashRetraction(Retraction calldata r) private pure returns (bytes32) {
        return keccak256(abi.encode(RETRACTION_TYPEHASH, r.datasetId, r.version, r.root, r.reasonHash));
    }

    function _hashSnapshot(Snapshot calldata s) private pure returns (bytes32) {
        uint256 n = s.parents.length;
        bytes32[] memory parentHashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            Parent calldata p = s.parents[i];
            parentHashes[i] = keccak256(abi.encode(PARENT_TYPEHASH, p.datasetId, p.version, p.root));
        }
        return
            keccak256(
                abi.encode(
                    SNAPSHOT_TYPEHASH,
                    s.datasetId,
                    s.version,
                    s.root,
                    s.size,
                    s.schemaHash,
                    keccak256(abi.encodePacked(parentHashes)),
                    s.transformHash,
                    s.createdAt
                )
            );
    }

    /// @dev OpenZeppelin ECDSA (65 bytes only, low s only), surfaced as this contract's errors.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        (address recovered, ECDSA.RecoverError err, bytes32 arg) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.InvalidSignatureLength) revert InvalidSignatureLength(uint256(arg));
        if (err == ECDSA.RecoverError.InvalidSignatureS) revert InvalidSignatureS(arg);
        if (err != ECDSA.RecoverError.NoError) revert InvalidSignature();
        return recovered;
    }

    /// @dev RFC 9162 §2.1.4.2 in the closed form of transparency-dev/merkle. Requires 0 < size1 < size2
    ///  (both < 2^64). The proof is the inclusion path of leaf size1 - 1 in the tree of size2, from the
    ///  level of the largest full subtree that ends at size1; that subtree's hash (the seed) is root1
    ///  itself when size1 is a power of two, else the proof's first node. Folding the path from the
    ///  seed must give root2 (sr), and folding only its left siblings must give root1 (fr).
    ///  Two 65-byte buffers at the free memory pointer b (not allocated: nothing else runs meanwhile)
    ///  feed the SHA-256 precompile: F = 0x01 || sibling || fr at b (halves at b + 0x01, b + 0x21)
    ///  and S = 0x01 || left || right at b + 0x41 (halves at b + 0x42, b + 0x62). Each hash is
    ///  written straight to where the next step reads it: fr to F's right half, sr to the half of S
    ///  opposite its next sibling, so no hash is copied in the loops.
    // solhint-disable-next-line function-max-lines
    function _isConsistent(
        uint256 size1,
        uint256 size2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] calldata proof
    ) private view returns (bool ok) {
        uint256 width;
        uint256 mask;
        uint256 lastMask;
        unchecked {
            width = size1 & (0 - size1); // lowest set bit of size1: the seed's width
            mask = (size1 - 1) / width; // leaf size1 - 1, counted in subtrees of that width
            lastMask = (size2 - 1) / width;
        }
        // The path from the seed is that of leaf `mask` in a tree whose last leaf is `lastMask`.
        (uint256 inner, uint256 border) = _pathShape(mask, lastMask);
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let seedInProof := lt(width, size1)
            // proof = [seed if not root1] ++ inner siblings ++ border siblings
            if eq(proof.length, add(add(seedInProof, inner), border)) {
                let b := mload(0x40)
                mstore8(b, 0x01)
                mstore8(add(b, 0x41), 0x01)
                let p := proof.offset
                let seed := root1
                if seedInProof {
                    seed := calldataload(p)
                    p := add(p, 0x20)
                }
                // Inner levels: bit i of `sides` set means sibling i is on the left (bit i of mask);
                // the sentinel bit at `inner` ends the loop and, as the border's siblings are all on
                // the left, sends the last inner sr to S's right half.
                let sides := or(and(mask, sub(shl(inner, 1), 1)), shl(inner, 1))
                mstore(add(b, 0x21), seed)
                mstore(add(b, add(0x42, shl(5, and(sides, 1)))), seed)
                // The calls' results need no check: SHA-256 (96 gas here) fails only out of gas, i.e.
                // when at most 96 gas is left after the call's 100-gas charge; the caller then keeps
                // at most 1 gas (63/64 rule), far too little to finish, so it reverts out of gas.
                for {} gt(sides, 1) {} {
                    let sibling := calldataload(p)
                    switch and(sides, 1)
                    case 0 {
                        // Right sibling: only the new tree has it.
                        mstore(add(b, 0x62), sibling)
                    }
                    default {
                        // Left sibling: both trees have it.
                        mstore(add(b, 0x01), sibling)
                        pop(staticcall(gas(), 0x02, b, 0x41, add(b, 0x21), 0x20))
                        mstore(add(b, 0x42), sibling)
                    }
                    sides := shr(1, sides)
                    pop(staticcall(gas(), 0x02, add(b, 0x41), 0x41, add(b, add(0x42, shl(5, and(sides, 1)))), 0x20))
                    p := add(p, 0x20)
                }
                // Border: left siblings only.
                for {
                    let end := add(proof.offset, shl(5, proof.length))
                } lt(p, end) {
                    p := add(p, 0x20)
                } {
                    let sibling := calldataload(p)
                    mstore(add(b, 0x01), sibling)
                    pop(staticcall(gas(), 0x02, b, 0x41, add(b, 0x21), 0x20))
                    mstore(add(b, 0x42), sibling)
                    pop(staticcall(gas(), 0x02, add(b, 0x41), 0x41, add(b, 0x62), 0x20))
                }
                ok := and(eq(mload(add(b, 0x21)), root1), eq(mload(add(b, 0x62)), root2))
            }
        }
    }

    /// @dev Folds an inclusion path into `r` (see {verifyInclusion}); requires the length checked.
    ///  One 65-byte buffer holds 0x01 || left || right for every SHA-256 precompile call; each hash
    ///  is written straight into the half where the next step needs it, so `r` never leaves memory.
    ///  `t` is the side bits shifted left by 5, so `and(t, 0x20)` is the offset of the current hash
    ///  (0x20, the right half, when its sibling is on the left) with no shift per step; the loop is
    ///  unrolled four times (after 0-3 single steps) because its control flow cost as much as a
    ///  third of the hashing. The calls' results need no check, as in {_isConsistent}: the
    ///  precompile fails only out of gas, and then the caller is left too little gas to finish.
    function _foldInclusionPath(
        bytes32 leaf,
        uint256 index,
        uint256 inner,
        bytes32[] calldata path
    ) private view returns (bytes32 r) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let buf := mload(0x40)
            mstore8(buf, 0x01)
            let left := add(buf, 0x01)
            let right := add(buf, 0x21)
            // Bit i of the side bits set: sibling i is on the left. Below `inner` that is bit i of
            // index; from `inner` up all bits are set: the border's siblings are all on the left,
            // and the set bit past the last sibling puts the result in the right half.
            let t := shl(5, or(index, shl(inner, not(0))))
            mstore(add(left, and(t, 0x20)), leaf)
            let p := path.offset
            let end := add(p, shl(5, path.length))
            for {
                let head := add(p, shl(5, and(path.length, 3)))
            } lt(p, head) {
                p := add(p, 0x20)
            } {
                mstore(sub(right, and(t, 0x20)), calldataload(p))
                t := shr(1, t)
                pop(staticcall(gas(), 0x02, buf, 0x41, add(left, and(t, 0x20)), 0x20))
            }
            for {} lt(p, end) {
                p := add(p, 0x80)
            } {
                mstore(sub(right, and(t, 0x20)), calldataload(p))
                t := shr(1, t)
                pop(staticcall(gas(), 0x02, buf, 0x41, add(left, and(t, 0x20)), 0x20))
                mstore(sub(right, and(t, 0x20)), calldataload(add(p, 0x20)))
                t := shr(1, t)
                pop(staticcall(gas(), 0x02, buf, 0x41, add(left, and(t, 0x20)), 0x20))
                mstore(sub(right, and(t, 0x20)), calldataload(add(p, 0x40)))
                t := shr(1, t)
                pop(staticcall(gas(), 0x02, buf, 0x41, add(left, and(t, 0x20)), 0x20))
                mstore(sub(right, and(t, 0x20)), calldataload(add(p, 0x60)))
                t := shr(1, t)
                pop(staticcall(gas(), 0x02, buf, 0x41, add(left, and(t, 0x20)), 0x20))
            }
            r := mload(right)
        }
    }

    /// @dev Shape of the inclusion path of leaf `index` in a tree whose last leaf is `lastIndex`
    ///  (both < 2^64): `inner` levels below the one where their paths meet, then `border` left
    ///  siblings, one per set bit of `index` above it (transparency-dev/merkle's decompInclProof).
    function _pathShape(uint256 index, uint256 lastIndex) private pure returns (uint256 inner, uint256 border) {
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // inner = bit length of index ^ lastIndex, branchless
            let x := xor(index, lastIndex)
            inner := shl(5, gt(x, 0xffffffff))
            x := shr(inner, x)
            let step := shl(4, gt(x, 0xffff))
            x := shr(step, x)
            inner := or(inner, step)
            step := shl(3, gt(x, 0xff))
            x := shr(step, x)
            inner := or(inner, step)
            step := shl(2, gt(x, 0xf))
            x := shr(step, x)
            inner := or(inner, step)
            step := shl(1, gt(x, 0x3))
            x := shr(step, x)
            inner := or(inner, step)
            step := gt(x, 0x1)
            inner := add(or(inner, step), shr(step, x))
            // border = number of set bits of index >> inner (SWAR popcount)
            x := shr(inner, index)
            x := sub(x, and(shr(1, x), 0x5555555555555555))
            x := add(and(x, 0x3333333333333333), and(shr(2, x), 0x3333333333333333))
            x := and(add(x, shr(4, x)), 0x0f0f0f0f0f0f0f0f)
            border := and(shr(56, mul(x, 0x0101010101010101)), 0xff)
        }
    }
}
