// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ICoordinator} from "../interfaces/ICoordinator.sol";
import {IConsumer} from "../interfaces/IConsumer.sol";
import {IRandomness} from "../interfaces/IRandomness.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IContainerRegistry} from "../interfaces/IContainerRegistry.sol";
import {IVerifier} from "../interfaces/IVerifier.sol";
import {Intervals} from "../libraries/Intervals.sol";
import {Fees} from "../libraries/Fees.sol";
import {Escrow} from "./Escrow.sol";
import {Inbox} from "./Inbox.sol";
import {DelegatedSubscriptions} from "./DelegatedSubscriptions.sol";

/// @title Coordinator
/// @notice Subscriptions, interval requests and their assignment to staked nodes, and delivery. Instead of letting
/// nodes race, each requested interval is assigned to `redundancy` nodes by stake-weighted random choice, drawn from
/// randomness fixed only after the request; an assigned node that misses its deadline loses the slot to another
/// node and pays a liveness penalty from its bond. Consumer money sits in the Escrow part of this contract.
contract Coordinator is ICoordinator, Escrow, Inbox, DelegatedSubscriptions, Ownable2Step {
    /// @notice Gas the `getContainerInputs` view may use when an interval is requested.
    uint256 public constant INPUTS_GAS_LIMIT = 500_000;
    uint256 public constant MAX_INPUTS_BYTES = 16_384;
    /// @dev Gas kept back for the work after the callback returns.
    uint256 private constant CALLBACK_RESERVE = 12_000;

    IRandomness public immutable randomness;
    INodeRegistry public immutable registry;
    IContainerRegistry public immutable containers;
    Params public params;
    uint64 public subscriptionCount;
    /// @notice Verification contracts a subscription may name. Allow-listed by governance because a verifier runs
    /// inside every delivery: a hostile one could make assigned nodes miss their deadlines.
    mapping(address verifier => bool) public isVerifier;

    mapping(uint64 subscriptionId => Subscription) private _subscriptions;
    mapping(uint256 intervalKey => IntervalState) private _intervals;
    mapping(uint256 intervalKey => bytes32) private _intervalInputs;
    mapping(uint256 intervalKey => mapping(uint16 slot => Slot)) private _slots;
    /// @dev Nodes that lost a slot of the interval to `reassign`; never drawn again for it.
    mapping(uint256 intervalKey => address[]) private _missed;

    constructor(
        address owner_,
        IRandomness randomness_,
        INodeRegistry registry_,
        IContainerRegistry containers_,
        Params memory params_
    ) Ownable(owner_) {
        randomness = randomness_;
        registry = registry_;
        containers = containers_;
        _setParams(params_);
    }

    // ---------------------------------------------------------------- consumers

    /// @notice Creates a subscription owned by msg.sender and prepays `deposit` (as msg.value for ETH).
    function createSubscription(
        SubscriptionParams calldata p,
        uint256 deposit
    ) external payable returns (uint64 subscriptionId) {
        subscriptionId = _createSubscription(msg.sender, p);
        if (deposit != 0 || msg.value != 0) _fund(subscriptionId, p.paymentToken, deposit);
    }

    /// @notice One call for the common case: create, prepay and request the first interval.
    function requestCompute(
        SubscriptionParams calldata p,
        uint256 deposit
    ) external payable returns (uint64 subscriptionId) {
        subscriptionId = _createSubscription(msg.sender, p);
        if (deposit != 0 || msg.value != 0) _fund(subscriptionId, p.paymentToken, deposit);
        _requestInterval(subscriptionId);
    }

    /// @notice Adds prepayment to any subscription; anyone may pay.
    function fund(uint64 subscriptionId, uint256 amount) external payable nonReentrant {
        _fund(subscriptionId, _existing(subscriptionId).paymentToken, amount);
    }

    /// @notice The owner takes back unlocked prepayment (credited, then withdrawn with `withdraw`).
    function withdrawFunds(uint64 subscriptionId, uint256 amount) external {
        Subscription storage s = _owned(subscriptionId);
        _refundFree(subscriptionId, s.paymentToken, msg.sender, amount);
    }

    /// @notice Stops new intervals and refunds what is not locked. Intervals already requested stay deliverable:
    /// their money is locked for the nodes working on them.
    function cancelSubscription(uint64 subscriptionId) external {
        Subscription storage s = _owned(subscriptionId);
        if (s.cancelled) revert SubscriptionIsCancelled(subscriptionId);
        s.cancelled = true;
        uint256 refunded = _refundFree(subscriptionId, s.paymentToken, s.owner, type(uint256).max);
        emit SubscriptionCancelled(subscriptionId, refunded);
    }

    /// @notice Requests the current interval: pins its inputs, locks its payment and draws a randomness round for
    /// its assignment. Anyone may call (the consumer, a keeper, or a node that wants the work).
    function requestInterval(uint64 subscriptionId) external returns (uint32) {
        return _requestInterval(subscriptionId);
    }

    // ---------------------------------------------------------------- nodes

    /// @notice Fills the interval's empty slots once its randomness is ready. Anyone may call; `deliver` does it
    /// implicitly, so a node that previewed its assignment needs one transaction.
    function assign(uint64 subscriptionId, uint32 interval) external {
        _assign(subscriptionId, interval, _existing(subscriptionId));
    }

    /// @notice Delivers the result of msg.sender's assigned slot. The consumer callback runs with exactly the
    /// subscription's gas limit; if it reverts the node is paid all the same.
    function deliver(
        uint64 subscriptionId,
        uint32 interval,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) external nonReentrant {
        Subscription storage s = _existing(subscriptionId);
        uint256 key = _key(subscriptionId, interval);
        IntervalState storage st = _intervals[key];
        if (st.requestedAt == 0) revert IntervalNotRequested(subscriptionId, interval);
        (uint16 slotIndex, bool found) = _findSlot(key, s.redundancy, msg.sender);
        if (!found) {
            _assign(subscriptionId, interval, s);
            (slotIndex, found) = _findSlot(key, s.redundancy, msg.sender);
            if (!found) revert NotAssigned(subscriptionId, interval, msg.sender);
        }
        Slot storage slot = _slots[key][slotIndex];
        if (block.timestamp > slot.deadline)
            revert DeadlinePassed(subscriptionId, interval, slotIndex, slot.deadline);

        // Effects before any external call.
        st.delivered += 1;
        address verifier = s.verifier;
        if (verifier == address(0)) {
            slot.status = SlotStatus.Paid;
            uint256 amount = s.paymentAmount;
            if (amount != 0) {
                _payLocked(
                    subscriptionId,
                    s.paymentToken,
                    msg.sender,
                    amount,
                    amount,
                    params.feeBps,
                    params.treasury
                );
            }
        } else {
            slot.status = SlotStatus.Held;
        }
        if (s.lazy) _store(subscriptionId, interval, msg.sender, output, proof);
        bytes32 outputHash = keccak256(output);
        emit Delivered(subscriptionId, interval, slotIndex, msg.sender, outputHash);

        // The verifier (trusted: allow-listed) records the node's commitment against this output; it may revert.
        if (verifier != address(0)) {
            IVerifier(verifier).onDeliver(
                subscriptionId,
                interval,
                slotIndex,
                msg.sender,
                outputHash,
                s.paymentAmount,
                st.bond,
                proof
            );
        }

        if (verifier == address(0)) registry.releaseBond(msg.sender, st.bond);
        if (!s.lazy) _callback(s, subscriptionId, interval, slotIndex, input, output, proof);
    }

    /// @notice Takes a slot from a node that missed its deadline: a liveness penalty from its bond goes to the
    /// treasury, the rest of the bond is released, and the slot is reassigned with fresh randomness (after
    /// `maxReassignments` the slot expires and its payment is unlocked).
    function reassign(uint64 subscriptionId, uint32 interval, uint16 slotIndex) external {
        Subscription storage s = _existing(subscriptionId);
        uint256 key = _key(subscriptionId, interval);
        Slot storage slot = _slotOf(key, s, subscriptionId, interval, slotIndex);
        if (slot.status != SlotStatus.Assigned) {
            revert WrongSlotStatus(subscriptionId, interval, slotIndex, slot.status);
        }
        if (block.timestamp <= slot.deadline) {
            revert DeadlineNotPassed(subscriptionId, interval, slotIndex, slot.deadline);
        }
        address missed = slot.node;
        Params memory p = params;
        IntervalState storage st = _intervals[key];
        uint256 bond = st.bond;
        uint256 penalty = p.livenessPenalty < bond ? p.livenessPenalty : bond;
        if (st.reassignments >= p.maxReassignments) {
            _expire(s, subscriptionId, interval, slotIndex, slot);
        } else {
            st.reassignments += 1;
            _missed[key].push(missed);
            slot.status = SlotStatus.Empty;
            slot.deadline = uint32(block.timestamp + p.deliveryWindow);
            st.round = uint32(randomness.requestRound());
            emit RandomnessRefreshed(subscriptionId, interval, st.round);
        }
        emit NodeReassigned(subscriptionId, interval, slotIndex, missed, penalty);
        INodeRegistry.SlashShare[] memory shares = new INodeRegistry.SlashShare[](1);
        shares[0] = INodeRegistry.SlashShare(p.treasury, penalty);
        registry.slash(missed, bond, shares);
    }

    /// @notice Gives up a slot no eligible node could take before its deadline and unlocks its payment.
    function expireSlot(uint64 subscriptionId, uint32 interval, uint16 slotIndex) external {
        Subscription storage s = _existing(subscriptionId);
        uint256 key = _key(subscriptionId, interval);
        Slot storage slot = _slotOf(key, s, subscriptionId, interval, slotIndex);
        if (slot.status != SlotStatus.Empty)
            revert WrongSlotStatus(subscriptionId, interval, slotIndex, slot.status);
        uint32 deadline = slot.deadline != 0 ? slot.deadline : _intervals[key].openUntil;
        if (block.timestamp <= deadline)
            revert DeadlineNotPassed(subscriptionId, interval, slotIndex, deadline);
        _expire(s, subscriptionId, interval, slotIndex, slot);
    }

    // ---------------------------------------------------------------- verifiers

    /// @notice The subscription's verifier settles a held slot. `payBps` > 0 accepts the delivery: that share of the
    /// payment (basis points, rounded down) goes to the node, less the protocol fee on the paid part only, the rest
    /// is unlocked for the subscription, and the node's job bond is released. A verifier that grades the work (the
    /// Proof-of-Inference quality score) pays in between; 10,000 pays everything. `payBps` = 0 refuses the delivery:
    /// the whole payment is unlocked for the subscription and the job bond stays with the verifier, which slashes it
    /// or releases it through the NodeRegistry, where it is an authorised slasher and bonder.
    function settle(
        uint64 subscriptionId,
        uint32 interval,
        uint16 slotIndex,
        uint16 payBps
    ) external nonReentrant {
        Subscription storage s = _existing(subscriptionId);
        if (msg.sender != s.verifier) revert NotVerifier(subscriptionId, msg.sender);
        if (payBps > Fees.BPS) revert PayBpsTooHigh(payBps, Fees.BPS);
        uint256 key = _key(subscriptionId, interval);
        Slot storage slot = _slotOf(key, s, subscriptionId, interval, slotIndex);
        if (slot.status != SlotStatus.Held)
            revert WrongSlotStatus(subscriptionId, interval, slotIndex, slot.status);
        address node = slot.node;
        uint256 amount = s.paymentAmount;
        if (payBps != 0) {
            slot.status = SlotStatus.Paid;
            if (amount != 0) {
                _payLocked(
                    subscriptionId,
                    s.paymentToken,
                    node,
                    amount,
                    (amount * payBps) / Fees.BPS,
                    params.feeBps,
                    params.treasury
                );
            }
            registry.releaseBond(node, _intervals[key].bond);
        } else {
            slot.status = SlotStatus.Refunded;
            if (amount != 0) _unlock(subscriptionId, amount);
        }
        emit Settled(subscriptionId, interval, slotIndex, node, payBps);
    }

    // ---------------------------------------------------------------- governance

    function setParams(Params calldata p) external onlyOwner {
        _setParams(p);
    }

    function setVerifier(address verifier, bool allowed) external onlyOwner {
        isVerifier[verifier] = allowed;
        emit VerifierSet(verifier, allowed);
    }

    // ---------------------------------------------------------------- views

    function getSubscription(uint64 subscriptionId) external view returns (Subscription memory) {
        return _subscriptions[subscriptionId];
    }

    function getInterval(
        uint64 subscriptionId,
        uint32 interval
    ) external view returns (IntervalState memory state, bytes32 inputsHash, Slot[] memory slots) {
        uint256 key = _key(subscriptionId, interval);
        Subscription storage s = _subscriptions[subscriptionId];
        state = _intervals[key];
        inputsHash = s.inputsHash != bytes32(0) ? s.inputsHash : _intervalInputs[key];
        slots = new Slot[](s.redundancy);
        for (uint16 i = 0; i < s.redundancy; ++i) {
            slots[i] = _slots[key][i];
            if (slots[i].deadline == 0) slots[i].deadline = state.openUntil;
        }
    }

    /// @notice Which nodes `assign` would pick for the interval's empty slots if called now: none while the interval
    /// is not requested or its randomness round is not readable (in the request block itself, or once expired).
    function previewAssignment(
        uint64 subscriptionId,
        uint32 interval
    ) external view returns (address[] memory) {
        Subscription storage s = _existing(subscriptionId);
        uint256 key = _key(subscriptionId, interval);
        IntervalState storage st = _intervals[key];
        if (st.requestedAt == 0) return new address[](0);
        (bytes32 seed, address[] memory exclude, uint256 empty) = _plan(key, s, subscriptionId, interval);
        // `_plan` leaves the seed zero while the round is not readable.
        if (empty == 0 || seed == bytes32(0)) return new address[](0);
        return registry.selectNodes(s.containerId, empty, seed, exclude, st.bond);
    }

    function currentInterval(uint64 subscriptionId) external view returns (uint32) {
        Subscription storage s = _existing(subscriptionId);
        return Intervals.current(s.activeAt, s.period, block.timestamp);
    }

    // ---------------------------------------------------------------- internals

    function _createSubscription(
        address owner,
        SubscriptionParams calldata p
    ) internal override returns (uint64 id) {
        if (p.redundancy == 0) revert InvalidRedundancy(p.redundancy);
        if (p.frequency == 0) revert InvalidFrequency(p.frequency);
        if (p.period == 0 && p.frequency > 1) revert InvalidPeriod(p.period, p.frequency);
        if (p.callbackGasLimit > params.maxCallbackGasLimit) {
            revert CallbackGasLimitTooHigh(p.callbackGasLimit, params.maxCallbackGasLimit);
        }
        if (p.paymentToken != address(0) && p.paymentAmount == 0)
            revert PaymentTokenWithoutAmount(p.paymentToken);
        if (p.inputs.length > MAX_INPUTS_BYTES) revert InputsTooLarge(p.inputs.length, MAX_INPUTS_BYTES);
        if (!containers.isKnown(p.containerId)) revert IContainerRegistry.UnknownContainer(p.containerId);
        if (p.verifier != address(0) && !isVerifier[p.verifier]) revert UnknownVerifier(p.verifier);

        id = ++subscriptionCount;
        Subscription storage s = _subscriptions[id];
        s.owner = owner;
        s.activeAt = p.activeAt == 0 ? uint32(block.timestamp) : p.activeAt;
        s.period = p.period;
        s.frequency = p.frequency;
        if (p.paymentAmount != 0) {
            s.paymentToken = p.paymentToken;
            s.paymentAmount = p.paymentAmount;
        }
        s.verifier = p.verifier;
        s.callbackGasLimit = p.callbackGasLimit;
        s.redundancy = p.redundancy;
        s.lazy = p.lazy;
        s.containerId = p.containerId;
        if (p.inputs.length != 0) s.inputsHash = keccak256(p.inputs);
        emit SubscriptionCreated(id, owner, p);
    }

    function _requestInterval(uint64 subscriptionId) private returns (uint32 interval) {
        Subscription storage s = _existing(subscriptionId);
        if (s.cancelled) revert SubscriptionIsCancelled(subscriptionId);
        interval = Intervals.current(s.activeAt, s.period, block.timestamp);
        if (interval == 0) revert SubscriptionNotActive(subscriptionId, s.activeAt);
        if (interval > s.frequency) revert SubscriptionCompleted(subscriptionId, s.frequency);
        if (interval <= s.lastInterval) revert IntervalAlreadyRequested(subscriptionId, interval);
        s.lastInterval = interval;

        uint256 key = _key(subscriptionId, interval);
        bytes32 inputsHash = s.inputsHash;
        bytes memory inputs;
        if (inputsHash == bytes32(0)) {
            inputs = _viewInputs(s.owner, subscriptionId, interval);
            inputsHash = keccak256(inputs);
            _intervalInputs[key] = inputsHash;
        }
        if (s.paymentAmount != 0) _lock(subscriptionId, uint256(s.paymentAmount) * s.redundancy);
        uint32 round = uint32(randomness.requestRound());
        _intervals[key] = IntervalState({
            round: round,
            seedRound: round,
            requestedAt: uint32(block.timestamp),
            delivered: 0,
            reassignments: 0,
            bond: params.jobBond,
            openUntil: uint32(block.timestamp + params.deliveryWindow)
        });
        emit IntervalRequested(subscriptionId, interval, round, inputsHash, inputs);
    }

    function _viewInputs(
        address owner,
        uint64 subscriptionId,
        uint32 interval
    ) private view returns (bytes memory) {
        try
            IConsumer(owner).getContainerInputs{gas: INPUTS_GAS_LIMIT}(
                subscriptionId,
                interval,
                uint32(block.timestamp)
            )
        returns (bytes memory inputs) {
            if (inputs.length > MAX_INPUTS_BYTES) revert InputsTooLarge(inputs.length, MAX_INPUTS_BYTES);
            return inputs;
        } catch {
            revert InputsUnavailable(subscriptionId, interval);
        }
    }

    function _assign(uint64 subscriptionId, uint32 interval, Subscription storage s) private {
        uint256 key = _key(subscriptionId, interval);
        IntervalState storage st = _intervals[key];
        if (st.requestedAt == 0) revert IntervalNotRequested(subscriptionId, interval);
        if (!randomness.isReady(st.round)) {
            if (!randomness.isExpired(st.round)) revert RandomnessNotReady(st.round);
            st.round = uint32(randomness.requestRound());
            emit RandomnessRefreshed(subscriptionId, interval, st.round);
            return;
        }
        (bytes32 seed, address[] memory exclude, uint256 empty) = _plan(key, s, subscriptionId, interval);
        if (empty == 0) return;
        address[] memory nodes = registry.assignNodes(s.containerId, empty, seed, exclude, st.bond);
        uint32 deadline = uint32(block.timestamp + params.deliveryWindow);
        uint256 next;
        for (uint16 i = 0; i < s.redundancy && next < nodes.length; ++i) {
            Slot storage slot = _slots[key][i];
            if (slot.status != SlotStatus.Empty) continue;
            address node = nodes[next++];
            slot.node = node;
            slot.deadline = deadline;
            slot.status = SlotStatus.Assigned;
            emit NodeAssigned(subscriptionId, interval, i, node, deadline);
        }
    }

    /// @dev Seed (zero while the round is not readable), nodes to skip (every node that holds or held a slot of this
    /// interval, including those it was taken from by `reassign`) and the number of empty slots.
    function _plan(
        uint256 key,
        Subscription storage s,
        uint64 subscriptionId,
        uint32 interval
    ) private view returns (bytes32 seed, address[] memory exclude, uint256 empty) {
        IntervalState storage st = _intervals[key];
        uint16 r = s.redundancy;
        address[] storage missed = _missed[key];
        uint256 m = st.reassignments == 0 ? 0 : missed.length;
        exclude = new address[](r + m);
        uint256 n;
        for (uint16 i = 0; i < r; ++i) {
            Slot storage slot = _slots[key][i];
            if (slot.status == SlotStatus.Empty) ++empty;
            if (slot.node != address(0)) exclude[n++] = slot.node;
        }
        for (uint256 j = 0; j < m; ++j) exclude[n++] = missed[j];
        assembly ("memory-safe") {
            mstore(exclude, n)
        }
        if (empty != 0 && randomness.isReady(st.round)) {
            seed = keccak256(
                abi.encode(randomness.valueOf(st.round), subscriptionId, interval, st.reassignments)
            );
        }
    }

    function _callback(
        Subscription storage s,
        uint64 subscriptionId,
        uint32 interval,
        uint16 slotIndex,
        bytes calldata input,
        bytes calldata output,
        bytes calldata proof
    ) private {
        uint256 limit = s.callbackGasLimit;
        bytes memory data = abi.encodeCall(
            IConsumer.receiveCompute,
            (subscriptionId, interval, slotIndex, msg.sender, input, output, proof)
        );
        address target = s.owner;
        // EIP-150 forwards at most 63/64 of what is left: make sure the consumer really gets `limit`, so a node
        // cannot make a callback fail on purpose by sending too little gas. Checked after encoding the call, whose
        // cost grows with the node's own input, output and proof (padding them must not eat into the limit).
        uint256 required = limit + limit / 63 + CALLBACK_RESERVE;
        if (gasleft() < required) revert InsufficientCallbackGas(gasleft(), required);
        bool ok;
        assembly ("memory-safe") {
            // No return data is copied, so a consumer cannot grief the node with a huge revert reason.
            ok := call(limit, target, 0, add(data, 0x20), mload(data), 0, 0)
        }
        if (!ok) emit CallbackFailed(subscriptionId, interval, slotIndex);
    }

    function _expire(
        Subscription storage s,
        uint64 subscriptionId,
        uint32 interval,
        uint16 slotIndex,
        Slot storage slot
    ) private {
        slot.status = SlotStatus.Expired;
        if (s.paymentAmount != 0) _unlock(subscriptionId, s.paymentAmount);
        emit SlotExpired(subscriptionId, interval, slotIndex);
    }

    function _findSlot(uint256 key, uint16 redundancy, address node) private view returns (uint16, bool) {
        for (uint16 i = 0; i < redundancy; ++i) {
            Slot storage slot = _slots[key][i];
            if (slot.node == node && slot.status == SlotStatus.Assigned) return (i, true);
        }
        return (0, false);
    }

    function _slotOf(
        uint256 key,
        Subscription storage s,
        uint64 subscriptionId,
        uint32 interval,
        uint16 slotIndex
    ) private view returns (Slot storage) {
        if (slotIndex >= s.redundancy || _intervals[key].requestedAt == 0) {
            revert InvalidSlot(subscriptionId, interval, slotIndex);
        }
        return _slots[key][slotIndex];
    }

    function _existing(uint64 subscriptionId) private view returns (Subscription storage s) {
        s = _subscriptions[subscriptionId];
        if (s.owner == address(0)) revert UnknownSubscription(subscriptionId);
    }

    function _owned(uint64 subscriptionId) private view returns (Subscription storage s) {
        s = _existing(subscriptionId);
        if (s.owner != msg.sender) revert NotSubscriptionOwner(subscriptionId, msg.sender);
    }

    function _key(uint64 subscriptionId, uint32 interval) private pure returns (uint256) {
        return (uint256(subscriptionId) << 32) | interval;
    }

    function _setParams(Params memory p) private {
        if (p.feeBps > MAX_FEE_BPS) revert FeeTooHigh(p.feeBps, MAX_FEE_BPS);
        if (p.deliveryWindow == 0 || p.treasury == address(0)) revert InvalidParams();
        params = p;
        emit ParamsSet(p);
    }
}
