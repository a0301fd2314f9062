// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IProofOfInference
/// @notice Types, errors and events of the Proof-of-Inference verifier (docs/protocol.md).
interface IProofOfInference {
    enum Phase {
        None,
        Committed,
        Revealed,
        Judged,
        Disputed,
        Paid,
        Slashed
    }

    /// @dev Four slots; a commit writes only the first two. `commitHash` = keccak256(abi.encode(root, outputHash,
    /// paramsHash)); the preimage is given again at reveal. `quality` is the validator's score of the output in basis
    /// points (0..10,000), stored with its verdict; on a pass it weights the payout (docs/protocol.md §10).
    struct Job {
        bytes32 commitHash;
        // slot 1
        address node;
        uint32 round;
        uint32 committedAt;
        uint16 steps;
        uint8 k;
        Phase phase;
        // slot 2
        address validator;
        uint32 deadline;
        bool pass;
        uint8 attempts;
        uint16 quality;
        // slot 3
        address disputer;
        uint32 disputeRound;
        uint32 disputeDeadline;
    }

    struct Commitment {
        bytes32 root;
        bytes32 outputHash;
        bytes32 paramsHash;
    }

    struct StepOpening {
        uint32 index;
        uint32 timestep;
        bytes32 latentDigest;
        bytes32 noiseDigest;
    }

    struct JobRef {
        uint64 subscriptionId;
        uint32 interval;
        uint16 slot;
    }

    /// @dev `qualityFloorBps` (0 < floor <= 10,000) is the least share of the payment a passing job earns: the node
    /// is paid `floor + (10,000 - floor) * quality / 10,000` basis points of it and the rest returns to the consumer.
    /// It sits after `maxPrice`, in that member's slot, so the struct stays four slots.
    struct Params {
        uint32 revealWindow;
        uint32 verdictWindow;
        uint32 disputeWindow;
        uint32 committeeWindow;
        uint16 kMin;
        uint16 kMax;
        uint16 maxSteps;
        uint16 requesterShareBps;
        uint16 challengerShareBps;
        uint8 committeeSize;
        uint96 validatorBond;
        uint96 disputeBond;
        uint96 validatorPenalty;
        uint96 maxPrice;
        uint16 qualityFloorBps;
        uint96 computeCost;
        address treasury;
    }

    error NotCoordinator(address caller);
    error InvalidCommitment();
    error StepsOutOfRange(uint256 steps, uint256 maximum);
    error PriceAboveGuard(uint256 price, uint256 maximum);
    error AlreadyCommitted(bytes32 key);
    error WrongPhase(bytes32 key, Phase phase);
    error NotJobNode(bytes32 key, address caller);
    error RevealWindowClosed(bytes32 key, uint256 deadline);
    error RevealWindowOpen(bytes32 key, uint256 deadline);
    error ChallengeNotReady(bytes32 key, uint64 round);
    error CommitmentMismatch(bytes32 key);
    error WrongOpening(bytes32 key, uint256 position);
    error InvalidProof(bytes32 key);
    error NotValidator(bytes32 key, address caller);
    error VerdictWindowClosed(bytes32 key, uint256 deadline);
    error VerdictWindowOpen(bytes32 key, uint256 deadline);
    error NoValidatorAssigned(bytes32 key);
    error ValidatorAlreadyAssigned(bytes32 key);
    error DisputeWindowClosed(bytes32 key, uint256 deadline);
    error DisputeWindowOpen(bytes32 key, uint256 deadline);
    error NotRegisteredNode(address caller);
    error NotCommitteeMember(bytes32 key, address caller);
    error AlreadyVoted(bytes32 key, address member);
    error CommitteeNotAssigned(bytes32 key);
    error CommitteeAlreadyAssigned(bytes32 key);
    error CommitteeStillVoting(bytes32 key, uint256 deadline);
    error InvalidShares(uint256 requesterBps, uint256 challengerBps);
    error InvalidQualityFloor(uint16 floorBps);
    error QualityTooHigh(uint16 quality);
    error InvalidWindows();
    error InvalidAuditDepth(uint256 kMin, uint256 kMax);
    error BondBelowGuard(uint256 bond, uint256 guarded);
    error BondSizesFixed();

    event Committed(
        bytes32 indexed key,
        address indexed node,
        bytes32 root,
        bytes32 outputHash,
        bytes32 paramsHash,
        uint16 steps,
        uint8 k,
        uint32 round
    );
    event Revealed(
        bytes32 indexed key,
        uint32[] challenged,
        StepOpening[] openings,
        bytes32 finalLatentDigest
    );
    event ValidatorAssigned(bytes32 indexed key, address indexed validator, uint32 deadline);
    event VerdictPosted(
        bytes32 indexed key,
        address indexed validator,
        bool pass,
        uint256 failedSteps,
        bytes32 digest,
        uint16 quality
    );
    event VerdictTimedOut(bytes32 indexed key, address indexed validator, uint256 penalty);
    event Disputed(bytes32 indexed key, address indexed disputer, uint32 round);
    event CommitteeAssigned(bytes32 indexed key, address[] members, uint32 deadline);
    event CommitteeVote(bytes32 indexed key, address indexed member, bool pass);
    event DisputeResolved(
        bytes32 indexed key,
        bool verdictUpheld,
        bool pass,
        uint256 votesPass,
        uint256 votesFail
    );
    /// @dev `quality` is the score the payout used; `payBps` the share of the payment released to the node (the
    /// Coordinator returns the rest to the consumer).
    event JobPaid(bytes32 indexed key, address indexed node, uint16 quality, uint16 payBps);
    event FraudSlashed(
        bytes32 indexed key,
        address indexed node,
        uint256 toRequester,
        uint256 toChallenger,
        uint256 burned
    );
    event ParamsSet(Params params);
}
