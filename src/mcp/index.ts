/**
 * MCP (the `self-improving-agent/mcp` subpath; needs the optional peer dependency
 * `@modelcontextprotocol/sdk`): serve an agent's managed tools to any MCP client
 * (`McpToolServer`, `sia mcp`), and measure the tools of any MCP server as host tools
 * (`measureMcpTools`).
 * @packageDocumentation
 */
export {
  isLoopbackHost,
  type McpHttpEndpoint,
  type McpHttpOptions,
  serveMcpHttp,
} from './mcp-http.ts';
export { McpToolError } from './mcp-tool-error.ts';
export { mcpErrorResult, mcpToolOf, mcpValueResult } from './mcp-tool-result.ts';
export {
  type McpServedAgent,
  type McpToolAvailability,
  McpToolServer,
  type McpToolServerOptions,
} from './mcp-tool-server.ts';
export {
  type McpServerSource,
  type MeasuredMcpTools,
  type MeasureMcpToolsOptions,
  measureMcpTools,
} from './measure-mcp-tools.ts';
