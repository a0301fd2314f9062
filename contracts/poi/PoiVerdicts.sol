// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IProofOfInference} from "../interfaces/IProofOfInference.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IRandomness} from "../interfaces/IRandomness.sol";
import {TrustModel} from "./TrustModel.sol";

/// @title PoiVerdicts
/// @notice Validators, verdicts and disputes. A revealed job gets one validator, drawn by stake- and trust-weighted
/// randomness from the nodes serving the job's container, never one of the miner's operator. A validator that stays
/// silent past its window is penalised and replaced. Any registered node may dispute a verdict with a bond inside the
/// dispute window; a committee drawn the same way decides by majority, and the losing side's bond is slashed.
abstract contract PoiVerdicts is IProofOfInference {
    uint16 internal constant BPS = 10_000;

    INodeRegistry public immutable registry;
    IRandomness public immutable randomness;
    TrustModel public trust;
    Params public params;

    mapping(bytes32 key => Job) internal _jobs;
    mapping(bytes32 key => address[]) internal _committees;
    /// @dev 0 = not voted, 1 = pass, 2 = fail.
    mapping(bytes32 key => mapping(address member => uint8)) internal _votes;

    constructor(INodeRegistry registry_, IRandomness randomness_) {
        registry = registry_;
        randomness = randomness_;
    }

    // ---------------------------------------------------------------- validators

    /// @notice Draws the validator of a revealed job (again, if none was eligible before). Anyone: the provider, the
    /// validators watching for `Revealed`, or a keeper.
    function assignValidator(JobRef calldata ref) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Revealed) revert WrongPhase(key, job.phase);
        if (job.validator != address(0)) revert ValidatorAlreadyAssigned(key);
        _assignValidator(key, job, ref, address(0));
    }

    /// @notice The assigned validator's verdict on every challenged step: `failedSteps` is a bit mask over the
    /// challenged positions, `digest` commits to what it recomputed, `quality` is the workload's quality score in
    /// basis points (at most 10,000). The score is stored: a pass pays the node between `qualityFloorBps` and all of
    /// the payment according to it (see `_payBps`). A dispute only decides pass or fail, so the score itself cannot be
    /// challenged; the floor bounds what a harsh or dishonest score can cost the node.
    function postVerdict(
        JobRef calldata ref,
        bool pass,
        uint256 failedSteps,
        bytes32 digest,
        uint16 quality
    ) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Revealed) revert WrongPhase(key, job.phase);
        if (msg.sender != job.validator) revert NotValidator(key, msg.sender);
        if (block.timestamp > job.deadline) revert VerdictWindowClosed(key, job.deadline);
        if (quality > BPS) revert QualityTooHigh(quality);
        job.phase = Phase.Judged;
        job.pass = pass;
        job.quality = quality;
        job.disputeDeadline = uint32(block.timestamp + params.disputeWindow);
        emit VerdictPosted(key, msg.sender, pass, failedSteps, digest, quality);
    }

    /// @notice Penalises a validator that missed its verdict window and assigns another. Anyone.
    function verdictTimeout(JobRef calldata ref) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Revealed) revert WrongPhase(key, job.phase);
        address silent = job.validator;
        if (silent == address(0)) revert NoValidatorAssigned(key);
        if (block.timestamp <= job.deadline) revert VerdictWindowOpen(key, job.deadline);
        job.validator = address(0);
        job.attempts += 1;
        uint256 penalty = _min(params.validatorPenalty, params.validatorBond);
        _slash(silent, params.validatorBond, params.treasury, penalty, address(0), 0);
        trust.recordTimeout(silent);
        emit VerdictTimedOut(key, silent, penalty);
        _assignValidator(key, job, ref, silent);
    }

    // ---------------------------------------------------------------- disputes

    /// @notice Disputes the verdict. msg.sender must be a registered node with `disputeBond` of free stake, which is
    /// bonded until the committee decides.
    function dispute(JobRef calldata ref) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Judged) revert WrongPhase(key, job.phase);
        if (block.timestamp > job.disputeDeadline) revert DisputeWindowClosed(key, job.disputeDeadline);
        if (registry.operatorOf(msg.sender) == address(0)) revert NotRegisteredNode(msg.sender);
        registry.bond(msg.sender, params.disputeBond);
        job.phase = Phase.Disputed;
        job.disputer = msg.sender;
        job.disputeRound = _round();
        // The committee must be drawn by then, or the verdict stands without one (see resolveDispute).
        job.disputeDeadline = uint32(block.timestamp + params.committeeWindow);
        emit Disputed(key, msg.sender, job.disputeRound);
    }

    /// @notice Draws the committee once the dispute's randomness is ready. Anyone.
    function assignCommittee(JobRef calldata ref) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Disputed) revert WrongPhase(key, job.phase);
        if (_committees[key].length != 0) revert CommitteeAlreadyAssigned(key);
        if (randomness.isExpired(job.disputeRound)) {
            job.disputeRound = _round(); // the old round can never be read: reserve a new one
            emit Disputed(key, job.disputer, job.disputeRound);
            return;
        }
        if (!randomness.isReady(job.disputeRound)) revert ChallengeNotReady(key, job.disputeRound);
        address[] memory exclude = new address[](3);
        (exclude[0], exclude[1], exclude[2]) = (job.node, job.validator, job.disputer);
        bytes32 seed = keccak256(abi.encode(randomness.valueOf(job.disputeRound), key, "committee"));
        address[] memory members = registry.assignValidators(
            _containerOf(ref),
            params.committeeSize,
            seed,
            exclude,
            registry.operatorOf(job.node),
            params.validatorBond
        );
        if (members.length == 0) revert CommitteeNotAssigned(key);
        _committees[key] = members;
        job.disputeDeadline = uint32(block.timestamp + params.committeeWindow);
        emit CommitteeAssigned(key, members, job.disputeDeadline);
    }

    function vote(JobRef calldata ref, bool pass) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Disputed) revert WrongPhase(key, job.phase);
        if (!_isMember(key, msg.sender)) revert NotCommitteeMember(key, msg.sender);
        if (_votes[key][msg.sender] != 0) revert AlreadyVoted(key, msg.sender);
        if (block.timestamp > job.disputeDeadline) revert VerdictWindowClosed(key, job.disputeDeadline);
        _votes[key][msg.sender] = pass ? 1 : 2;
        emit CommitteeVote(key, msg.sender, pass);
    }

    /// @notice Closes a dispute once every member voted or the committee window ended: the majority of cast votes
    /// decides (a tie or no vote keeps the verdict). The loser's bond (disputer or validator) is slashed to the
    /// winner and the treasury; silent members are penalised. The job then settles at once. Anyone.
    /// @dev Quality on a pass: an upheld verdict (or one that stands for want of a committee) keeps the validator's
    /// score, which nobody has shown to be wrong. A fail overturned to a pass pays the node in full (quality 10,000):
    /// the only score on record comes from the validator the committee just found lying, and the node was made to
    /// wait through a dispute it won. Colluding to reach this costs the validator its bond, far more than the at most
    /// `(10,000 - qualityFloorBps)` basis points of the price it could add.
    function resolveDispute(JobRef calldata ref) external {
        bytes32 key = jobKey(ref);
        Job storage job = _jobs[key];
        if (job.phase != Phase.Disputed) revert WrongPhase(key, job.phase);
        address[] storage members = _committees[key];
        if (members.length == 0) {
            // No committee could be drawn in time: nobody is at fault, the verdict stands and the job settles.
            if (block.timestamp <= job.disputeDeadline) revert CommitteeNotAssigned(key);
            registry.releaseBond(job.disputer, params.disputeBond);
            emit DisputeResolved(key, true, job.pass, 0, 0);
            _settle(key, job, ref, job.validator, true);
            return;
        }
        (uint256 yes, uint256 no) = _tally(key, members);
        if (yes + no < members.length && block.timestamp <= job.disputeDeadline) {
            revert CommitteeStillVoting(key, job.disputeDeadline);
        }
        bool upheld = yes == no || (yes > no) == job.pass;
        Params memory p = params;
        if (upheld) {
            uint256 half = p.disputeBond / 2;
            _slash(job.disputer, p.disputeBond, job.validator, half, address(0), p.disputeBond - half);
            emit DisputeResolved(key, true, job.pass, yes, no);
            _settle(key, job, ref, job.validator, true);
        } else {
            registry.releaseBond(job.disputer, p.disputeBond);
            uint256 half = p.validatorBond / 2;
            _slash(job.validator, p.validatorBond, job.disputer, half, address(0), p.validatorBond - half);
            trust.recordFraud(job.validator); // a verdict overturned by the committee is a lie
            job.pass = !job.pass;
            if (job.pass) job.quality = BPS;
            emit DisputeResolved(key, false, job.pass, yes, no);
            _settle(key, job, ref, job.disputer, false);
        }
    }

    // ---------------------------------------------------------------- views

    function jobKey(JobRef calldata ref) public pure returns (bytes32) {
        return keccak256(abi.encode(ref.subscriptionId, ref.interval, ref.slot));
    }

    function getJob(JobRef calldata ref) external view returns (Job memory) {
        return _jobs[jobKey(ref)];
    }

    function committeeOf(JobRef calldata ref) external view returns (address[] memory) {
        return _committees[jobKey(ref)];
    }

    // ---------------------------------------------------------------- internals

    /// @dev `skip` (when non-zero) is also excluded: the validator that just timed out is replaced, never redrawn.
    function _assignValidator(bytes32 key, Job storage job, JobRef calldata ref, address skip) internal {
        address[] memory exclude = new address[](skip == address(0) ? 1 : 2);
        exclude[0] = job.node;
        if (skip != address(0)) exclude[1] = skip;
        bytes32 seed = keccak256(abi.encode(randomness.valueOf(job.round), key, "validator", job.attempts));
        address[] memory picked = registry.assignValidators(
            _containerOf(ref),
            1,
            seed,
            exclude,
            registry.operatorOf(job.node),
            params.validatorBond
        );
        if (picked.length == 0) return; // retried through assignValidator once a validator is available
        job.validator = picked[0];
        job.deadline = uint32(block.timestamp + params.verdictWindow);
        emit ValidatorAssigned(key, picked[0], job.deadline);
    }

    /// @dev Releases `bondAmount` of `node`'s bond, taking `a` to `toA`, `b` to `toB` (address(0) burns).
    function _slash(
        address node,
        uint256 bondAmount,
        address toA,
        uint256 a,
        address toB,
        uint256 b
    ) internal {
        INodeRegistry.SlashShare[] memory shares = new INodeRegistry.SlashShare[](2);
        shares[0] = INodeRegistry.SlashShare(toA, a);
        shares[1] = INodeRegistry.SlashShare(toB, b);
        registry.slash(node, bondAmount, shares);
    }

    function _tally(bytes32 key, address[] storage members) private returns (uint256 yes, uint256 no) {
        uint256 penalty = _min(params.validatorPenalty, params.validatorBond);
        for (uint256 i = 0; i < members.length; ++i) {
            address member = members[i];
            uint8 v = _votes[key][member];
            if (v == 1) ++yes;
            else if (v == 2) ++no;
            if (v == 0 && block.timestamp > _jobs[key].disputeDeadline) {
                _slash(member, params.validatorBond, params.treasury, penalty, address(0), 0);
                trust.recordTimeout(member);
            } else if (v != 0) {
                registry.releaseBond(member, params.validatorBond);
            }
        }
        // A resolve before the deadline with missing votes reverts in the caller, undoing these releases.
    }

    function _isMember(bytes32 key, address account) private view returns (bool) {
        address[] storage members = _committees[key];
        for (uint256 i = 0; i < members.length; ++i) if (members[i] == account) return true;
        return false;
    }

    function _round() internal returns (uint32) {
        return uint32(randomness.requestRound());
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function _containerOf(JobRef calldata ref) internal view virtual returns (bytes32);

    /// @dev Pays the node (pass: the share of the payment its stored quality earns) or slashes it for fraud, crediting
    /// the challenger share to `challenger`; releases the validator's bond when `releaseValidator`.
    function _settle(
        bytes32 key,
        Job storage job,
        JobRef calldata ref,
        address challenger,
        bool releaseValidator
    ) internal virtual;
}
