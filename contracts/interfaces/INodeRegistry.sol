// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title INodeRegistry
/// @notice Node stake, bonds and selection as the Coordinator and verification contracts see them.
interface INodeRegistry {
    /// @notice A share of slashed stake: `to == address(0)` burns it.
    struct SlashShare {
        address to;
        uint256 amount;
    }

    /// @notice Picks up to `count` distinct eligible nodes for `containerId` by stake- and trust-weighted choice
    /// from `seed`, skipping `exclude`, and bonds `bond` of each one's free stake. Coordinator only.
    function assignNodes(
        bytes32 containerId,
        uint256 count,
        bytes32 seed,
        address[] calldata exclude,
        uint256 bond
    ) external returns (address[] memory nodes);

    /// @notice Like `assignNodes`, also skipping every node of `excludeOperator`: validators and dispute committees
    /// are never drawn from the judged node's own operator. Authorised bonders only.
    function assignValidators(
        bytes32 containerId,
        uint256 count,
        bytes32 seed,
        address[] calldata exclude,
        address excludeOperator,
        uint256 bond
    ) external returns (address[] memory nodes);

    /// @notice Same choice as `assignNodes` without bonding; for previews.
    function selectNodes(
        bytes32 containerId,
        uint256 count,
        bytes32 seed,
        address[] calldata exclude,
        uint256 bond
    ) external view returns (address[] memory nodes);

    /// @notice Locks `amount` of a node's free stake for an open job. Authorised bonders only.
    function bond(address node, uint256 amount) external;

    /// @notice Returns a job bond to the node's free stake. Authorised bonders only.
    function releaseBond(address node, uint256 amount) external;

    /// @notice Releases a bond of `bondAmount` and takes the listed shares out of it. Authorised slashers only.
    function slash(address node, uint256 bondAmount, SlashShare[] calldata shares) external;

    function operatorOf(address node) external view returns (address);

    function stakeToken() external view returns (address);
}
