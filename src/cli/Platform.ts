/**
 * What the CLI needs from the platform: files, paths and the terminal (for @effect/cli and the
 * identity file). Narrower than `NodeContext.layer`, whose command executor and worker manager
 * the CLI never uses but every cold start would initialise.
 *
 * @since 2.0.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { Layer } from "effect"

/**
 * @since 2.0.0
 * @category layers
 */
export const layer = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)
