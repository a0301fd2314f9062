// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ITrustModel} from "../interfaces/ITrustModel.sol";

/// @title TrustModel
/// @notice On-chain reputation per node as a Beta(a, b) belief that the node is honest, with exponential decay so old
/// behaviour fades. Every node starts at the prior Beta(1, 1) (mean 1/2), which maps to the neutral assignment weight.
/// Passes raise `a`, timeouts raise `b`, proven fraud resets the node to a pessimistic prior. The mean feeds the
/// NodeRegistry's assignment weight (through `trustBps`) and the Proof-of-Inference audit depth (through `auditDepth`).
contract TrustModel is ITrustModel {
    /// @dev Fixed point: 1.0 == 1e4.
    uint64 internal constant ONE = 1e4;
    /// @notice Weight given at the prior mean (1/2); a perfect record approaches twice that.
    uint256 public constant NEUTRAL_BPS = 10_000;

    struct Belief {
        uint64 a;
        uint64 b;
        uint32 passes;
        uint32 failures;
    }

    struct Params {
        /// @notice Multiplier applied to (a, b) before each update, in 1e4 (e.g. 9_500 keeps 95 %).
        uint16 decay;
        /// @notice Added to b when a node is caught cheating (after the reset to the prior), in 1e4.
        uint64 fraudPenalty;
        /// @notice Added to b when a node times out, in 1e4.
        uint64 timeoutPenalty;
    }

    error NotUpdater(address caller);
    error InvalidTrustParams();

    event TrustUpdated(address indexed node, uint64 a, uint64 b, uint8 outcome);

    /// @notice The only contract allowed to record outcomes (the Proof-of-Inference contract).
    address public immutable updater;
    Params public params;
    mapping(address node => Belief) private _beliefs;

    uint8 internal constant OUTCOME_PASS = 0;
    uint8 internal constant OUTCOME_FRAUD = 1;
    uint8 internal constant OUTCOME_TIMEOUT = 2;

    constructor(address updater_, Params memory params_) {
        if (params_.decay == 0 || params_.decay > ONE) revert InvalidTrustParams();
        updater = updater_;
        params = params_;
    }

    function recordPass(address node) external {
        Belief memory s = _decayed(node);
        s.a += ONE;
        s.passes += 1;
        _save(node, s, OUTCOME_PASS);
    }

    function recordFraud(address node) external {
        Belief memory s = _decayed(node);
        s.a = ONE;
        s.b = ONE + params.fraudPenalty;
        s.failures += 1;
        _save(node, s, OUTCOME_FRAUD);
    }

    function recordTimeout(address node) external {
        Belief memory s = _decayed(node);
        s.b += params.timeoutPenalty;
        _save(node, s, OUTCOME_TIMEOUT);
    }

    function beliefOf(address node) public view returns (Belief memory s) {
        s = _beliefs[node];
        if (s.a == 0) {
            s.a = ONE;
            s.b = ONE;
        }
    }

    /// @notice Assignment weight multiplier: 2 × mean × 10,000 (neutral 10,000 at the prior).
    function trustBps(address node) external view returns (uint256) {
        Belief memory s = beliefOf(node);
        return (2 * NEUTRAL_BPS * s.a) / (uint256(s.a) + s.b);
    }

    /// @notice Steps to challenge for this node: kMin + floor((kMax - kMin) × b / (a + b)). A node with a long honest
    /// record gets kMin, a new node (prior mean) about halfway, a node just caught cheating close to kMax.
    function auditDepth(address node, uint256 kMin, uint256 kMax) external view returns (uint256) {
        Belief memory s = beliefOf(node);
        return kMin + ((kMax - kMin) * s.b) / (uint256(s.a) + s.b);
    }

    function _decayed(address node) private view returns (Belief memory s) {
        if (msg.sender != updater) revert NotUpdater(msg.sender);
        s = beliefOf(node);
        uint64 d = params.decay;
        s.a = (s.a * d) / ONE;
        s.b = (s.b * d) / ONE;
    }

    function _save(address node, Belief memory s, uint8 outcome) private {
        // a == 0 marks a node never seen (read as the prior): a record decayed to zero must not reset to it.
        if (s.a == 0) s.a = 1;
        _beliefs[node] = s;
        emit TrustUpdated(node, s.a, s.b, outcome);
    }
}
