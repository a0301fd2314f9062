// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {IContainerRegistry} from "../interfaces/IContainerRegistry.sol";
import {ITrustModel} from "../interfaces/ITrustModel.sol";
import {TokenIO} from "../libraries/TokenIO.sol";

/// @title NodeRegistry
/// @notice Operators stake for their nodes here. Stake is the collateral behind every job: the Coordinator bonds part
/// of a node's free stake per assigned job and verification contracts slash those bonds. Withdrawals wait out an
/// unbonding delay longer than any dispute window, so a node cannot leave before its last job can still be judged.
contract NodeRegistry is INodeRegistry, Ownable2Step, ReentrancyGuardTransient {
    /// @notice Upper bound on candidates per container so weighted selection has bounded gas.
    uint256 public constant MAX_NODES_PER_CONTAINER = 128;
    uint256 public constant NEUTRAL_TRUST_BPS = 10_000;

    struct Hardware {
        string gpuModel;
        uint32 vramMiB;
        uint16 gpuCount;
    }

    struct Registration {
        address node;
        string endpoint;
        bytes32[] containers;
        Hardware hardware;
        uint256 stake;
    }

    /// @dev Invariant: bonded + unbonding <= staked.
    struct Node {
        address operator;
        bool jailed;
        uint32 unlockAt;
        uint128 staked;
        uint128 bonded;
        uint128 unbonding;
    }

    struct Params {
        uint128 minStake;
        uint32 unbondingDelay;
    }

    error NotOperator(address node, address caller);
    error NodeAlreadyRegistered(address node);
    error NodeNotRegistered(address node);
    error ZeroAddress();
    error EmptyEndpoint();
    error StakeBelowMinimum(uint256 amount, uint256 minimum);
    error StakeBonded(address node, uint256 requested, uint256 free);
    error UnbondingNotElapsed(address node, uint256 unlockAt);
    error NothingToWithdraw(address account);
    error ContainerFull(bytes32 containerId);
    error DuplicateContainer(bytes32 containerId);
    error NotBonder(address caller);
    error NotSlasher(address caller);
    error BondExceedsBonded(address node, uint256 amount, uint256 bonded);
    error InsufficientFreeStake(address node, uint256 amount, uint256 free);
    error SlashExceedsBond(uint256 total, uint256 bondAmount);
    error NodeNotJailed(address node);
    error InvalidUnbondingDelay(uint256 delay);
    error WindowNotBelowUnbondingDelay(uint256 window, uint256 unbondingDelay);

    event NodeRegistered(address indexed node, address indexed operator, uint256 stake, string endpoint);
    event NodeUpdated(address indexed node, string endpoint, Hardware hardware);
    event ContainersUpdated(address indexed node, bytes32[] containers);
    event StakeAdded(address indexed node, uint256 amount, uint256 staked);
    event UnbondRequested(address indexed node, uint256 amount, uint256 unlockAt);
    event StakeWithdrawn(address indexed node, address indexed operator, uint256 amount);
    event Bonded(address indexed node, uint256 amount, uint256 bonded);
    event BondReleased(address indexed node, uint256 amount, uint256 bonded);
    event Slashed(
        address indexed node,
        address indexed by,
        uint256 bondAmount,
        uint256 taken,
        uint256 burned
    );
    event NodeJailed(address indexed node, uint256 activeStake);
    event NodeUnjailed(address indexed node);
    event CreditWithdrawn(address indexed account, uint256 amount);
    event ParamsSet(uint128 minStake, uint32 unbondingDelay);
    event BonderSet(address indexed account, bool allowed);
    event SlasherSet(address indexed account, bool allowed, uint256 maxWindow);
    event TrustModelSet(address model);

    /// @notice address(0) means ETH.
    address public immutable stakeToken;
    IContainerRegistry public immutable containerRegistry;
    Params public params;
    ITrustModel public trustModel;
    /// @notice Largest dispute/verdict window of any authorised slasher; the unbonding delay must exceed it.
    uint256 public maxSlasherWindow;

    mapping(address node => Node) private _nodes;
    mapping(address node => string) public endpointOf;
    mapping(address node => Hardware) private _hardware;
    mapping(address node => bytes32[]) private _containers;
    mapping(bytes32 containerId => address[]) private _nodesOf;
    mapping(bytes32 containerId => mapping(address node => uint256)) private _positionOf;
    mapping(address account => bool) public isBonder;
    mapping(address account => bool) public isSlasher;
    /// @notice Slashed stake credited to recipients, withdrawn by pull.
    mapping(address account => uint256) public credits;
    uint256 public totalBurned;

    constructor(
        address owner_,
        address stakeToken_,
        IContainerRegistry containers_,
        Params memory params_
    ) Ownable(owner_) {
        stakeToken = stakeToken_;
        containerRegistry = containers_;
        _setParams(params_);
    }

    modifier onlyOperator(address node) {
        address operator = _nodes[node].operator;
        if (operator == address(0)) revert NodeNotRegistered(node);
        if (operator != msg.sender) revert NotOperator(node, msg.sender);
        _;
    }

    // ---------------------------------------------------------------- operators

    /// @notice Registers `r.node` (the hot key that will send the node's transactions) under msg.sender as operator.
    function register(Registration calldata r) external payable nonReentrant {
        if (r.node == address(0)) revert ZeroAddress();
        if (_nodes[r.node].operator != address(0)) revert NodeAlreadyRegistered(r.node);
        if (bytes(r.endpoint).length == 0) revert EmptyEndpoint();
        if (r.stake < params.minStake) revert StakeBelowMinimum(r.stake, params.minStake);
        uint256 received = TokenIO.pull(stakeToken, msg.sender, r.stake);
        if (received < params.minStake) revert StakeBelowMinimum(received, params.minStake);

        _nodes[r.node] = Node({
            operator: msg.sender,
            jailed: false,
            unlockAt: 0,
            staked: uint128(received),
            bonded: 0,
            unbonding: 0
        });
        endpointOf[r.node] = r.endpoint;
        _hardware[r.node] = r.hardware;
        _addContainers(r.node, r.containers);
        emit NodeRegistered(r.node, msg.sender, received, r.endpoint);
        emit NodeUpdated(r.node, r.endpoint, r.hardware);
        emit ContainersUpdated(r.node, r.containers);
    }

    function updateNode(
        address node,
        string calldata endpoint,
        Hardware calldata hardware
    ) external onlyOperator(node) {
        if (bytes(endpoint).length == 0) revert EmptyEndpoint();
        endpointOf[node] = endpoint;
        _hardware[node] = hardware;
        emit NodeUpdated(node, endpoint, hardware);
    }

    /// @notice Replaces the set of containers the node serves.
    function setContainers(address node, bytes32[] calldata containers) external onlyOperator(node) {
        bytes32[] storage old = _containers[node];
        for (uint256 i = old.length; i > 0; --i) {
            _removeFrom(old[i - 1], node);
            old.pop();
        }
        _addContainers(node, containers);
        emit ContainersUpdated(node, containers);
    }

    function addStake(address node, uint256 amount) external payable nonReentrant onlyOperator(node) {
        uint256 received = TokenIO.pull(stakeToken, msg.sender, amount);
        Node storage n = _nodes[node];
        n.staked += uint128(received);
        emit StakeAdded(node, received, n.staked);
    }

    /// @notice Starts the unbonding delay for `amount` of free stake. Stake bonded to open jobs cannot be unbonded.
    /// A new request restarts the delay for everything already unbonding.
    function requestUnbond(address node, uint256 amount) external onlyOperator(node) {
        Node storage n = _nodes[node];
        uint256 free = _free(n);
        if (amount == 0 || amount > free) revert StakeBonded(node, amount, free);
        n.unbonding += uint128(amount);
        n.unlockAt = uint32(block.timestamp + params.unbondingDelay);
        emit UnbondRequested(node, amount, n.unlockAt);
    }

    /// @notice Sends the unbonded stake to the operator once the delay has passed.
    function withdrawStake(address node) external nonReentrant onlyOperator(node) {
        Node storage n = _nodes[node];
        uint256 amount = n.unbonding;
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        if (block.timestamp < n.unlockAt) revert UnbondingNotElapsed(node, n.unlockAt);
        n.unbonding = 0;
        n.staked -= uint128(amount);
        emit StakeWithdrawn(node, msg.sender, amount);
        TokenIO.push(stakeToken, msg.sender, amount);
    }

    /// @notice Lifts a jail once the node's active stake is back at the minimum.
    function unjail(address node) external onlyOperator(node) {
        Node storage n = _nodes[node];
        if (!n.jailed) revert NodeNotJailed(node);
        uint256 active = n.staked - n.unbonding;
        if (active < params.minStake) revert StakeBelowMinimum(active, params.minStake);
        n.jailed = false;
        emit NodeUnjailed(node);
    }

    /// @notice Pull payment of slashed stake credited to msg.sender.
    function withdrawCredits() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit CreditWithdrawn(msg.sender, amount);
        TokenIO.push(stakeToken, msg.sender, amount);
    }

    // ---------------------------------------------------------------- protocol contracts

    function assignNodes(
        bytes32 containerId,
        uint256 count,
        bytes32 seed,
        address[] calldata exclude,
        uint256 amount
    ) external returns (address[] memory nodes) {
        if (!isBonder[msg.sender]) revert NotBonder(msg.sender);
        nodes = _select(containerId, count, seed, exclude, address(0), amount);
        for (uint256 i = 0; i < nodes.length; ++i) _bond(nodes[i], amount);
    }

    function assignValidators(
        bytes32 containerId,
        uint256 count,
        bytes32 seed,
        address[] calldata exclude,
        address excludeOperator,
        uint256 amount
    ) external returns (address[] memory nodes) {
        if (!isBonder[msg.sender]) revert NotBonder(msg.sender);
        nodes = _select(containerId, count, seed, exclude, excludeOperator, amount);
        for (uint256 i = 0; i < nodes.length; ++i) _bond(nodes[i], amount);
    }

    function selectNodes(
        bytes32 containerId,
        uint256 count,
        bytes32 seed,
        address[] calldata exclude,
        uint256 amount
    ) external view returns (address[] memory) {
        return _select(containerId, count, seed, exclude, address(0), amount);
    }

    function bond(address node, uint256 amount) external {
        if (!isBonder[msg.sender]) revert NotBonder(msg.sender);
        _bond(node, amount);
    }

    function releaseBond(address node, uint256 amount) external {
        if (!isBonder[msg.sender]) revert NotBonder(msg.sender);
        Node storage n = _nodes[node];
        if (amount > n.bonded) revert BondExceedsBonded(node, amount, n.bonded);
        n.bonded -= uint128(amount);
        emit BondReleased(node, amount, n.bonded);
    }

    /// @notice Takes at most the job's bond, never other stake; jails the node when its active stake drops below
    /// the minimum.
    function slash(address node, uint256 bondAmount, SlashShare[] calldata shares) external {
        if (!isSlasher[msg.sender]) revert NotSlasher(msg.sender);
        Node storage n = _nodes[node];
        if (bondAmount > n.bonded) revert BondExceedsBonded(node, bondAmount, n.bonded);
        uint256 taken;
        uint256 burned;
        for (uint256 i = 0; i < shares.length; ++i) {
            taken += shares[i].amount;
            if (shares[i].to == address(0)) burned += shares[i].amount;
            else credits[shares[i].to] += shares[i].amount;
        }
        if (taken > bondAmount) revert SlashExceedsBond(taken, bondAmount);
        n.bonded -= uint128(bondAmount);
        n.staked -= uint128(taken);
        totalBurned += burned;
        emit Slashed(node, msg.sender, bondAmount, taken, burned);
        uint256 active = n.staked - n.unbonding;
        if (!n.jailed && active < params.minStake) {
            n.jailed = true;
            emit NodeJailed(node, active);
        }
        // Burned stake leaves the contract so balances keep matching internal accounting.
        if (burned != 0) TokenIO.push(stakeToken, address(0xdead), burned);
    }

    // ---------------------------------------------------------------- governance

    function setParams(Params calldata params_) external onlyOwner {
        _setParams(params_);
    }

    function setBonder(address account, bool allowed) external onlyOwner {
        isBonder[account] = allowed;
        emit BonderSet(account, allowed);
    }

    /// @notice Authorises a verification contract to slash. Its longest window must end before stake can leave.
    function setSlasher(address account, bool allowed, uint256 maxWindow) external onlyOwner {
        if (allowed && maxWindow >= params.unbondingDelay) {
            revert WindowNotBelowUnbondingDelay(maxWindow, params.unbondingDelay);
        }
        if (allowed && maxWindow > maxSlasherWindow) maxSlasherWindow = maxWindow;
        isSlasher[account] = allowed;
        emit SlasherSet(account, allowed, maxWindow);
    }

    function setTrustModel(ITrustModel model) external onlyOwner {
        trustModel = model;
        emit TrustModelSet(address(model));
    }

    // ---------------------------------------------------------------- views

    function getNode(
        address node
    ) external view returns (Node memory info, Hardware memory hardware, bytes32[] memory containers) {
        return (_nodes[node], _hardware[node], _containers[node]);
    }

    function operatorOf(address node) external view returns (address) {
        return _nodes[node].operator;
    }

    function freeStake(address node) external view returns (uint256) {
        return _free(_nodes[node]);
    }

    function nodesOf(bytes32 containerId) external view returns (address[] memory) {
        return _nodesOf[containerId];
    }

    /// @notice Whether selection could pick the node for a job of `containerId` that bonds `amount` right now (the
    /// same tests as `_select`, including a non-zero trust weight).
    function isEligible(address node, bytes32 containerId, uint256 amount) public view returns (bool) {
        if (_positionOf[containerId][node] == 0) return false;
        Node storage n = _nodes[node];
        if (n.jailed || n.staked - n.unbonding < params.minStake) return false;
        uint256 free = _free(n);
        if (free < amount || free == 0) return false;
        return address(trustModel) == address(0) || trustModel.trustBps(node) != 0;
    }

    // ---------------------------------------------------------------- internals

    function _setParams(Params memory p) private {
        if (p.unbondingDelay <= maxSlasherWindow || p.unbondingDelay == 0) {
            revert InvalidUnbondingDelay(p.unbondingDelay);
        }
        params = p;
        emit ParamsSet(p.minStake, p.unbondingDelay);
    }

    function _free(Node storage n) private view returns (uint256) {
        return n.staked - n.bonded - n.unbonding;
    }

    function _bond(address node, uint256 amount) private {
        Node storage n = _nodes[node];
        uint256 free = _free(n);
        if (amount > free) revert InsufficientFreeStake(node, amount, free);
        n.bonded += uint128(amount);
        emit Bonded(node, amount, n.bonded);
    }

    function _addContainers(address node, bytes32[] calldata containers) private {
        for (uint256 i = 0; i < containers.length; ++i) {
            bytes32 id = containers[i];
            if (!containerRegistry.isKnown(id)) revert IContainerRegistry.UnknownContainer(id);
            if (_positionOf[id][node] != 0) revert DuplicateContainer(id);
            address[] storage list = _nodesOf[id];
            if (list.length >= MAX_NODES_PER_CONTAINER) revert ContainerFull(id);
            list.push(node);
            _positionOf[id][node] = list.length;
            _containers[node].push(id);
        }
    }

    function _removeFrom(bytes32 id, address node) private {
        address[] storage list = _nodesOf[id];
        uint256 pos = _positionOf[id][node];
        address last = list[list.length - 1];
        list[pos - 1] = last;
        _positionOf[id][last] = pos;
        list.pop();
        delete _positionOf[id][node];
    }

    /// @dev Weighted choice without replacement: weight = free stake × trust. Deterministic in (state, seed) so a
    /// preview equals the assignment made in the same block.
    function _select(
        bytes32 containerId,
        uint256 count,
        bytes32 seed,
        address[] calldata exclude,
        address excludeOperator,
        uint256 amount
    ) private view returns (address[] memory picked) {
        address[] storage list = _nodesOf[containerId];
        uint256 n = list.length;
        uint256[] memory weights = new uint256[](n);
        uint256 total;
        uint256 eligible;
        uint128 minStake = params.minStake;
        ITrustModel model = trustModel;
        for (uint256 i = 0; i < n; ++i) {
            address candidate = list[i];
            if (_contains(exclude, candidate)) continue;
            Node storage node = _nodes[candidate];
            if (node.jailed || node.staked - node.unbonding < minStake) continue;
            if (excludeOperator != address(0) && node.operator == excludeOperator) continue;
            uint256 free = _free(node);
            if (free < amount || free == 0) continue;
            uint256 trust = address(model) == address(0) ? NEUTRAL_TRUST_BPS : model.trustBps(candidate);
            uint256 w = free * trust;
            if (w == 0) continue;
            weights[i] = w;
            total += w;
            ++eligible;
        }
        uint256 k = count < eligible ? count : eligible;
        picked = new address[](k);
        for (uint256 j = 0; j < k; ++j) {
            uint256 r = uint256(keccak256(abi.encode(seed, j))) % total;
            uint256 i;
            for (; i < n; ++i) {
                uint256 w = weights[i];
                if (r < w) break;
                r -= w;
            }
            picked[j] = list[i];
            total -= weights[i];
            weights[i] = 0;
        }
    }

    function _contains(address[] calldata items, address item) private pure returns (bool) {
        for (uint256 i = 0; i < items.length; ++i) if (items[i] == item) return true;
        return false;
    }
}
