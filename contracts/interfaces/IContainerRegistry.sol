// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title IContainerRegistry
/// @notice Known container ids and pipelines; subscriptions and node registrations may only name known ids.
interface IContainerRegistry {
    error EmptyContainerName();
    error ContainerAlreadyRegistered(bytes32 id);
    error UnknownContainer(bytes32 id);
    error PipelineTooShort(uint256 length);

    event ContainerRegistered(
        bytes32 indexed id,
        string name,
        address indexed publisher,
        bytes32 imageDigest
    );
    event PipelineRegistered(bytes32 indexed id, string joined, address indexed publisher);

    function isKnown(bytes32 id) external view returns (bool);
}
