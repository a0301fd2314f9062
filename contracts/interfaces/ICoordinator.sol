// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ICoordinator
/// @notice Types, errors and events of the Coordinator, shared with off-chain code through the ABI.
interface ICoordinator {
    /// @notice What a consumer asks for. `inputs` empty means the Coordinator asks the owner's
    /// `getContainerInputs` view when each interval is requested.
    struct SubscriptionParams {
        bytes32 containerId;
        uint32 activeAt;
        uint32 period;
        uint32 frequency;
        uint16 redundancy;
        uint32 callbackGasLimit;
        bool lazy;
        address paymentToken;
        uint96 paymentAmount;
        address verifier;
        bytes inputs;
    }

    /// @dev Packed into five slots; slot 1 stays zero for unpaid subscriptions.
    struct Subscription {
        address owner;
        uint32 activeAt;
        uint32 period;
        uint32 frequency;
        address paymentToken;
        uint96 paymentAmount;
        address verifier;
        uint32 callbackGasLimit;
        uint16 redundancy;
        bool lazy;
        bool cancelled;
        uint32 lastInterval;
        bytes32 containerId;
        bytes32 inputsHash;
    }

    /// @dev `bond` is the job bond taken from each node assigned to this interval, fixed when it is requested so a
    /// later change of `Params.jobBond` never releases or slashes a different amount than was bonded.
    /// `round` is the randomness round the next assignment uses (replaced on reassignment); `seedRound` is the round
    /// reserved at the request and never replaced: its value seeds the job's initial noise (docs/protocol.md §6).
    /// Rounds are block numbers or oracle counters and fit 32 bits. `openUntil` is the deadline of slots that were
    /// never assigned (stored once here instead of once per slot).
    struct IntervalState {
        uint32 round;
        uint32 seedRound;
        uint32 requestedAt;
        uint16 delivered;
        uint8 reassignments;
        uint96 bond;
        uint32 openUntil;
    }

    enum SlotStatus {
        Empty,
        Assigned,
        Held,
        Paid,
        Refunded,
        Expired
    }

    struct Slot {
        address node;
        uint32 deadline;
        SlotStatus status;
    }

    struct Params {
        uint32 deliveryWindow;
        uint32 maxCallbackGasLimit;
        uint16 feeBps;
        uint8 maxReassignments;
        address treasury;
        uint96 jobBond;
        uint96 livenessPenalty;
    }

    error InvalidRedundancy(uint16 redundancy);
    error InvalidFrequency(uint32 frequency);
    error InvalidPeriod(uint32 period, uint32 frequency);
    error CallbackGasLimitTooHigh(uint32 limit, uint32 maximum);
    error PaymentTokenWithoutAmount(address token);
    error UnknownSubscription(uint64 subscriptionId);
    error NotSubscriptionOwner(uint64 subscriptionId, address caller);
    error SubscriptionIsCancelled(uint64 subscriptionId);
    error SubscriptionNotActive(uint64 subscriptionId, uint32 activeAt);
    error SubscriptionCompleted(uint64 subscriptionId, uint32 frequency);
    error IntervalAlreadyRequested(uint64 subscriptionId, uint32 interval);
    error IntervalNotRequested(uint64 subscriptionId, uint32 interval);
    error InputsTooLarge(uint256 length, uint256 maximum);
    error InputsUnavailable(uint64 subscriptionId, uint32 interval);
    error RandomnessNotReady(uint64 round);
    error NotAssigned(uint64 subscriptionId, uint32 interval, address node);
    error DeadlinePassed(uint64 subscriptionId, uint32 interval, uint16 slot, uint32 deadline);
    error DeadlineNotPassed(uint64 subscriptionId, uint32 interval, uint16 slot, uint32 deadline);
    error InvalidSlot(uint64 subscriptionId, uint32 interval, uint16 slot);
    error WrongSlotStatus(uint64 subscriptionId, uint32 interval, uint16 slot, SlotStatus status);
    error NotVerifier(uint64 subscriptionId, address caller);
    error InsufficientCallbackGas(uint256 available, uint256 required);
    error InvalidParams();
    error FeeTooHigh(uint16 feeBps, uint16 maximum);
    error PayBpsTooHigh(uint16 payBps, uint16 maximum);
    error UnknownVerifier(address verifier);

    event SubscriptionCreated(
        uint64 indexed subscriptionId,
        address indexed owner,
        SubscriptionParams params
    );
    event SubscriptionCancelled(uint64 indexed subscriptionId, uint256 refunded);
    event IntervalRequested(
        uint64 indexed subscriptionId,
        uint32 indexed interval,
        uint64 round,
        bytes32 inputsHash,
        bytes inputs
    );
    event RandomnessRefreshed(uint64 indexed subscriptionId, uint32 indexed interval, uint64 round);
    event NodeAssigned(
        uint64 indexed subscriptionId,
        uint32 indexed interval,
        uint16 slot,
        address indexed node,
        uint32 deadline
    );
    event Delivered(
        uint64 indexed subscriptionId,
        uint32 indexed interval,
        uint16 slot,
        address indexed node,
        bytes32 outputHash
    );
    event CallbackFailed(uint64 indexed subscriptionId, uint32 indexed interval, uint16 slot);
    event NodeReassigned(
        uint64 indexed subscriptionId,
        uint32 indexed interval,
        uint16 slot,
        address indexed missed,
        uint256 penalty
    );
    event SlotExpired(uint64 indexed subscriptionId, uint32 indexed interval, uint16 slot);
    /// @dev `payBps`: the share of the payment released to the node in basis points (0 = refused and refunded).
    event Settled(
        uint64 indexed subscriptionId,
        uint32 indexed interval,
        uint16 slot,
        address indexed node,
        uint16 payBps
    );
    event ParamsSet(Params params);
    event VerifierSet(address indexed verifier, bool allowed);
}
