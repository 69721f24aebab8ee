/**
 * Rewriters: proposals for better versions of a tool, from a language model or from the
 * deterministic hardening pass. They only propose; the caller validates and gates.
 */
export { type ChainRewritersOptions, chainRewriters } from './chain-rewriters.ts';
export { classifyError, type ErrorKind } from './classify-error.ts';
export { HardeningRewriter } from './hardening-rewriter.ts';
export {
  type HardeningRewriterOptions,
  type ResolvedHardeningRewriterOptions,
  resolveHardeningRewriterOptions,
} from './hardening-rewriter-options.ts';
export { LlmRewriter } from './llm-rewriter.ts';
export {
  type LlmRewriterOptions,
  type ResolvedLlmRewriterOptions,
  resolveLlmRewriterOptions,
} from './llm-rewriter-options.ts';
export {
  buildRewritePrompt,
  buildRewriteSystemPrompt,
  type RewritePrompt,
  untrustedClose,
  untrustedDataBlock,
  untrustedOpen,
} from './rewrite-prompt.ts';
export type {
  RejectedProposal,
  RewriteAuthor,
  RewriteDecline,
  RewriteDeclineCode,
  RewriteProposal,
  RewriteRequest,
  Rewriter,
  RewriteTool,
  VisibleCase,
} from './rewriter.ts';
export { type RewriterFailure, RewritersFailedError } from './rewriting-errors.ts';
