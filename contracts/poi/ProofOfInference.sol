// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IVerifier} from "../interfaces/IVerifier.sol";
import {ICoordinator} from "../interfaces/ICoordinator.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IRandomness} from "../interfaces/IRandomness.sol";
import {Coordinator} from "../core/Coordinator.sol";
import {PoiEncoding} from "../libraries/PoiEncoding.sol";
import {PoiMerkle} from "../libraries/PoiMerkle.sol";
import {FraudGuard} from "../libraries/FraudGuard.sol";
import {TrustModel} from "./TrustModel.sol";
import {PoiVerdicts} from "./PoiVerdicts.sol";

/// @title ProofOfInference
/// @notice The verifier of diffusion jobs (docs/protocol.md). The assigned node commits to its step tree when it
/// delivers (the Coordinator forwards the commitment with the output hash, so both are bound in one transaction before
/// the node's deadline). Randomness reserved at the commit picks k stratified steps; the node opens them with a
/// multiproof checked here; a validator re-runs them off-chain and posts a verdict with a quality score; after the
/// dispute window the escrowed payment is released (a share between `qualityFloorBps` and all of it, weighted by the
/// score, the rest returned to the consumer), or on proven fraud the node's job bond is slashed and split and the
/// consumer's payment returned.
contract ProofOfInference is IVerifier, PoiVerdicts, Ownable2Step {
    Coordinator public immutable coordinator;
    /// @notice The Coordinator job bond the parameter guard was checked against; jobs bonded with less are refused,
    /// so lowering `jobBond` in the Coordinator cannot switch the guard off.
    uint96 public guardedBond;

    constructor(
        address owner_,
        Coordinator coordinator_,
        INodeRegistry registry_,
        IRandomness randomness_,
        Params memory params_
    ) PoiVerdicts(registry_, randomness_) Ownable(owner_) {
        coordinator = coordinator_;
        _setParams(params_);
    }

    /// @notice Wires the trust model once it is deployed (it needs this contract's address as its updater).
    function setTrustModel(TrustModel model) external onlyOwner {
        trust = model;
    }

    function setParams(Params calldata p) external onlyOwner {
        _setParams(p);
    }

    // ---------------------------------------------------------------- commit (inside Coordinator.deliver)

    /// @inheritdoc IVerifier
    /// @dev `proof` = abi.encode(root, steps, paramsHash).
    function onDeliver(
        uint64 subscriptionId,
        uint32 interval,
        uint16 slot,
        address node,
        bytes32 outputHash,
        uint256 payment,
        uint256 bond,
        bytes calldata proof
    ) external {
        if (msg.sender != address(coordinator)) revert NotCoordinator(msg.sender);
        if (bond < guardedBond) revert BondBelowGuard(bond, guardedBond);
        (bytes32 root, uint256 steps, bytes32 paramsHash) = abi.decode(proof, (bytes32, uint256, bytes32));
        if (root == bytes32(0)) revert InvalidCommitment();
        if (steps == 0 || steps > params.maxSteps) revert StepsOutOfRange(steps, params.maxSteps);
        if (payment > params.maxPrice) revert PriceAboveGuard(payment, params.maxPrice);
        bytes32 key = keccak256(abi.encode(subscriptionId, interval, slot));
        Job storage job = _jobs[key];
        if (job.phase != Phase.None) revert AlreadyCommitted(key);
        uint256 k = trust.auditDepth(node, params.kMin, params.kMax);
        if (k > steps) k = steps;
        uint32 round = _round();
        job.commitHash = keccak256(abi.encode(root, outputHash, paramsHash));
        job.node = node;
        job.round = round;
        job.committedAt = uint32(block.timestamp);
        job.steps = uint16(steps);
        job.k = uint8(k);
        job.phase = Phase.Committed;
        emit Committed(key, node, root, outputHash, paramsHash, uint16(steps), uint8(k), round);
    }

    // ---------------------------------------------------------------- reveal

    /// @notice Opens the challenged steps. `openings` lists the step leaves of the opened set (docs/protocol.md §7)
    /// in increasing index order; the output and params leaves are rebuilt here from the commitment. A validator is
    /// drawn next by `assignValidator` (kept out of the reveal so its cost does not scale with the candidate pool).
    function reveal(
        JobRef calldata ref,
        Commitment calldata c,
        StepOpening[] calldata openings,
        bytes32 finalLatentDigest,
        bytes32[] calldata proof
    ) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Committed) revert WrongPhase(key, job.phase);
        address node = job.node;
        if (msg.sender != node) revert NotJobNode(key, msg.sender);
        uint256 closes = uint256(job.committedAt) + params.revealWindow;
        if (block.timestamp > closes) revert RevealWindowClosed(key, closes);
        if (!randomness.isReady(job.round)) revert ChallengeNotReady(key, job.round);
        if (keccak256(abi.encode(c.root, c.outputHash, c.paramsHash)) != job.commitHash)
            revert CommitmentMismatch(key);

        uint256 steps = job.steps;
        bytes32 jobId = PoiEncoding.jobId(
            block.chainid,
            address(coordinator),
            ref.subscriptionId,
            ref.interval
        );
        uint32[] memory challenged = PoiEncoding.challengeIndices(
            jobId,
            node,
            c.root,
            randomness.valueOf(job.round),
            uint32(steps),
            job.k
        );
        uint256[] memory indices = PoiEncoding.openedIndices(challenged, steps);
        bytes32[] memory leaves = new bytes32[](indices.length);
        // indices = sorted step indices, then steps (output leaf), then steps + 1 (params leaf).
        uint256 n = indices.length - 2;
        if (openings.length != n) revert WrongOpening(key, openings.length);
        for (uint256 i = 0; i < n; ++i) {
            StepOpening calldata o = openings[i];
            if (o.index != indices[i]) revert WrongOpening(key, i);
            leaves[i] = PoiEncoding.stepLeaf(
                jobId,
                node,
                o.index,
                uint32(steps),
                o.timestep,
                o.latentDigest,
                o.noiseDigest
            );
        }
        leaves[n] = PoiEncoding.outputLeaf(jobId, node, uint32(steps), finalLatentDigest, c.outputHash);
        leaves[n + 1] = PoiEncoding.paramsLeaf(jobId, node, uint32(steps), c.paramsHash);
        if (
            !PoiMerkle.verifyMultiproof(
                c.root,
                PoiMerkle.depthFor(steps + 2),
                steps + 2,
                indices,
                leaves,
                proof
            )
        ) {
            revert InvalidProof(key);
        }
        job.phase = Phase.Revealed;
        emit Revealed(key, challenged, openings, finalLatentDigest);
    }

    /// @notice After the reveal window, a job that was never (validly) opened is fraud: its bond is slashed and the
    /// caller, who enforced the rule, receives the challenger share. Anyone.
    function slashUnrevealed(JobRef calldata ref) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Committed) revert WrongPhase(key, job.phase);
        uint256 closes = uint256(job.committedAt) + params.revealWindow;
        if (block.timestamp <= closes) revert RevealWindowOpen(key, closes);
        job.pass = false;
        _settle(key, job, ref, msg.sender, false);
    }

    /// @notice Settles a judged job once its dispute window closed without a dispute. Anyone.
    function finalize(JobRef calldata ref) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Judged) revert WrongPhase(key, job.phase);
        if (block.timestamp <= job.disputeDeadline) revert DisputeWindowOpen(key, job.disputeDeadline);
        _settle(key, job, ref, job.validator, true);
    }

    // ---------------------------------------------------------------- internals

    function _settle(
        bytes32 key,
        Job storage job,
        JobRef calldata ref,
        address challenger,
        bool releaseValidator
    ) internal override {
        address node = job.node;
        if (releaseValidator && job.validator != address(0))
            registry.releaseBond(job.validator, params.validatorBond);
        if (job.pass) {
            job.phase = Phase.Paid;
            uint16 quality = job.quality;
            uint16 payBps = _payBps(quality);
            _settleSlot(ref, payBps);
            trust.recordPass(node);
            emit JobPaid(key, node, quality, payBps);
            return;
        }
        job.phase = Phase.Slashed;
        (ICoordinator.IntervalState memory state, , ) = coordinator.getInterval(
            ref.subscriptionId,
            ref.interval
        );
        uint256 bond = state.bond;
        uint256 toRequester = (bond * params.requesterShareBps) / BPS;
        uint256 toChallenger = (bond * params.challengerShareBps) / BPS;
        address requester = coordinator.getSubscription(ref.subscriptionId).owner;
        INodeRegistry.SlashShare[] memory shares = new INodeRegistry.SlashShare[](3);
        shares[0] = INodeRegistry.SlashShare(requester, toRequester);
        shares[1] = INodeRegistry.SlashShare(challenger, toChallenger);
        shares[2] = INodeRegistry.SlashShare(address(0), bond - toRequester - toChallenger);
        registry.slash(node, bond, shares);
        _settleSlot(ref, 0);
        trust.recordFraud(node);
        emit FraudSlashed(key, node, toRequester, toChallenger, bond - toRequester - toChallenger);
    }

    /// @dev The share of a passing job's payment released to the node, in basis points: the floor plus the quality's
    /// part of the rest, rounded down (the consumer keeps the odd basis point). A perfect score pays everything, a
    /// zero score the floor, never less, so a validator's harsh score moves at most `BPS - floor` of the price. The
    /// floor is never zero (`_setParams`), so a pass is never mistaken for a refusal by the Coordinator.
    function _payBps(uint16 quality) private view returns (uint16) {
        uint256 floor = params.qualityFloorBps;
        // floor <= BPS and quality <= BPS (both checked when set): no overflow, and the result is at most BPS.
        unchecked {
            return uint16(floor + ((BPS - floor) * quality) / BPS);
        }
    }

    /// @dev The Coordinator's settlement of the job's slot (`payBps` 0 = refused). One call site for both outcomes:
    /// with the call inlined into each branch of `_settle` the optimizer's inlining grew the contract by ~800 bytes.
    function _settleSlot(JobRef calldata ref, uint16 payBps) private {
        coordinator.settle(ref.subscriptionId, ref.interval, ref.slot, payBps);
    }

    function _containerOf(JobRef calldata ref) internal view override returns (bytes32) {
        return coordinator.getSubscription(ref.subscriptionId).containerId;
    }

    /// @dev The parameter guard: refuses parameters under which fraud pays (libraries/FraudGuard.sol), using the
    /// Coordinator's job bond as the stake at risk and the largest accepted price as the outside gain. The reward a
    /// caught cheater forfeits is only what its pass would have paid, at least `qualityFloorBps` of the price, so the
    /// guard counts that floor share of `maxPrice` as the reward at risk (a lower floor needs a larger bond).
    function _setParams(Params memory p) private {
        if (p.requesterShareBps + p.challengerShareBps > BPS) {
            revert InvalidShares(p.requesterShareBps, p.challengerShareBps);
        }
        if (p.qualityFloorBps == 0 || p.qualityFloorBps > BPS) revert InvalidQualityFloor(p.qualityFloorBps);
        if (p.kMin == 0 || p.kMin > p.kMax) revert InvalidAuditDepth(p.kMin, p.kMax);
        if (p.revealWindow == 0 || p.verdictWindow == 0 || p.disputeWindow == 0 || p.committeeWindow == 0) {
            revert InvalidWindows();
        }
        if (p.committeeSize == 0 || p.treasury == address(0)) revert InvalidWindows();
        // Bonds already taken are released with these amounts: once set, they cannot change.
        if (
            params.committeeSize != 0 &&
            (p.validatorBond != params.validatorBond || p.disputeBond != params.disputeBond)
        ) {
            revert BondSizesFixed();
        }
        (, , , , , uint96 jobBond, ) = coordinator.params();
        FraudGuard.check(
            FraudGuard.Inputs({
                steps: p.maxSteps,
                challenged: p.kMin,
                reward: (uint256(p.maxPrice) * p.qualityFloorBps) / BPS,
                computeCost: p.computeCost,
                outsideGain: p.maxPrice,
                // A cheater can claim the challenger share itself (e.g. calling slashUnrevealed from a second
                // address): only the rest of the bond is surely lost.
                bond: (uint256(jobBond) * (BPS - p.challengerShareBps)) / BPS
            })
        );
        guardedBond = jobBond;
        params = p;
        emit ParamsSet(p);
    }
}
